"""The ``lmdetect`` command line: the one place that configures logging and progress display.

Subcommands live in ``lmdetect/commands/<name>.py``; each module defines ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. They are discovered here, so adding a command
means adding one module.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Collection, Sequence
from types import ModuleType

from . import __version__
from .errors import LmdetectError

__all__ = ["main", "build_parser"]

_EPILOG = """\
Outputs: a command never replaces an existing file or non-empty folder unless given --force
(`batch` resumes its own output folder instead; `collect` continues an existing recording).
Run `lmdetect COMMAND --help` for a command's options.
"""


@functools.lru_cache(maxsize=1)
def _command_modules() -> tuple[ModuleType, ...]:
    from . import commands

    mods = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mods.append(importlib.import_module(f"{commands.__name__}.{info.name}"))
    return tuple(mods)


def _chosen_command(argv: Sequence[str], names: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option), if any."""
    for word in argv:
        if word == "--":
            break
        if not word.startswith("-"):
            return word if word in names else None
    return None


def build_parser(
    commands: Collection[str] | None = None,
) -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    """The ``lmdetect`` parser and the command modules by name.

    Parameters
    ----------
    commands
        The subcommands whose options are added (:func:`main` passes the one being run, or none);
        the others are listed with their help line only. None: all of them. Options are added
        only where needed because some list registries (rule sets, formats) that import numpy
        and pandas, which ``lmdetect --help`` and ``--version`` must not wait for.
    """
    parser = argparse.ArgumentParser(
        prog="lmdetect",
        description="Periodic limb movements during sleep from an ankle accelerometer.",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"lmdetect {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    table: dict[str, ModuleType] = {}
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        if commands is None or mod.NAME in commands:
            mod.add_arguments(p)
            # -v is also taken after the command; counted on top of the one before it
            p.add_argument("-v", "--verbose", action="count", dest="command_verbose", default=argparse.SUPPRESS,
                           help="more log output (-vv for debug)")
        table[mod.NAME] = mod
    return parser, table


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING
    if verbose == 1 or os.environ.get("LMDETECT_LOG", "").lower() == "info":
        level = logging.INFO
    if verbose >= 2 or os.environ.get("LMDETECT_LOG", "").lower() == "debug":
        level = logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    names = [m.NAME for m in _command_modules()]
    chosen = _chosen_command(words, names)
    parser, table = build_parser([chosen] if chosen else [])
    args = parser.parse_args(words)
    if not args.command:
        parser.print_help()
        return 2
    _configure_logging(args.verbose + getattr(args, "command_verbose", 0))
    try:
        code = int(table[args.command].run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        return _broken_pipe()
    except LmdetectError as exc:
        print(f"lmdetect {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the environment: a full disk, a read-only folder, a folder as a file, ...
        print(f"lmdetect {args.command}: error: {_describe_os_error(exc, getattr(args, 'out', None) or getattr(args, 'output', None))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lmdetect {args.command}: interrupted", file=sys.stderr)
        return 130


def _describe_os_error(exc: OSError, out: object = None) -> str:
    """``path: problem`` in one line (``No space left on device``, ``Permission denied``, ...)."""
    problem = exc.strerror or str(exc) or type(exc).__name__
    names = [os.fsdecode(n) for n in (exc.filename, exc.filename2) if n is not None]
    if not names and out is not None and exc.errno in _WRITE_ERRNOS:
        names = [str(out)]  # a write through an open file names no path: the output does
    return f"{' -> '.join(names)}: {problem}" if names else problem


_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO})


def _broken_pipe() -> int:
    """The reader of our output went away (``lmdetect info x | head``): stop quietly, as Unix
    tools do when SIGPIPE ends them, and keep Python from complaining when it flushes stdout at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 128 + 13  # the shell's status of a process ended by SIGPIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
