"""Association of candidate LMs with respiratory events (apnea, hypopnea, RERA).

The window around each respiratory event comes from the rule set:

* ``respiratory_reference="end"`` (WASM 2016): ``[end - before, end + after]``, i.e. from 2.0 s
  before to 10.25 s after the END of the event.
* ``respiratory_reference="event"`` (AASM): ``[onset - before, end + after]``, i.e. the whole event
  widened by 0.5 s on each side.

An LM is related when any part of it, ``[onset, offset]``, touches a window; both intervals are
closed, so an LM that ends exactly where a window starts is related.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import LmdetectError
from ._common import EPS_S
from .rules import RuleSet

__all__ = ["respiratory_windows", "respiratory_related"]


def respiratory_windows(
    respiratory: pd.DataFrame, rules: RuleSet
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Start and end (s) of the association window of each respiratory event.

    ``respiratory`` has columns onset_s, duration_s (and usually kind: apnea, hypopnea, rera...).
    """
    missing = [c for c in ("onset_s", "duration_s") if c not in respiratory.columns]
    if missing:
        raise LmdetectError(f"respiratory event table lacks column(s) {', '.join(missing)}")
    try:
        onset = pd.to_numeric(respiratory["onset_s"]).to_numpy(dtype=np.float64, na_value=np.nan)
        dur = pd.to_numeric(respiratory["duration_s"]).to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise LmdetectError(f"respiratory onset_s/duration_s must be numeric: {exc}") from exc
    if not (np.isfinite(onset).all() and np.isfinite(dur).all()) or (dur < 0).any():
        raise LmdetectError("respiratory event onset_s/duration_s must be finite, durations >= 0")
    end = onset + dur
    if rules.respiratory_reference == "end":
        return end - rules.respiratory_before_s, end + rules.respiratory_after_s
    return onset - rules.respiratory_before_s, end + rules.respiratory_after_s


def respiratory_related(
    onset_s: NDArray[np.float64],
    offset_s: NDArray[np.float64],
    respiratory: pd.DataFrame,
    rules: RuleSet,
) -> NDArray[np.bool_]:
    """True for each movement ``[onset_s, offset_s]`` that touches a respiratory window."""
    out = np.zeros(onset_s.shape, dtype=bool)
    w0, w1 = respiratory_windows(respiratory, rules)
    if w0.size == 0 or onset_s.size == 0:
        return out
    order = np.argsort(w0, kind="stable")
    w0 = w0[order]
    # running maximum of window ends lets one searchsorted answer "any window overlapping"
    w1_max = np.maximum.accumulate(w1[order])
    # windows that start at or before the movement's offset ...
    k = np.searchsorted(w0, offset_s + EPS_S, side="right")
    has = k > 0
    # ... and of those, the latest-ending one must end at or after the movement's onset
    out[has] = w1_max[k[has] - 1] >= onset_s[has] - EPS_S
    return out
