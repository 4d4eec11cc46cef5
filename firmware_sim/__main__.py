"""``python -m firmware_sim``: ``simulate`` a night to files, or ``serve`` it as the BLE reference firmware."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from lmdetect.errors import LmdetectError

__all__ = ["main", "build_parser"]


def _serve_module() -> object | None:
    try:
        return importlib.import_module("firmware_sim.serve")
    except ModuleNotFoundError as exc:
        if exc.name != "firmware_sim.serve":
            raise
        return None


def build_parser(*, load_serve: bool = True) -> argparse.ArgumentParser:
    """The argument parser; ``serve`` is imported only when ``load_serve`` (it may pull in BLE code)."""
    from lmdetect.commands import simulate as _simulate

    parser = argparse.ArgumentParser(prog="python -m firmware_sim", description="Simulated ankle sensor: nights with ground truth, BLE firmware.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("simulate", help=_simulate.HELP, description=_simulate.HELP)
    _simulate.add_arguments(p)
    p.set_defaults(_run=_simulate.run)
    serve = _serve_module() if load_serve else None
    if serve is not None:
        p = sub.add_parser("serve", help="stream simulated nights as the BLE reference firmware")
        serve.add_arguments(p)  # type: ignore[attr-defined]
        p.set_defaults(_run=serve.run)  # type: ignore[attr-defined]
    else:
        p = sub.add_parser("serve", help="stream simulated nights as the BLE reference firmware")
        p.set_defaults(_run=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    words = [a for a in argv if not a.startswith("-")]
    parser = build_parser(load_serve=bool(words) and words[0] == "serve")
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args._run is None:
        print(f"python -m firmware_sim {args.command}: not available (firmware_sim.serve is not installed)", file=sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except LmdetectError as exc:
        print(f"python -m firmware_sim {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
