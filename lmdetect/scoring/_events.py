"""Event tables the scoring relates movements to (respiratory events, arousals): reading their
times and asking which movements come near any of them."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import LmdetectError
from ._common import EPS_S

__all__ = ["event_times", "near_any"]


def event_times(table: pd.DataFrame, what: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Onset and end (s) of each event of ``table`` (columns onset_s, duration_s), checked.

    ``what`` names the events in error messages ("respiratory event", "arousal").
    """
    missing = [c for c in ("onset_s", "duration_s") if c not in table.columns]
    if missing:
        raise LmdetectError(f"{what} table lacks column(s) {', '.join(missing)}")
    try:
        onset = pd.to_numeric(table["onset_s"]).to_numpy(dtype=np.float64, na_value=np.nan)
        dur = pd.to_numeric(table["duration_s"]).to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise LmdetectError(f"{what} onset_s/duration_s must be numeric: {exc}") from exc
    if not (np.isfinite(onset).all() and np.isfinite(dur).all()) or (dur < 0).any():
        raise LmdetectError(f"{what} onset_s/duration_s must be finite, durations >= 0")
    return onset, onset + dur


def near_any(
    onset_s: NDArray[np.float64],
    offset_s: NDArray[np.float64],
    w0: NDArray[np.float64],
    w1: NDArray[np.float64],
    *,
    closed: bool,
) -> NDArray[np.bool_]:
    """True for each movement ``[onset_s, offset_s]`` that overlaps any window ``[w0, w1]``.

    ``closed``: touching at an end point counts (within :data:`EPS_S`); otherwise the overlap
    must be longer than that.
    """
    out = np.zeros(onset_s.shape, dtype=bool)
    if w0.size == 0 or onset_s.size == 0:
        return out
    order = np.argsort(w0, kind="stable")
    w0 = w0[order]
    # running maximum of window ends lets one searchsorted answer "any window overlapping":
    # among the windows starting before the movement ends, the latest-ending one must end
    # after it starts
    w1_max = np.maximum.accumulate(w1[order])
    if closed:
        k = np.searchsorted(w0, offset_s + EPS_S, side="right")
    else:
        k = np.searchsorted(w0, offset_s - EPS_S, side="left")
    has = k > 0
    last_end = w1_max[k[has] - 1]
    out[has] = last_end >= onset_s[has] - EPS_S if closed else last_end > onset_s[has] + EPS_S
    return out
