"""Readers of the RLS symptom diary and the vibration-pad log (CSV).

Diary CSV (header row required)::

    kind,start,end,severity,note
    lights_off,2026-03-14T22:41:00+01:00,,,
    rls_episode,2026-03-14T22:45:00+01:00,2026-03-14T23:10:00+01:00,6,legs restless at sleep onset
    sleep_onset,2026-03-14T23:20:00+01:00,,,
    final_awakening,2026-03-15T06:05:00+01:00,,,
    lights_on,2026-03-15T06:20:00+01:00,,,

``kind`` is ``rls_episode`` (start, end and severity 0-10 required), or one of the start-only
kinds ``lights_off``, ``lights_on``, ``sleep_onset`` and ``final_awakening``. The last two are the
morning answers of the Consensus Sleep Diary (Carney et al., Sleep 2012;35:287-302), "how long did
it take you to fall asleep" written as a clock time, and "what time was your final awakening";
both are optional. Times are ISO 8601 with a UTC offset. ``note`` is optional free text.

``intervention`` rows log any treatment; they need the extra column ``name`` (lower-case letters,
digits and ``_``, e.g. ``foot_wrap``) and may give ``dose`` (a number and a unit, ``0.25 mg``)::

    kind,start,end,severity,note,name,dose
    intervention,2026-03-14T22:30:00+01:00,2026-03-15T06:10:00+01:00,,wrap on/off,foot_wrap,
    intervention,2026-03-14T21:00:00+01:00,,,,ropinirole,0.25 mg
    intervention,2026-03-10,,,,iron_infusion,1000 mg

A start and end is a period (a wrap worn), a start alone a time (a dose taken), a date alone
(``YYYY-MM-DD``, no end) a treatment given that day (an infusion): it marks the night of that date.

Pad-log CSV::

    start,end,intensity
    2026-03-14T22:50:00+01:00,2026-03-14T23:25:00+01:00,5

``intensity`` is the device level (1-9 on the Relaxis controller).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re

import pandas as pd

from ..errors import FormatError
from ..model import DIARY_COLUMNS
from ._guard import csv_delimiter, decimal_number, guarded, read_text

__all__ = ["read_diary", "read_pad_log", "DIARY_KINDS", "DIARY_COLUMNS", "INTERVENTION_NAME", "to_seconds"]

DIARY_KINDS = ("rls_episode", "lights_off", "lights_on", "sleep_onset", "final_awakening", "intervention")
#: What an intervention (and condition) name may be: it becomes the cohort column ``condition_<name>``.
INTERVENTION_NAME = re.compile(r"[a-z][a-z0-9_]*")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DOSE = re.compile(r"\d+(?:\.\d+)?\s*[^\d\s].*")


def _intervention(path: str | os.PathLike[str], line: int, r: dict[str, str]) -> dict[str, object]:
    """The fields of one ``intervention`` row (start/end as datetimes, or a date alone)."""
    name = r.get("name", "").lower()
    if not name:
        raise FormatError(path, "an intervention needs a name (column 'name', e.g. foot_wrap)", line=line)
    if not INTERVENTION_NAME.fullmatch(name):
        raise FormatError(
            path, f"intervention name {r['name']!r} must be lower-case letters, digits and _ (e.g. foot_wrap)", line=line
        )
    dose = r.get("dose", "")
    if dose and not _DOSE.fullmatch(dose):
        raise FormatError(path, f"dose {dose!r} is not a number and a unit (e.g. 0.25 mg)", line=line)
    text = r["start"]
    if _DATE_ONLY.fullmatch(text):
        if r.get("end"):
            raise FormatError(path, f"an intervention on a date ({text}) takes no end time", line=line)
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise FormatError(path, f"start {text!r} is not a valid date", line=line) from None
        return {"start": None, "end": None, "date": day, "name": name, "dose": dose}
    start = _parse_time(path, line, "start", text)
    end = None
    if r.get("end"):
        end = _parse_time(path, line, "end", r["end"])
        if end <= start:
            raise FormatError(path, f"end {r['end']} is not after start {r['start']}", line=line)
    return {"start": start, "end": end, "date": None, "name": name, "dose": dose}


def _parse_time(path: str | os.PathLike[str], line: int, field: str, text: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise FormatError(path, f"{field} {text!r} is not an ISO 8601 date-time", line=line) from None
    if t.tzinfo is None:
        raise FormatError(path, f"{field} {text!r} has no UTC offset (write e.g. 2026-03-14T22:45:00+01:00)", line=line)
    return t


def _rows(path: str | os.PathLike[str], required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    # UTF-8 (with or without BOM) or UTF-16 with BOM, as Excel saves "Unicode text"
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text))
    try:
        if reader.fieldnames is None:
            raise FormatError(path, "empty file (a header row is required)", line=1)
        names = [f.strip() for f in reader.fieldnames]
        missing = [c for c in required if c not in names]
        if missing:
            raise FormatError(path, f"missing column(s) {', '.join(missing)}; found {', '.join(names)}", line=1)
        out = []
        for row in reader:
            clean = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
            if not any(clean.values()):
                continue
            out.append((reader.line_num, clean))
        return out
    except csv.Error as exc:
        raise FormatError(path, f"malformed CSV: {exc}", line=max(1, reader.line_num)) from None


@guarded("diary CSV")
def read_diary(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an RLS diary CSV (see module docs).

    Parameters
    ----------
    path : str or os.PathLike
        The diary CSV; times are ISO 8601 with a UTC offset, severity on a 0-10 scale.

    Returns
    -------
    DataFrame
        Columns kind, start, end (tz-aware Timestamps; end NaT for start-only rows), severity
        (float, NaN for start-only rows), note, and for interventions name, dose (text, "" when
        not given) and date (a ``datetime.date`` for a date-only row, whose start is NaT; else
        None); sorted by start (date-only rows last).
    """
    rows = []
    sleep_times: dict[str, list[tuple[int, dt.datetime]]] = {"sleep_onset": [], "final_awakening": []}
    for line, r in _rows(path, ("kind", "start")):
        kind = r.get("kind", "")
        if kind not in DIARY_KINDS:
            raise FormatError(path, f"kind {kind!r} is not one of {', '.join(DIARY_KINDS)}", line=line)
        if kind == "intervention":
            iv = _intervention(path, line, r)
            rows.append(
                {
                    "kind": kind,
                    "start": pd.Timestamp(iv["start"]) if iv["start"] else pd.NaT,
                    "end": pd.Timestamp(iv["end"]) if iv["end"] else pd.NaT,
                    "severity": float("nan"),
                    "note": r.get("note", ""),
                    "name": iv["name"],
                    "dose": iv["dose"],
                    "date": iv["date"],
                }
            )
            continue
        start = _parse_time(path, line, "start", r["start"])
        end = None
        sev = float("nan")
        if kind == "rls_episode":
            if not r.get("end"):
                raise FormatError(path, "an rls_episode needs an end time", line=line)
            end = _parse_time(path, line, "end", r["end"])
            if end <= start:
                raise FormatError(path, f"end {r['end']} is not after start {r['start']}", line=line)
            try:
                sev = float(decimal_number(r.get("severity", "")))
            except ValueError:
                raise FormatError(path, f"severity {r.get('severity')!r} is not a number 0-10", line=line) from None
            if not 0 <= sev <= 10:
                raise FormatError(path, f"severity {sev:g} is outside 0-10", line=line)
        if kind in sleep_times:
            sleep_times[kind].append((line, start))
        rows.append(
            {
                "kind": kind,
                "start": pd.Timestamp(start),
                "end": pd.Timestamp(end) if end else pd.NaT,
                "severity": sev,
                "note": r.get("note", ""),
                "name": "",
                "dose": "",
                "date": None,
            }
        )
    onsets, wakes = sleep_times["sleep_onset"], sleep_times["final_awakening"]
    if len(onsets) == 1 and len(wakes) == 1 and wakes[0][1] <= onsets[0][1]:
        # one night's diary: checked here so the error names the file (several nights are
        # checked night by night when processed)
        raise FormatError(
            path, f"final_awakening is not after the sleep_onset of line {onsets[0][0]}", line=wakes[0][0]
        )
    df = pd.DataFrame(rows, columns=list(DIARY_COLUMNS))
    if len(df):
        df = df.sort_values("start", kind="stable", na_position="last").reset_index(drop=True)
    return df


