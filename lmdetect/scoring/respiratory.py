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

from ._events import event_times, near_any
from .rules import RuleSet

__all__ = ["respiratory_windows", "respiratory_related"]


def respiratory_windows(
    respiratory: pd.DataFrame, rules: RuleSet
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Start and end (s) of the association window of each respiratory event.

    ``respiratory`` has columns onset_s, duration_s (and usually kind: apnea, hypopnea, rera...).
    """
    onset, end = event_times(respiratory, "respiratory event")
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
    w0, w1 = respiratory_windows(respiratory, rules)
    return near_any(onset_s, offset_s, w0, w1, closed=True)
