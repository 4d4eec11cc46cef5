"""Non-wear flagging that does not misfire on a still, sleeping leg.

Raw-accelerometer pipelines flag non-wear when the standard deviation stays below ~13 mg on at least
two axes for 60 min (van Hees et al., PLoS One 2011;6:e22922; GGIR). At night that misfires:
actigraphy users report still sleep flagged as non-wear (ecosystem notes: OxWearables asleep #28,
biobankAccelerometerAnalysis #261). An ankle sensor on a sleeping person still moves now and then
(leg movements, posture changes occur several times an hour even in good sleepers), whereas a
sensor on a table shows only its own noise. We therefore

* use a much stricter stillness test: the per-minute standard deviation of *every* axis at the
  level of sensor noise (``still_std_mg``), and
* require that stillness to last ``min_duration_min`` (default 120 min), twice the usual window,

and we only *flag* the periods (reported in the quality section and never removed from analysis),
so a researcher decides.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .grid import RegularSignal
from .params import NonwearParams

__all__ = ["NonwearParams", "detect_nonwear"]


def detect_nonwear(reg: RegularSignal, params: NonwearParams = NonwearParams()) -> pd.DataFrame:
    """Flag probable non-wear periods.

    Returns
    -------
    DataFrame
        Columns onset_s, duration_s (seconds since recording start).
    """
    cols = ["onset_s", "duration_s"]
    block = max(2, round(params.block_s * reg.fs))
    k = reg.n // block
    if k == 0:
        return pd.DataFrame(columns=cols)
    # every 4th sample is plenty for a 60-s standard deviation and 4x cheaper
    step = 4 if block >= 64 else 1
    x = reg.accel_g[: k * block].reshape(k, block, 3)[:, ::step]
    std_mg = x.std(axis=1).max(axis=1) * 1000.0
    valid = reg.valid[: k * block].reshape(k, block).mean(axis=1) > 0.5
    still = (std_mg < params.still_std_mg) & valid
    d = np.diff(np.concatenate(([0], still.view(np.int8), [0])))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    need = int(np.ceil(params.min_duration_min * 60.0 / (block / reg.fs)))
    long = (ends - starts) >= need
    bs = block / reg.fs
    return pd.DataFrame(
        {"onset_s": reg.time_of(starts[long] * block), "duration_s": (ends[long] - starts[long]) * bs},
        columns=cols,
    )
