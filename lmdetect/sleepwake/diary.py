"""The diary's sleep onset and final awakening, checked against the ankle actigraphy.

A sleep diary is the guide, not the judge. GGIR uses a sleep log the same way: the log marks the
window where the main sleep period lies, and the accelerometer's own sustained-inactivity bouts
that overlap it decide where that period starts and ends (van Hees et al., Sci Rep 2018, and the
GGIR documentation). Here the diary bounds the sleep period by default, because quiet wake in bed
looks like sleep to any actigraph; the actigraphy overrules one diary row only when it holds
positive evidence of sleep on the far side of it: periodic leg movements in PLM series, a sleep
phenomenon (WASM 2016, Ferri et al., Sleep Med 2016: short-interval and non-periodic LMs
dominate wake), scored as sleep by the actigraphy.

Rule, for a logged sleep onset ``D`` (the final awakening is the mirror image):

* the *disputed stretch* is time in bed before ``D``;
* a series counts as sleep evidence when at least :attr:`~SleepWakeParams.diary_series_sleep_frac`
  of its members fall in epochs the actigraphy scored sleep;
* if the disputed stretch holds at least :attr:`~SleepWakeParams.diary_min_periodic_lms` members
  of such series, the row is overruled: the sleep period may start where the actigraphy sleep
  holding the first of them starts, going back over wake shorter than ``min_sleep_onset_min``
  (a turn in sleep) to the last sustained wake or stretch without signal (as GGIR takes the start
  of the first inactivity bout that overlaps its guide window), but at most
  :attr:`~SleepWakeParams.diary_max_lead_min` before that first periodic LM, because still wake
  before sleep looks the same as sleep; otherwise ``D`` stands.

A diary that is a few minutes off is therefore kept (too few periodic LMs fit in a few minutes),
while a sleep onset logged hours late, which would drop the PLMs of the first sleep cycles and
halve the night's index, is replaced. Every row is reported in the summary with what was done.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .params import SleepWakeParams

__all__ = ["DiaryRowCheck", "reconcile_sleep_diary"]


@dataclasses.dataclass(frozen=True)
class DiaryRowCheck:
    """What became of one diary row (``sleep_onset`` or ``final_awakening``).

    Attributes
    ----------
    item
        ``"sleep_onset"`` or ``"final_awakening"``.
    diary_s
        The logged time, seconds since the recording start.
    used_s
        The sleep-period bound used (seconds since the start).
    status
        ``"diary"`` (kept) or ``"actigraphy"`` (overruled by periodic LMs in actigraphy sleep beyond it).
    periodic_lms
        Members of sleep-scored PLM series in the disputed stretch.
    """

    item: str
    diary_s: float
    used_s: float
    status: str
    periodic_lms: int

    @property
    def shift_min(self) -> float:
        """Used minus logged time, minutes (negative: earlier than logged)."""
        return (self.used_s - self.diary_s) / 60.0

    def to_dict(self, clock: Any = None) -> dict[str, Any]:
        """JSON-ready; ``clock`` (seconds -> str) adds wall-clock times."""
        out: dict[str, Any] = {
            "status": self.status,
            "diary_s": round(self.diary_s, 3),
            "used_s": round(self.used_s, 3),
            "shift_min": round(self.shift_min, 1),
            "periodic_lms": self.periodic_lms,
        }
        if clock is not None:
            out["diary"] = clock(self.diary_s)
            out["used"] = clock(self.used_s)
        return out


def _sleep_series_members(
    series: pd.DataFrame, asleep: NDArray[np.bool_], epoch_s: float, t0_s: float, min_frac: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Onsets and offsets (s) of the members of PLM series scored mostly in actigraphy sleep."""
    s = series[series["in_plm_series"].to_numpy(bool) & (series["series_id"].to_numpy() >= 0)]
    if len(s) == 0 or asleep.size == 0:
        return np.zeros(0), np.zeros(0)
    on = s["onset_s"].to_numpy(float)
    idx = np.clip(np.floor((on - t0_s) / epoch_s).astype(np.int64), 0, asleep.size - 1)
    sid = s["series_id"].to_numpy()
    share = pd.Series(asleep[idx].astype(float)).groupby(sid).transform("mean").to_numpy()
    keep = share >= min_frac
    return on[keep], (on + s["duration_s"].to_numpy(float))[keep]


