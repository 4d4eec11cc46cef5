"""The JSON form of results: :func:`to_jsonable` and the atomic ``summary.json`` writer.

Shared by ``lmdetect process`` and ``lmdetect score-events``. The file is written to a temporary
name beside the target and renamed, so a failed run leaves no partial file.
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

from .._atomic import atomic_write_text
from ..errors import LmdetectError

__all__ = ["write_summary_json", "to_jsonable"]

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
