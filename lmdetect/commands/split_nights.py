"""``lmdetect split-nights IN OUTDIR``: one file per night of a multi-day recording.

Nights run from local noon to noon (``--method noon``, the default) or from each diary
lights-off to lights-on with a margin (``--method diary --diary FILE``), see
:mod:`lmdetect.preprocessing.nights`. Files are named ``night-YYYY-MM-DD<ext>`` after the
evening's date (``.lmr`` unless ``--format`` says otherwise), written atomically, and ready for
``lmdetect batch``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "split-nights"
HELP = "split a multi-day recording into one file per night (noon to noon, or by a sleep diary)"

__all__ = ["NAME", "HELP", "add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="recording in any readable format")
    p.add_argument("outdir", help="folder for the night files")
    p.add_argument(
        "--tz", metavar="ZONE", help="IANA time zone of the participant (local noon, device clock)"
    )
    p.add_argument("--start", help="start time (ISO 8601 with offset) for a CSV or BIDS file without one")
    p.add_argument("--method", choices=("noon", "diary"), default="noon", help="how to cut (default: noon)")
    p.add_argument("--diary", help="diary CSV with lights_off / lights_on rows (for --method diary)")
    p.add_argument(
        "--margin-min",
        type=float,
        default=30.0,
        help="minutes added before lights-off and after lights-on (default 30)",
    )
    p.add_argument(
        "--min-hours", type=float, default=1.0, help="drop nights with fewer hours of data (default 1)"
    )
    p.add_argument("--format", default=".lmr", help="extension of the night files (default .lmr)")
    p.add_argument("-f", "--force", action="store_true",
                   help="replace night files that exist already (refused without it; other files are left alone)")


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError, LmdetectError
    from ..io import format_for_path, write_recording
    from ..preprocessing.nights import split_nights
    from .convert import read_input, with_provenance

    ext = args.format if args.format.startswith((".", "_")) else f".{args.format}"
    format_for_path(f"night{ext}", write=True)
    diary = None
    if args.method == "diary":
        if not args.diary:
            raise ConfigError("--method diary needs --diary FILE")
        from ..io.diary import read_diary

        diary = read_diary(args.diary)
    elif args.diary:
        raise ConfigError("--diary is used only with --method diary")
    if args.margin_min < 0 or args.min_hours < 0:
        raise ConfigError("--margin-min and --min-hours must not be negative")

    rec = with_provenance(read_input(args.input, tz=args.tz, start=args.start), args.input)
    nights = split_nights(
        rec,
        method=args.method,
        diary=diary,
        tz=args.tz,
        margin_s=args.margin_min * 60.0,
        min_duration_s=args.min_hours * 3600.0,
    )
    if not nights:
        raise LmdetectError(f"{args.input}: no night with at least {args.min_hours:g} h of data")
    outdir = Path(args.outdir)
    targets = [outdir / f"night-{n.meta['night']}{ext}" for n in nights]
    existing = [t for t in targets if t.exists()]
    if existing and not args.force:
        raise LmdetectError(f"{existing[0]} exists; use --force to replace night files")
    outdir.mkdir(parents=True, exist_ok=True)
    for night, target in zip(nights, targets, strict=True):
        write_recording(night, target)
        g = night.gaps()
        print(
            f"{target}: {night.start.isoformat()} to {night.end.isoformat()}, "
            f"{night.n_samples / night.fs / 3600:.2f} h of data, {len(g)} gap(s)"
        )
    return 0
