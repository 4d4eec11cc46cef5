"""Read a hypnogram given with a night (PSG scoring), aligned to the recording's start.

Accepted:

* CSV with ``onset_s,duration_s,stage`` (seconds since the recording start, as written by the
  simulator and by ``lmdetect process`` in epochs.csv);
* CSV with ``start,stage`` (ISO 8601 with offset; ``duration_s`` optional, default 30);
* any scored-event file that :mod:`lmdetect.io.annotations` reads (EDF+, NSRR XML, RemLogic),
  using its sleep-stage events.

Stage labels are normalised to W, N1, N2, N3, R (R&K stages 3 and 4 both become N3, following
AASM 2007).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from pathlib import Path

import pandas as pd

from ..errors import FormatError
from ._guard import csv_delimiter, decimal_number, guarded, read_text

__all__ = ["read_hypnogram", "normalise_stage"]

_STAGE_MAP = {
    "w": "W", "wake": "W", "0": "W", "s0": "W", "sleep stage w": "W", "sleep-s0": "W",
    "n1": "N1", "1": "N1", "s1": "N1", "sleep stage 1": "N1", "sleep stage n1": "N1", "sleep-s1": "N1",
    "n2": "N2", "2": "N2", "s2": "N2", "sleep stage 2": "N2", "sleep stage n2": "N2", "sleep-s2": "N2",
    "n3": "N3", "3": "N3", "4": "N3", "s3": "N3", "s4": "N3", "sleep stage 3": "N3", "sleep stage 4": "N3",
    "sleep stage n3": "N3", "sleep-s3": "N3", "sleep-s4": "N3",
    "r": "R", "rem": "R", "5": "R", "sleep stage r": "R", "sleep-rem": "R",
    "s": "S", "sleep": "S",
}


def normalise_stage(label: str) -> str | None:
    """W/N1/N2/N3/R/S for a known stage label, else None."""
    return _STAGE_MAP.get(re.sub(r"\s+", " ", str(label).strip().lower()))


def _from_csv(path: Path, start: dt.datetime) -> pd.DataFrame:
    text = read_text(path)  # UTF-8 (BOM or not) or UTF-16 with BOM
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=csv_delimiter(text))
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise FormatError(path, f"not a readable CSV: {exc}") from None
    cols = [c.strip() for c in df.columns]
    df.columns = cols
    if "stage" not in cols:
        raise FormatError(path, f"no 'stage' column (found {', '.join(cols)})", line=1)
    stages = []
    for i, lab in enumerate(df["stage"], start=2):
        st = normalise_stage(lab)
        if st is None:
            raise FormatError(path, f"unknown sleep stage {lab!r}", line=i)
        stages.append(st)
    if "onset_s" in cols:
        try:
            onset = pd.to_numeric(df["onset_s"].map(decimal_number)).to_numpy(float)
        except ValueError as exc:
            raise FormatError(path, f"onset_s must be numbers: {exc}") from None
    elif "start" in cols:
        ts = []
        for i, text in enumerate(df["start"], start=2):
            try:
                t = dt.datetime.fromisoformat(text.strip())
            except ValueError:
                raise FormatError(path, f"start {text!r} is not ISO 8601", line=i) from None
            if t.tzinfo is None:
                raise FormatError(path, f"start {text!r} has no UTC offset", line=i)
            ts.append((t - start).total_seconds())
        onset = pd.Series(ts, dtype=float).to_numpy()
    else:
        raise FormatError(path, "needs an onset_s or a start column", line=1)
    if "duration_s" in cols:
        try:
            dur = pd.to_numeric(df["duration_s"].map(decimal_number)).to_numpy(float)
        except ValueError as exc:
            raise FormatError(path, f"duration_s must be numbers: {exc}") from None
    else:
        dur = 30.0
    return pd.DataFrame({"onset_s": onset, "duration_s": dur, "stage": pd.Series(stages, dtype=object)})


@guarded("hypnogram")
def read_hypnogram(path: str | os.PathLike[str], start: dt.datetime) -> pd.DataFrame:
    """Read a hypnogram (see module docs) aligned to the recording's start.

    Parameters
    ----------
    path : str or os.PathLike
        A hypnogram CSV or a scored-event file with sleep-stage events.
    start : datetime
        The recording's start (tz-aware); onsets are counted from it, and a PSG file's local
        clock time without an offset takes its offset.

    Returns
    -------
    DataFrame
        Columns onset_s (s since ``start``), duration_s (s), stage (W, N1, N2, N3 or R).
    """
    p = Path(path)
    if not p.exists():
        raise FormatError(p, "file not found")
    if p.suffix.lower() in (".csv", ".tsv") and not _looks_like_remlogic(p):
        return _from_csv(p, start)
    from .annotations import read_scored_events

    ann = read_scored_events(p)
    hyp = ann.hypnogram
    if hyp is None or len(hyp) == 0:
        raise FormatError(p, "contains no sleep-stage events")
    hyp = hyp.copy()
    if ann.start is not None:
        t0 = ann.start
        if t0.tzinfo is None:  # PSG files usually store local clock time: take the recording's offset
            t0 = t0.replace(tzinfo=start.tzinfo)
        hyp["onset_s"] = hyp["onset_s"] + (t0 - start).total_seconds()
    return hyp[["onset_s", "duration_s", "stage"]].reset_index(drop=True)


def _looks_like_remlogic(p: Path) -> bool:
    with open(p, "rb") as fh:
        head = fh.read(4096).decode("utf-8", "replace")
    return "Time [hh:mm:ss]" in head
