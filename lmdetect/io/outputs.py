"""Atomic writers of the per-night outputs ``summary.json`` and ``events.csv``.

Shared by ``lmdetect process`` and ``lmdetect score-events``. Both files are written to a
temporary name beside the target and renamed, so a failed run leaves no partial file.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_open, atomic_write_text
from ..errors import LmdetectError

__all__ = ["EVENTS_LEADING_COLUMNS", "write_summary_json", "write_events_csv", "to_jsonable"]

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


def to_jsonable(value: Any, *, _where: str = "summary") -> Any:
    """``value`` with numpy scalars and arrays, tuples, paths and datetimes turned into plain JSON
    types; NaN and infinities become ``None`` (JSON has no NaN)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise LmdetectError(f"{_where}: keys must be strings, got {k!r}")
            out[k] = to_jsonable(v, _where=f"{_where}.{k}")
        return out
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return [to_jsonable(v, _where=_where) for v in list(value)]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise LmdetectError(f"{_where}: cannot write a {type(value).__name__} to JSON")


def write_summary_json(path: str | os.PathLike[str], summary: Mapping[str, Any]) -> Path:
    """Write ``summary`` as JSON (sorted keys, indent 2, trailing newline), atomically.

    Values are converted with :func:`to_jsonable`. Returns the path written.
    """
    text = json.dumps(to_jsonable(summary), sort_keys=True, indent=2, allow_nan=False) + "\n"
    atomic_write_text(path, text)
    return Path(path)


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
