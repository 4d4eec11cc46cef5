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

from ._events import event_times, near_any

__all__ = ["arousal_associated"]


def arousal_associated(
    onset_s: NDArray[np.float64], offset_s: NDArray[np.float64], arousals: pd.DataFrame, gap_s: float
) -> NDArray[np.bool_]:
    """True for each movement ``[onset_s, offset_s]`` associated with an arousal.

    ``arousals`` has columns onset_s and duration_s (seconds since the recording start).
    """
    a0, a1 = event_times(arousals, "arousal")
    # widen each arousal by the gap on both sides; open intervals: the gap must be < gap_s
    return near_any(onset_s, offset_s, a0 - gap_s, a1 + gap_s, closed=False)
