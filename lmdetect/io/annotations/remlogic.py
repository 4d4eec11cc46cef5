"""Reader of Natus RemLogic "Event Export" text files.

Layout (as exported by RemLogic and read by PLMScoRe, Fulda 2020, ``R/utilities_RL_input.R``):
a few free-form header lines (patient, recording date, "Events Included:" and the list of event
names), then a tab-separated table whose header row names the columns::

    Sleep Stage <TAB> Position <TAB> Time [hh:mm:ss] <TAB> Event <TAB> Duration[s] <TAB> Location

Only ``Time [hh:mm:ss]``, ``Event`` and ``Duration[s]`` (also written ``Duration [s]``) are
required; ``Location`` (e.g. ``LAntib1-LAntib2``, ``EMG.Tibialis-Leg.Left``) gives the leg of
``PLM-LM`` events (``_labels.side_from_text``; a location naming no leg is reported in
``ScoredEvents.warnings``).
The time is an ISO 8601 date-time (``2024-03-14T22:31:05.500000``, the export's standard) or a
clock time ``hh:mm:ss`` / ``hh.mm.ss`` (then the date is unknown and a time earlier than the
previous row by more than 12 h is taken to be on the next day). ``onset_s = 0`` is the earliest
time in the table.

Event names used: ``PLM-LM`` (and the shared vocabulary of ``_labels``), ``SLEEP-S0`` ...
``SLEEP-S4``, ``SLEEP-REM``, ``APNEA*``, ``HYPOPNEA*``, ``RERA``, ``AROUSAL*`` (arousals, named
by their cause: ``AROUSAL-APNEA`` is an arousal, not an apnea; ``AROUSAL-RERA`` is also the end
of a RERA), ``LIGHTS-OFF``/``LIGHTS-ON``.
A bare ``PLM`` event is ignored: in RemLogic exports it may mark a whole PLM series rather than
one movement (PLMScoRe warns about this).
"""

from __future__ import annotations

import datetime as dt
import os
import re

from ...errors import FormatError
from .._guard import guarded
from ._base import EventCollector, ScoredEvents
from ._labels import classify

__all__ = ["read_remlogic", "looks_like_remlogic", "decode_text"]

_CLOCK = re.compile(r"^(\d{1,2})[:.](\d{2})[:.](\d{2}(?:[.,]\d+)?)$")
_HALF_DAY_S = 12 * 3600.0


def decode_text(data: bytes) -> str:
    """Text of an export: UTF-16 when it has a UTF-16 byte-order mark, else UTF-8 (with or
    without BOM), else Windows-1252 (older Windows exports)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _key(cell: str) -> str:
    return re.sub(r"\s+", "", cell).lower()


def _find_header(lines: list[str]) -> tuple[int, dict[str, int]] | None:
    for i, line in enumerate(lines):
        if "\t" not in line:
            continue
        cells = [_key(c) for c in line.split("\t")]
        cols: dict[str, int] = {}
        for j, c in enumerate(cells):
            if c.startswith("time[") or c == "time":
                cols.setdefault("time", j)
            elif c == "event":
                cols.setdefault("event", j)
            elif c.startswith("duration"):
                cols.setdefault("duration", j)
            elif c == "location":
                cols.setdefault("location", j)
        if {"time", "event", "duration"} <= cols.keys():
            return i, cols
    return None


def looks_like_remlogic(head: str) -> bool:
    """True when the start of a text file has a RemLogic event-table header row."""
    return _find_header(head.splitlines()) is not None


@guarded("RemLogic export")
def read_remlogic(path: str | os.PathLike[str]) -> ScoredEvents:
    """Read a RemLogic event export.

    Raises
    ------
    FormatError
        No event-table header, a row with too few fields, an unreadable time or duration.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            text = decode_text(fh.read())
    except OSError as exc:
        raise FormatError(path, f"cannot read: {exc.strerror or exc}") from exc
    lines = text.splitlines()
    found = _find_header(lines)
    if found is None:
        raise FormatError(
            path,
            "no RemLogic event table: expected a tab-separated header row with the columns "
            "'Time [hh:mm:ss]', 'Event' and 'Duration[s]'",
        )
    header_idx, cols = found
    need = max(cols["time"], cols["event"], cols["duration"]) + 1

    rows: list[tuple[int, str, float, str]] = []  # line, event, duration, location
    iso_times: list[dt.datetime] = []
    clock_times: list[float] = []  # seconds since midnight of the first day
    prev_clock: float | None = None
    day = 0
    for i in range(header_idx + 1, len(lines)):
        line_no = i + 1
        raw = lines[i]
        if not raw.strip():
            continue
        cells = raw.split("\t")
        if len(cells) < need:
            raise FormatError(
                path, f"expected at least {need} tab-separated fields, found {len(cells)}", line=line_no
            )
        t_text = cells[cols["time"]].strip()
        event = cells[cols["event"]].strip()
        location = (
            cells[cols["location"]].strip() if "location" in cols and cols["location"] < len(cells) else ""
        )
        m = _CLOCK.match(t_text)
        if m:
            hh, mm, ss = int(m.group(1)), int(m.group(2)), float(m.group(3).replace(",", "."))
            if hh > 23 or mm > 59 or ss >= 60:
                raise FormatError(path, f"invalid clock time {t_text!r}", line=line_no)
            secs = hh * 3600 + mm * 60 + ss
            if prev_clock is not None and secs < prev_clock - _HALF_DAY_S:
                day += 1  # past midnight
            prev_clock = secs
            clock_times.append(day * 86400.0 + secs)
        else:
            try:
                iso_times.append(dt.datetime.fromisoformat(t_text))
            except ValueError:
                raise FormatError(
                    path,
                    f"unreadable time {t_text!r} (expected ISO 8601 date-time or hh:mm:ss)",
                    line=line_no,
                ) from None
        if iso_times and clock_times:
            raise FormatError(path, "the time column mixes date-times and clock times", line=line_no)
        d_text = cells[cols["duration"]].strip().replace(",", ".")
        try:
            duration = float(d_text) if d_text else float("nan")
        except ValueError:
            raise FormatError(path, f"unreadable duration {d_text!r}", line=line_no) from None
        rows.append((line_no, event, duration, location))

    # time zero: the earliest time in the table
    start: dt.datetime | None = None
    times: list[float] = []
    if iso_times:
        try:
            start = min(iso_times)
            times = [(d - start).total_seconds() for d in iso_times]
        except TypeError:
            raise FormatError(path, "the time column mixes times with and without a time zone") from None
    elif clock_times:
        t0 = min(clock_times)
        times = [t - t0 for t in clock_times]

    col = EventCollector(path, "remlogic")
    for (line_no, event, duration, location), onset in zip(rows, times, strict=True):
        label = None if event.strip().upper() == "PLM" else classify(event, location)
        if duration != duration:  # NaN: empty duration field
            if label is not None and label.category in ("lm", "stage", "respiratory"):
                raise FormatError(path, f"event {event!r} has no duration", line=line_no)
            duration = 0.0
        col.add(label, event, onset, duration, line_no)
    return col.finish(start)
