"""``lmdetect info FILE``: what a recording holds (times, rates, gaps, device, crash status)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

NAME = "info"
HELP = "show start, duration, sampling rate, gaps, device and tail status of a recording"

__all__ = ["NAME", "HELP", "add_arguments", "run", "recording_info", "format_info"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="recording (.lmr, .csv or any supported format)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--start", help="start time (ISO 8601 with offset) for a CSV with a relative 't' column")
    p.add_argument(
        "--tz",
        metavar="ZONE",
        help="IANA time zone (e.g. Europe/Berlin) or offset (+01:00) the device clock was set in; CWA, "
        "GENEActiv, gt3x and EDF files keep local time without an offset and are read as UTC otherwise",
    )


def run(args: argparse.Namespace) -> int:
    from ..errors import LmdetectError
    from ..io import format_for_path, read_recording

    fmt = format_for_path(args.file)
    options: dict[str, Any] = {}
    if args.start:
        if fmt != "CSV":
            raise LmdetectError("--start applies only to CSV files with a relative 't' column")
        options["start"] = args.start
    if args.tz:
        options["tz"] = args.tz
    rec = read_recording(args.file, **options)
    info = recording_info(rec, file=args.file, fmt=fmt)
    print(json.dumps(info, indent=2) if args.json else format_info(info))
    return 0


def recording_info(rec: Any, *, file: str | None = None, fmt: str | None = None) -> dict[str, Any]:
    """Everything ``lmdetect info`` reports, as a JSON-ready dict.

    Keys: those of :meth:`lmdetect.model.Recording.describe` plus ``file``, ``format``,
    ``gap_largest_s`` and ``gap_largest_onset_s`` (seconds since start; null without gaps),
    ``sensor``, ``firmware``, and for ``.lmr`` files ``closed``, ``truncated``,
    ``dropped_bytes`` and ``duplicates_dropped`` (null for other formats).
    """
    info: dict[str, Any] = {"file": None if file is None else Path(file).name, "format": fmt}
    info.update(rec.describe())
    gaps = rec.gaps()
    if len(gaps):
        i = int(gaps["duration_s"].to_numpy().argmax())
        info["gap_largest_s"] = round(float(gaps["duration_s"].iloc[i]), 3)
        info["gap_largest_onset_s"] = round(float(gaps["onset_s"].iloc[i]), 3)
    else:
        info["gap_largest_s"] = None
        info["gap_largest_onset_s"] = None
    meta = rec.meta
    info["sensor"] = meta.get("sensor") or None
    info["firmware"] = meta.get("firmware") or None
    is_lmr = "lmr.closed" in meta
    info["closed"] = meta["lmr.closed"] == "true" if is_lmr else None
    info["truncated"] = meta["lmr.truncated"] == "true" if is_lmr else None
    info["dropped_bytes"] = int(meta["lmr.dropped_bytes"]) if is_lmr else None
    dupes = meta.get("lmr.duplicates_dropped")
    info["duplicates_dropped"] = None if dupes is None else int(dupes)
    return info


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "n/a"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{int(h)} h {int(m):02d} min {s:05.2f} s"


def _clock(start_iso: str, offset_s: float) -> str:
    t = dt.datetime.fromisoformat(start_iso) + dt.timedelta(seconds=offset_s)
    return t.strftime("%H:%M:%S")


def format_info(info: dict[str, Any]) -> str:
    """The text form of :func:`recording_info`."""
    lines: list[tuple[str, str]] = []
    fmt = f" ({info['format']})" if info.get("format") else ""
    lines.append(("file", f"{info.get('file') or '-'}{fmt}"))
    lines.append(("start", info["start"]))
    lines.append(("end", info["end"]))
    lines.append(("duration", f"{_duration(info['duration_s'])} ({info['duration_s']:.3f} s)"))
    rate = f"{info['fs_nominal_hz']:g} Hz nominal, {info['fs_effective_hz']:.4f} Hz effective"
    lines.append(("rate", rate))
    lines.append(("samples", f"{info['n_samples']:,}"))
    if info["n_gaps"]:
        largest = (
            f", largest {info['gap_largest_s']:.3f} s at {_clock(info['start'], info['gap_largest_onset_s'])}"
        )
        lines.append(("gaps", f"{info['n_gaps']}, {info['gap_total_s']:.3f} s in total{largest}"))
    else:
        lines.append(("gaps", "none"))
    device = info["device_id"]
    extra = [f"{key} {info[key]}" for key in ("sensor", "firmware") if info.get(key)]
    lines.append(("device", device + (f" ({', '.join(extra)})" if extra else "")))
    lines.append(("side", info["side"]))
    lines.append(("range", "unknown" if info["range_g"] is None else f"+-{info['range_g']:g} g"))
    lines.append(("backfilled", f"{info['n_backfilled']:,} samples"))
    if info.get("truncated") is None:
        tail = "n/a (not a .lmr recording)"
    elif info["truncated"]:
        tail = "TRUNCATED: no end-of-stream marker (the writer died or is still recording)"
        if info.get("dropped_bytes"):
            tail += f"; {info['dropped_bytes']} bytes of an incomplete batch dropped"
    else:
        tail = "closed cleanly"
    lines.append(("tail", tail))
    if info.get("duplicates_dropped"):
        dupes = f"{info['duplicates_dropped']:,} samples received twice, first copy kept"
        lines.append(("duplicates", dupes))
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in lines)
