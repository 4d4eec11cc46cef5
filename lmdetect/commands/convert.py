"""``lmdetect convert IN OUT``: read a recording in any supported format, write it in another.

The formats are chosen by extension (``lmdetect convert --formats`` lists them), e.g. an Axivity
``.cwa``, GENEActiv ``.bin``, ActiGraph ``.gt3x``, EDF/BDF or BIDS ``_motion.tsv`` to ``.lmr``,
and ``.lmr`` to EDF+ or BIDS-motion. The output records the package version and the input's
SHA-256 in its metadata, is written atomically, and an existing file is only replaced with
``--force``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path
from typing import Any

from .._files import sha256_file

NAME = "convert"
HELP = "convert a recording between formats (CWA, GENEActiv, gt3x, EDF/BDF, BIDS-motion, .lmr, CSV)"

__all__ = ["NAME", "HELP", "add_arguments", "run", "read_input", "with_provenance"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ._outputs import add_force

    p.add_argument("input", nargs="?", help="recording to read")
    p.add_argument("output", nargs="?", help="file to write; its extension picks the format")
    p.add_argument(
        "--tz",
        metavar="ZONE",
        help="IANA time zone (e.g. Europe/Berlin) in which the device clock was set; also the zone "
        "the start is expressed in. Device files without an offset are read as UTC otherwise, with a warning",
    )
    p.add_argument("--start", help="start time (ISO 8601 with offset) for a CSV or BIDS file without one")
    add_force(p, folder=False)
    p.add_argument("--formats", action="store_true", help="list the readable and writable formats and exit")


def read_input(path: str | os.PathLike[str], *, tz: str | None = None, start: str | None = None) -> Any:
    """Read ``path`` with :func:`lmdetect.io.read_recording`; the start is put in ``tz``."""
    from ..io import read_recording

    return read_recording(path, tz=tz, start=start)


def with_provenance(rec: Any, source: str | os.PathLike[str]) -> Any:
    """``rec`` with ``source_file``, ``source_sha256`` and ``lmdetect_version`` in its meta."""
    from .. import __version__

    path = Path(source)
    meta = dict(rec.meta)
    meta.update(
        {
            "source_file": path.name,
            "source_sha256": sha256_file(path),
            "lmdetect_version": __version__,
        }
    )
    return dataclasses.replace(rec, meta=meta)


def _print_formats() -> None:
    from ..io import supported_read_extensions, supported_write_extensions, unavailable_formats

    read, write = supported_read_extensions(), supported_write_extensions()
    print(f"{'extension':<14}{'format':<22}read  write")
    for ext in sorted(set(read) | set(write)):
        name = read.get(ext) or write.get(ext, "")
        print(f"{ext:<14}{name:<22}{'yes' if ext in read else '-':<6}{'yes' if ext in write else '-'}")
    for reason in unavailable_formats().values():
        print(f"not available: {reason}")


def run(args: argparse.Namespace) -> int:
    from ..errors import LmdetectError
    from ..io import format_for_path, write_recording
    from ._outputs import check_output_file

    if args.formats:
        _print_formats()
        return 0
    if not args.input or not args.output:
        raise LmdetectError("give an input and an output file (or --formats)")
    src, dst = Path(args.input), Path(args.output)
    out_fmt = format_for_path(dst, write=True)  # an unknown extension fails before any reading
    check_output_file(dst, args.force)
    if src.exists() and dst.exists() and src.resolve() == dst.resolve():
        raise LmdetectError("input and output are the same file")
    rec = read_input(src, tz=args.tz, start=args.start)
    rec = with_provenance(rec, src)
    write_recording(rec, dst)
    g = rec.gaps()
    print(
        f"{dst}: {out_fmt}, {rec.n_samples} samples at {rec.fs:g} Hz, start {rec.start.isoformat()}, "
        f"{rec.duration_s / 3600:.2f} h, {len(g)} gap(s) totalling {float(g['duration_s'].sum()):.1f} s"
    )
    return 0
