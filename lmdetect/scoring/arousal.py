"""Association of leg movements with cortical arousals (scored on the EEG by a PSG scorer).

An LM and an arousal are associated when the two overlap or when less than ``arousal_gap_s``
(0.5 s under both WASM 2016 and AASM) separates the end of one from the onset of the other,
whichever comes first (Ferri et al., Sleep Med 2016; AASM manual). The PLMS-arousal index (PLMS
associated with an arousal per hour of sleep) is a standard PSG output; with an ankle sensor
alone there are no arousals, so it needs a scored annotation file (``lmdetect score-events``).

The gap is strict: a movement ending exactly ``arousal_gap_s`` before the arousal starts is not
associated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import LmdetectError
from ._common import EPS_S

__all__ = ["arousal_associated"]


def arousal_associated(
    onset_s: NDArray[np.float64], offset_s: NDArray[np.float64], arousals: pd.DataFrame, gap_s: float
) -> NDArray[np.bool_]:
    """True for each movement ``[onset_s, offset_s]`` associated with an arousal.

    ``arousals`` has columns onset_s and duration_s (seconds since the recording start).
    """
    missing = [c for c in ("onset_s", "duration_s") if c not in arousals.columns]
    if missing:
        raise LmdetectError(f"arousal table lacks column(s) {', '.join(missing)}")
    try:
        a0 = pd.to_numeric(arousals["onset_s"]).to_numpy(dtype=np.float64, na_value=np.nan)
        dur = pd.to_numeric(arousals["duration_s"]).to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise LmdetectError(f"arousal onset_s/duration_s must be numeric: {exc}") from exc
    if not (np.isfinite(a0).all() and np.isfinite(dur).all()) or (dur < 0).any():
        raise LmdetectError("arousal onset_s/duration_s must be finite, durations >= 0")
    out = np.zeros(onset_s.shape, dtype=bool)
    if a0.size == 0 or onset_s.size == 0:
        return out
    # widen each arousal by the gap on both sides (open interval: the gap must be < gap_s)
    w0 = a0 - gap_s
    w1 = a0 + dur + gap_s
    order = np.argsort(w0, kind="stable")
    w0 = w0[order]
    w1_max = np.maximum.accumulate(w1[order])
    # windows starting before the movement's offset, and of those the latest-ending one must end
    # after its onset
    k = np.searchsorted(w0, offset_s - EPS_S, side="left")
    has = k > 0
    out[has] = w1_max[k[has] - 1] > onset_s[has] + EPS_S
    return out
