"""Sleep/wake from ankle activity.

Actigraphy infers sleep from the absence of movement. At the ankle this is harder than at the
wrist: periodic leg movements occur *during* sleep, so a count of movements alone would call PLM
sleep wake. The scorer therefore looks at two things per 30-s epoch:

* the fraction of time spent moving (a 1-3 s PLM every 20-40 s moves the leg ~5-10% of the time;
  wake with RLS symptoms moves it far more), weighted over neighbouring epochs in the form of
  Cole et al. (Sleep 1992);
* the *non-periodic movement load*: amplitude x duration (mg s, an activity count) of the
  movements that are not part of a PLM series, summed over the epoch and its neighbours. Periodic
  series are a sleep phenomenon, while the irregular, short-interval movements of RLS and the
  larger voluntary movements and turns of a waking sleeper are not (WASM 2016, Ferri et al.,
  Sleep Med 2016: short-interval and non-periodic LMs are most frequent in wake).

Either one above its threshold scores wake, then Webster's rescoring rules (Webster et al., Sleep
1982) apply. Quiet wake cannot be told from sleep by any actigraph; expect TST to be overestimated
when the sleeper lies awake without moving, unless the diary gives the sleep onset and final
awakening (ankle TST bias in the literature: about +40 min with Cole-Kripke).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..detect.lm import MovementTrace
from .params import SleepWakeParams

__all__ = ["epoch_activity", "epoch_movement_load", "score_sleep_wake", "sleep_period"]


def epoch_activity(trace: MovementTrace, epoch_s: float, n_epochs: int, t0_s: float = 0.0) -> tuple[NDArray, NDArray]:
    """Mean moving fraction and valid fraction per epoch (epoch i starts at t0_s + i * epoch_s)."""
    bt = trace.times_s
    idx = np.floor((bt - t0_s) / epoch_s).astype(np.int64)
    ok = (idx >= 0) & (idx < n_epochs)
    w = trace.valid_frac[ok].astype(np.float64)
    act = np.bincount(idx[ok], weights=trace.active_frac[ok] * w, minlength=n_epochs)
    cnt = np.bincount(idx[ok], weights=w, minlength=n_epochs)
    blocks = np.bincount(idx[ok], minlength=n_epochs)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(cnt > 0, act / np.maximum(cnt, 1e-12), np.nan)
        valid = np.where(blocks > 0, cnt / np.maximum(blocks, 1), 0.0)
    return frac, valid


def epoch_movement_load(events: pd.DataFrame, epoch_s: float, n_epochs: int, t0_s: float = 0.0) -> NDArray[np.float64]:
    """Non-periodic movement load per epoch: sum of amplitude (mg) x seconds inside the epoch.

    ``events`` are scored movements (``onset_s``, ``duration_s``, ``amplitude_mg``,
    ``in_plm_series``); members of a PLM series are left out. A movement spanning epochs is split
    by the time it spends in each.
    """
    load = np.zeros(n_epochs)
    if len(events) == 0 or n_epochs == 0:
        return load
    keep = ~events["in_plm_series"].to_numpy(bool)
    a = events["onset_s"].to_numpy(float)[keep] - t0_s
    b = a + events["duration_s"].to_numpy(float)[keep]
    amp = np.nan_to_num(events["amplitude_mg"].to_numpy(float)[keep])
    first = np.clip(np.floor(a / epoch_s).astype(np.int64), 0, n_epochs - 1)
    last = np.clip(np.floor(b / epoch_s).astype(np.int64), 0, n_epochs - 1)
    # movements last seconds: at most a few epochs each, so loop over the epoch offset
    for k in range(int((last - first).max(initial=0)) + 1):
        i = first + k
        ok = i <= last
        lo = np.maximum(a[ok], i[ok] * epoch_s)
        hi = np.minimum(b[ok], (i[ok] + 1) * epoch_s)
        np.add.at(load, i[ok], amp[ok] * np.clip(hi - lo, 0.0, None))
    return load


def _webster(wake: NDArray[np.bool_], epoch_s: float) -> NDArray[np.bool_]:
    per_min = 60.0 / epoch_s
    rules = ((4, 1), (10, 3), (15, 4))  # (minutes of wake, minutes of sleep rescored)
    out = wake.copy()
    n = wake.size
    i = 0
    while i < n:
        if not wake[i]:
            i += 1
            continue
        j = i
        while j < n and wake[j]:
            j += 1
        run_min = (j - i) / per_min
        rescore = 0
        for need, m in rules:
            if run_min >= need:
                rescore = int(round(m * per_min))
        k = j
        while k < min(n, j + rescore) and not wake[k]:
            out[k] = True
            k += 1
        i = j
    return out


def score_sleep_wake(
    activity: NDArray[np.float64], params: SleepWakeParams, load: NDArray[np.float64] | None = None
) -> NDArray[np.bool_]:
    """True = sleep, per epoch.

    ``activity`` is the moving fraction per epoch, NaN where the epoch has no signal (a gap):
    such epochs are returned as sleep but carry no evidence (the pipeline leaves them out of
    sleep and wake time) and do not count towards their neighbours' scores. ``load`` is the
    non-periodic movement load per epoch (:func:`epoch_movement_load`), optional.
    """
    seen = np.isfinite(activity)
    a = np.where(seen, activity, 0.0)
    w = np.asarray(params.weights, dtype=np.float64)
    # score[i] = sum_j w[j] * a[i + j - 4] over the epochs with signal, rescaled to the full
    # weight: an epoch next to a gap is scored from its observed neighbours, and a gap (no
    # signal, so no evidence either way) neither wakes its neighbours nor starts Webster's rules
    num = np.zeros(a.size)
    den = np.zeros(a.size)
    pa = np.concatenate((np.zeros(4), a, np.zeros(2)))
    ps = np.concatenate((np.zeros(4), seen, np.zeros(2)))
    for j in range(7):
        num += w[j] * pa[j : j + a.size]
        den += w[j] * ps[j : j + a.size]
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(den > 0, num / den * w.sum(), 0.0)
    wake = (score > params.threshold) & seen
    if load is not None and params.load_threshold_mg_s > 0:
        k = params.load_window_epochs
        # sum over epochs i-k..i+k; "full" then slicing keeps n outputs for any n, where
        # mode="same" returns the window's length when the night has fewer epochs than that
        windowed = np.convolve(np.nan_to_num(load), np.ones(2 * k + 1), mode="full")[k : k + a.size]
        wake |= (windowed > params.load_threshold_mg_s) & seen
    if params.rescore:
        wake = _webster(wake, params.epoch_s)
    return ~wake


def sleep_period(sleep: NDArray[np.bool_], params: SleepWakeParams) -> tuple[int, int] | None:
    """First and last epoch index (end exclusive) of the sleep period, or None without sleep."""
    need = max(1, int(round(params.min_sleep_onset_min * 60.0 / params.epoch_s)))
    d = np.diff(np.concatenate(([0], sleep.view(np.int8), [0])))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    long = (ends - starts) >= need
    if not long.any():
        return None
    return int(starts[long][0]), int(ends[long][-1])


def epochs_table(onsets_s: NDArray[np.float64], epoch_s: float, stages: list[str] | NDArray) -> pd.DataFrame:
    return pd.DataFrame({"onset_s": onsets_s, "duration_s": epoch_s, "stage": np.asarray(stages, dtype=object)})
