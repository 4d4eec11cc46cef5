"""Our own CSV tables: the events.csv written by ``lmdetect process`` / ``lmdetect score-events``
(writer and reader; the reader takes any LM table with the same columns), and a hypnogram CSV.

events.csv: a header row, then one movement per row. Required columns ``onset_s``,
``duration_s`` (seconds since the recording start); optional ``side`` (left, right, both,
unknown; empty = unknown), ``kind`` (lm, long, posture, gross, voluntary; empty = lm),
``amplitude_mg`` and ``n_mono``. Other columns (``is_clm``, ``series_id`` ...) are results of an
earlier scoring and are ignored: the file is scored afresh.

Hypnogram CSV: columns ``onset_s``, ``duration_s``, ``stage`` (W, N1, N2, N3, R, S, or a stage
label of the shared vocabulary such as ``Sleep stage 2``); rows with an unrecognised stage (e.g.
``?``) are skipped and counted in a log message.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
from collections import Counter
from pathlib import Path

import pandas as pd

from ..._atomic import atomic_open
from ...errors import FormatError, LmdetectError
from ...model import LM_KINDS, SIDES, STAGES
from .._guard import csv_delimiter, decimal_number, guarded, read_text
from ._base import EventCollector, ScoredEvents
from ._labels import Label, stage_from_text

__all__ = ["read_events_csv", "read_hypnogram_csv", "looks_like_events_csv", "write_events_csv",
           "EVENTS_LEADING_COLUMNS"]

log = logging.getLogger(__name__)


def looks_like_events_csv(head: str) -> bool:
    first = head.lstrip("\ufeff").splitlines()[0] if head.strip() else ""
    cells = {c.strip() for c in first.split(csv_delimiter(first))}
    return {"onset_s", "duration_s"} <= cells


def _open_rows(path: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    text = read_text(path)  # UTF-8 (BOM or not) or UTF-16 with BOM
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text))
    try:
        header = next(reader)
    except StopIteration:
        raise FormatError(path, "empty file") from None
    except csv.Error as exc:
        raise FormatError(path, f"malformed CSV: {exc}", line=1) from None
    header = [h.strip() for h in header]
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if not row or all(not c.strip() for c in row):
                continue
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise FormatError(path, f"malformed CSV: {exc}", line=reader.line_num) from None
    return header, rows


def _number(path: str, text: str, column: str, line: int, *, required: bool) -> float:
    t = text.strip()
    if not t:
        if required:
            raise FormatError(path, f"empty {column}", line=line)
        return math.nan
    try:
        v = float(decimal_number(t))
    except ValueError:
        raise FormatError(path, f"{column} is not a number: {t!r}", line=line) from None
    if required and not math.isfinite(v):
        raise FormatError(path, f"{column} must be finite, got {t!r}", line=line)
    return v


@guarded("events CSV")
def read_events_csv(path: str | os.PathLike[str]) -> ScoredEvents:
    """Read an events.csv (see module docstring).

    Raises
    ------
    FormatError
        Missing ``onset_s``/``duration_s`` columns, a row with the wrong number of fields, a
        value that is not a number, an unknown side or kind (the message names the line).
    """
    path = os.fspath(path)
    header, rows = _open_rows(path)
    missing = [c for c in ("onset_s", "duration_s") if c not in header]
    if missing:
        raise FormatError(path, f"missing column(s) {', '.join(missing)} in the header", line=1)
    if "stage" in header and not {"side", "kind", "is_clm"} & set(header):
        # onset_s,duration_s,stage is a hypnogram: scoring its epochs as movements would be nonsense
        raise FormatError(
            path, "this looks like a hypnogram (onset_s,duration_s,stage), not a movement table", line=1
        )
    idx = {
        name: header.index(name)
        for name in ("onset_s", "duration_s", "side", "kind", "amplitude_mg", "n_mono")
        if name in header
    }
    col = EventCollector(path, "events-csv")
    amps: list[object] = []
    n_monos: list[object] = []
    for line, row in rows:
        if len(row) != len(header):
            raise FormatError(path, f"expected {len(header)} fields, found {len(row)}", line=line)
        onset = _number(path, row[idx["onset_s"]], "onset_s", line, required=True)
        duration = _number(path, row[idx["duration_s"]], "duration_s", line, required=True)
        side = row[idx["side"]].strip() if "side" in idx else ""
        side = side or "unknown"
        if side not in SIDES:
            raise FormatError(path, f"invalid side {side!r}; valid: {', '.join(SIDES)}", line=line)
        kind = (row[idx["kind"]].strip() if "kind" in idx else "") or "lm"
        if kind not in LM_KINDS:
            raise FormatError(path, f"invalid kind {kind!r}; valid: {', '.join(LM_KINDS)}", line=line)
        amp = (
            _number(path, row[idx["amplitude_mg"]], "amplitude_mg", line, required=False)
            if "amplitude_mg" in idx
            else math.nan
        )
        n_mono: object = 1 if side != "both" else 2
        if "n_mono" in idx and row[idx["n_mono"]].strip():
            v = _number(path, row[idx["n_mono"]], "n_mono", line, required=True)
            if v < 1 or v != int(v):
                raise FormatError(
                    path, f"n_mono must be a whole number >= 1, got {row[idx['n_mono']]!r}", line=line
                )
            n_mono = int(v)
        col.add(Label("lm", side, kind), "leg movement", onset, duration, line)
        amps.append(amp)
        n_monos.append(n_mono)
    return col.finish(None, extra_lm_columns={"amplitude_mg": amps, "n_mono": n_monos})


@guarded("hypnogram CSV")
def read_hypnogram_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a hypnogram CSV (onset_s, duration_s, stage) into a hypnogram table.

    Raises
    ------
    FormatError
        Missing columns, unreadable numbers, negative durations (naming the line).
    """
    path = os.fspath(path)
    header, rows = _open_rows(path)
    missing = [c for c in ("onset_s", "duration_s", "stage") if c not in header]
    if missing:
        raise FormatError(path, f"missing column(s) {', '.join(missing)} in the header", line=1)
    i_on, i_du, i_st = (header.index(c) for c in ("onset_s", "duration_s", "stage"))
    onsets: list[float] = []
    durations: list[float] = []
    stages: list[str] = []
    skipped: Counter[str] = Counter()
    for line, row in rows:
        if len(row) != len(header):
            raise FormatError(path, f"expected {len(header)} fields, found {len(row)}", line=line)
        onset = _number(path, row[i_on], "onset_s", line, required=True)
        duration = _number(path, row[i_du], "duration_s", line, required=True)
        if duration < 0:
            raise FormatError(path, f"negative duration_s {duration:g}", line=line)
        raw = row[i_st].strip()
        stage = raw if raw in STAGES else stage_from_text(raw)
        if stage is None:
            skipped[raw] += 1
            continue
        onsets.append(onset)
        durations.append(duration)
        stages.append(stage)
    if skipped:
        log.info(
            "%s: skipped %d epoch(s) with unrecognised stages %s", path, sum(skipped.values()), dict(skipped)
        )
    return pd.DataFrame(
        {"onset_s": onsets, "duration_s": durations, "stage": pd.Series(stages, dtype=object)}
    )


# --------------------------------------------------------------------------- writer

#: The first columns of events.csv, in this order; any other columns of the table follow.
EVENTS_LEADING_COLUMNS: tuple[str, ...] = (
    "onset_s",
    "duration_s",
    "side",
    "kind",
    "is_clm",
    "in_plm_series",
    "series_id",
    "stage",
)


def write_events_csv(path: str | os.PathLike[str], events: pd.DataFrame) -> Path:
    """Write a scored event table as CSV, atomically.

    Columns: :data:`EVENTS_LEADING_COLUMNS` first, then the table's other columns in their order.
    Booleans are written ``True``/``False``, missing numbers as empty fields; floats keep full
    precision so the file reads back to the same numbers. Returns the path written.

    Raises
    ------
    LmdetectError
        When a leading column is missing.
    """
    missing = [c for c in EVENTS_LEADING_COLUMNS if c not in events.columns]
    if missing:
        raise LmdetectError(f"event table lacks column(s) {', '.join(missing)} needed for events.csv")
    rest = [c for c in events.columns if c not in EVENTS_LEADING_COLUMNS]
    table = events.loc[:, list(EVENTS_LEADING_COLUMNS) + rest]
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        table.to_csv(fh, index=False, lineterminator="\n")
    return Path(path)
