"""The ``lmdetect`` command line: the one place that configures logging and progress display.

Subcommands live in ``lmdetect/commands/<name>.py``; each module defines ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. They are discovered here, so adding a command
means adding one module.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from . import __version__
from .errors import LmdetectError

__all__ = ["main", "build_parser"]


def _command_modules() -> list[ModuleType]:
    from . import commands

    mods = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mods.append(importlib.import_module(f"{commands.__name__}.{info.name}"))
    return mods


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="lmdetect",
        description="Periodic limb movements during sleep from an ankle accelerometer.",
    )
    parser.add_argument("--version", action="version", version=f"lmdetect {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    table: dict[str, ModuleType] = {}
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
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
    parser, table = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    _configure_logging(args.verbose)
    try:
        return int(table[args.command].run(args) or 0)
    except LmdetectError as exc:
        print(f"lmdetect {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lmdetect {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