@guarded("pad-log CSV")
def read_pad_log(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a vibration-pad log CSV (see module docs).

    Parameters
    ----------
    path : str or os.PathLike
        The pad-log CSV; times are ISO 8601 with a UTC offset.

    Returns
    -------
    DataFrame
        Columns start, end (tz-aware Timestamps), intensity (the device level, unitless; NaN
        when not given); sorted by start.
    """
    rows = []
    for line, r in _rows(path, ("start", "end")):
        start = _parse_time(path, line, "start", r["start"])
        end = _parse_time(path, line, "end", r["end"])
        if end <= start:
            raise FormatError(path, f"end {r['end']} is not after start {r['start']}", line=line)
        inten = r.get("intensity", "")
        try:
            level = float(decimal_number(inten)) if inten else float("nan")
        except ValueError:
            raise FormatError(path, f"intensity {inten!r} is not a number", line=line) from None
        rows.append({"start": pd.Timestamp(start), "end": pd.Timestamp(end), "intensity": level})
    df = pd.DataFrame(rows, columns=["start", "end", "intensity"])
    if len(df):
        df = df.sort_values("start", kind="stable").reset_index(drop=True)
    return df


def to_seconds(times: pd.Series, start: dt.datetime) -> pd.Series:
    """Timestamps as seconds since ``start`` (NaN for NaT)."""
    ref = pd.Timestamp(start)
    return (pd.to_datetime(times, utc=True) - ref.tz_convert("UTC")).dt.total_seconds()