def _run_edge(asleep: NDArray[np.bool_], t_s: float, params: SleepWakeParams, t0_s: float, *, backwards: bool) -> float:
    """Start (``backwards``) or end of the actigraphy sleep around time ``t_s``, bridging wake
    shorter than ``params.min_sleep_onset_min`` (a turn or brief awakening does not end the sleep
    period, sustained wake does)."""
    ep = params.epoch_s
    short = max(1, int(round(params.min_sleep_onset_min * 60.0 / ep)))
    n = asleep.size
    i = int(np.clip(np.floor((t_s - t0_s) / ep), 0, n - 1))
    if backwards:
        while True:
            while i > 0 and asleep[i - 1]:
                i -= 1
            j = i
            while j > 0 and not asleep[j - 1]:
                j -= 1
            if j == 0 or i - j >= short:
                return t0_s + i * ep
            i = j
    while True:
        while i + 1 < n and asleep[i + 1]:
            i += 1
        j = i
        while j + 1 < n and not asleep[j + 1]:
            j += 1
        if j + 1 >= n or j - i >= short:
            return t0_s + (i + 1) * ep
        i = j + 1


def reconcile_sleep_diary(
    asleep: NDArray[np.bool_],
    series: pd.DataFrame,
    params: SleepWakeParams,
    *,
    tib: tuple[float, float],
    diary_onset_s: float | None,
    diary_wake_s: float | None,
    t0_s: float = 0.0,
) -> tuple[tuple[float, float], list[DiaryRowCheck]]:
    """The window the sleep period may occupy, and what became of each logged diary row.

    Parameters
    ----------
    asleep
        Actigraphy sleep per epoch (epoch ``i`` starts at ``t0_s + i * params.epoch_s``), scored over
        time in bed without the diary's sleep times.
    series
        Detected movements with ``onset_s``, ``duration_s``, ``in_plm_series`` and ``series_id``
        (PLM series by the WASM 2016 rules, found without a hypnogram).
    params
        ``diary_min_periodic_lms`` and ``diary_series_sleep_frac`` set the evidence needed.
    tib
        Time in bed (lights off, lights on), seconds since the start.
    diary_onset_s, diary_wake_s
        The diary's sleep onset and final awakening (None when not logged).

    Returns
    -------
    window : (float, float)
        Start and end (s) of the time the sleep period may occupy.
    checks : list of DiaryRowCheck
        One per logged row, in the order sleep onset, final awakening.
    """
    on, off = _sleep_series_members(series, asleep, params.epoch_s, t0_s, params.diary_series_sleep_frac)
    need = params.diary_min_periodic_lms
    start, end = tib
    checks: list[DiaryRowCheck] = []
    if diary_onset_s is not None:
        before = (on >= tib[0]) & (on < diary_onset_s)
        count = int(before.sum())
        if need > 0 and count >= need:
            first = float(on[before].min())
            used = max(_run_edge(asleep, first, params, t0_s, backwards=True), first - 60.0 * params.diary_max_lead_min)
            checks.append(DiaryRowCheck("sleep_onset", diary_onset_s, max(tib[0], used), "actigraphy", count))
        else:
            checks.append(DiaryRowCheck("sleep_onset", diary_onset_s, max(tib[0], diary_onset_s), "diary", count))
        start = checks[-1].used_s
    if diary_wake_s is not None:
        after = (off > diary_wake_s) & (off <= tib[1])
        count = int(after.sum())
        if need > 0 and count >= need:
            last = float(off[after].max())
            used = min(_run_edge(asleep, last, params, t0_s, backwards=False), last + 60.0 * params.diary_max_lead_min)
            checks.append(DiaryRowCheck("final_awakening", diary_wake_s, min(tib[1], used), "actigraphy", count))
        else:
            checks.append(DiaryRowCheck("final_awakening", diary_wake_s, min(tib[1], diary_wake_s), "diary", count))
        end = checks[-1].used_s
    return (start, end), checks
