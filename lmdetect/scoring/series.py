"""PLM series from a time-ordered sequence of candidate LMs and series breakers.

The *sequence* is every scored movement in onset order (minus those the rule set does not score,
e.g. AASM's respiratory-related LMs). A movement that is not a CLM is a *breaker*.

IMI (inter-movement interval) is measured onset to onset. ``imi_s`` of a CLM is the time since
the onset of the previous movement in the sequence when that movement is a CLM, and NaN when the
CLM is the first of the sequence or follows a breaker. It does not depend on the rule set's
bounds, so histograms and the periodicity index see every interval.

Series building walks the sequence keeping a *run*:

* a breaker ends the run; the next CLM starts a new one;
* a CLM whose interval to the last CLM of the run is within ``[imi_min_s, imi_max_s]`` (both
  inclusive) extends the run;
* an interval longer than ``imi_max_s`` ends the run, and the CLM starts a new one;
* an interval shorter than ``imi_min_s``: with ``short_imi_breaks_series`` (WASM 2016) the run ends
  and the CLM starts a new one; without it (AASM) the CLM is skipped, and the next interval is
  measured from the last CLM of the run, so the run survives.

A run of at least ``min_series_length`` CLMs is a PLM series. Series are numbered 0, 1, ... in
time order.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._common import EPS_S
from .rules import RuleSet

__all__ = ["sequence_imis", "build_series"]


def sequence_imis(
    onset_s: NDArray[np.float64], is_clm: NDArray[np.bool_], in_sequence: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """``imi_s`` per movement (NaN for breakers, movements outside the sequence, and CLMs that
    start the sequence or follow a breaker). Inputs are sorted by onset."""
    imi = np.full(onset_s.shape, np.nan)
    idx = np.flatnonzero(in_sequence)
    if idx.size < 2:
        return imi
    cur, prev = idx[1:], idx[:-1]
    ok = is_clm[cur] & is_clm[prev]
    imi[cur[ok]] = onset_s[cur[ok]] - onset_s[prev[ok]]
    return imi


def build_series(
    onset_s: NDArray[np.float64],
    is_clm: NDArray[np.bool_],
    in_sequence: NDArray[np.bool_],
    rules: RuleSet,
) -> NDArray[np.int64]:
    """Series id per movement (-1 when not in a PLM series). Inputs are sorted by onset."""
    series_id = np.full(onset_s.shape, -1, dtype=np.int64)
    lo = rules.imi_min_s - EPS_S
    hi = rules.imi_max_s + EPS_S
    breaks_on_short = rules.short_imi_breaks_series
    runs: list[list[int]] = []
    run: list[int] = []
    for i in np.flatnonzero(in_sequence).tolist():
        if not is_clm[i]:
            if run:
                runs.append(run)
            run = []
            continue
        if not run:
            run = [i]
            continue
        d = float(onset_s[i] - onset_s[run[-1]])
        if lo <= d <= hi:
            run.append(i)
        elif d < lo and not breaks_on_short:
            continue  # skipped: the run waits for the next CLM
        else:
            runs.append(run)
            run = [i]
    if run:
        runs.append(run)
    n = 0
    for r in runs:
        if len(r) >= rules.min_series_length:
            series_id[r] = n
            n += 1
    return series_id
