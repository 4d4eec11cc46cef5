"""The sleeper's night: lights off/on and a 30-s hypnogram (W, N1, N2, N3, R).

The model is a sequence of NREM/REM cycles of ~90 min (Carskadon & Dement, "Normal human sleep: an
overview", Principles and Practice of Sleep Medicine, 2011): each cycle runs N1 -> N2 -> N3 -> N2 -> R,
N3 is front-loaded (large shares in the first two cycles, little later) and REM lengthens towards
morning. Brief (0.5-3 min) and long (5-40 min) awakenings are laid over the cycles, more of them in
the second half of the night, and sleep resumes through N1. Before lights off and after the final
awakening the sleeper is awake in bed.

All times are seconds since the start of the recording on the true clock, multiples of the epoch.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lmdetect.model import HYPNOGRAM_COLUMNS

from .profiles import Profile

__all__ = ["EPOCH_S", "STAGE_CODES", "NightPlan", "WakeBout", "simulate_sleep"]

EPOCH_S = 30.0
#: Integer codes of the stages in :attr:`NightPlan.stages`.
STAGE_CODES: tuple[str, ...] = ("W", "N1", "N2", "N3", "R")
_W, _N1, _N2, _N3, _R = range(5)

# Share of each cycle spent in N3 and REM, by cycle number (0-based; later cycles use the last
# value). Shapes follow Carskadon & Dement (2011): slow-wave sleep dominates the first third of the
# night, REM episodes grow from ~10 min to 30-40 min.
_N3_SHARE = (0.35, 0.25, 0.10, 0.03)
_REM_SHARE = (0.10, 0.20, 0.27, 0.33)


@dataclasses.dataclass(frozen=True)
class WakeBout:
    """A stretch of wake between lights off and lights on (seconds since start)."""

    start_s: float
    end_s: float
    kind: str  # "latency" (before sleep onset), "brief", "long" or "final"

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclasses.dataclass(frozen=True)
class NightPlan:
    """The sleeper's timeline.

    Attributes
    ----------
    stages : ndarray of int8
        Stage code (index into :data:`STAGE_CODES`) of each 30-s epoch from the recording start.
    lights_off_s, lights_on_s : float
        Time in bed with the lights off (the WASM/AASM "time in bed" window).
    sleep_onset_s : float
        Start of the first sleep epoch.
    wake_bouts : tuple of WakeBout
        Wake stretches inside the lights-off window, in time order.
    """

    stages: NDArray[np.int8]
    lights_off_s: float
    lights_on_s: float
    sleep_onset_s: float
    wake_bouts: tuple[WakeBout, ...]

    @property
    def duration_s(self) -> float:
        return float(self.stages.size * EPOCH_S)

    def stage_at(self, t_s: NDArray[np.float64] | float) -> NDArray[np.int8]:
        """Stage code at time(s) ``t_s`` (clipped to the recording)."""
        idx = np.clip((np.asarray(t_s) // EPOCH_S).astype(np.int64), 0, self.stages.size - 1)
        return self.stages[idx]

    @property
    def tst_s(self) -> float:
        """Total sleep time in seconds."""
        return float(np.count_nonzero(self.stages != _W) * EPOCH_S)

    def hypnogram(self) -> pd.DataFrame:
        """The hypnogram as a table (:data:`lmdetect.model.HYPNOGRAM_COLUMNS`), one row per epoch."""
        n = self.stages.size
        return pd.DataFrame(
            {
                "onset_s": np.arange(n, dtype=np.float64) * EPOCH_S,
                "duration_s": np.full(n, EPOCH_S),
                "stage": pd.Series(np.asarray(STAGE_CODES, dtype=object)[self.stages], dtype=object),
            },
            columns=list(HYPNOGRAM_COLUMNS),
        )


def _epochs(t_s: float) -> int:
    return int(round(t_s / EPOCH_S))


def _lognormal(rng: np.random.Generator, median: float, sigma: float) -> float:
    return float(median * np.exp(sigma * rng.standard_normal()))


def simulate_sleep(rng: np.random.Generator, duration_s: float, profile: Profile, *, rls_onset: bool) -> NightPlan:
    """Draw a night's lights-off window and hypnogram.

    Parameters
    ----------
    rng : numpy.random.Generator
        The sleep component's generator (its draws do not depend on the sensor settings).
    duration_s : float
        Length of the recording (true clock), seconds.
    profile : Profile
        ``sleep_*`` fields are used; ``rls_latency_factor`` lengthens the sleep latency when
        ``rls_onset`` is true (restless legs delay sleep onset).
    rls_onset : bool
        Whether the night begins with an RLS episode.
    """
    n = max(1, int(duration_s // EPOCH_S))
    stages = np.full(n, _W, dtype=np.int8)
    off = _epochs(rng.uniform(*profile.sleep_lights_off_range_s))
    on = n - _epochs(rng.uniform(*profile.sleep_lights_on_range_s))
    if on - off < 20:  # a very short recording: keep at least 10 min with the lights off
        off, on = min(off, max(0, n - 20)), n
    latency = _lognormal(rng, profile.sleep_latency_median_s, profile.sleep_latency_sigma)
    if rls_onset:
        latency *= profile.rls_latency_factor
    latency = float(np.clip(latency, 120.0, 5400.0))
    onset = min(off + max(1, _epochs(latency)), on - 1)
    final_wake = _epochs(float(np.clip(_lognormal(rng, profile.sleep_final_wake_median_s, 0.6), 60.0, 2700.0)))
    sleep_end = max(onset + 1, on - final_wake)

    # NREM/REM cycles from sleep onset to the final awakening
    e = onset
    k = 0
    while e < sleep_end:
        length = _epochs(float(np.clip(rng.normal(profile.sleep_cycle_median_s, profile.sleep_cycle_sd_s), 3600, 7200)))
        i = min(k, len(_N3_SHARE) - 1)
        n1 = _epochs(rng.uniform(120.0, 420.0)) if k == 0 else _epochs(rng.uniform(30.0, 120.0))
        n3 = int(round(length * min(0.6, _N3_SHARE[i] * profile.sleep_n3_scale * rng.uniform(0.7, 1.3))))
        rem = int(round(length * _REM_SHARE[i] * rng.uniform(0.7, 1.3)))
        n2 = max(2, length - n1 - n3 - rem)
        n2a = int(round(n2 * rng.uniform(0.55, 0.8)))
        for code, count in ((_N1, n1), (_N2, n2a), (_N3, n3), (_N2, n2 - n2a), (_R, rem)):
            stages[e : min(e + count, sleep_end)] = code
            e += count
            if e >= sleep_end:
                break
        k += 1

    # awakenings laid over the cycles; more in the second half of the night
    bouts: list[WakeBout] = [WakeBout(off * EPOCH_S, onset * EPOCH_S, "latency")]
    sleep_h = (sleep_end - onset) * EPOCH_S / 3600.0
    for _kind, rate, lo, hi, med in (
        ("brief", profile.sleep_brief_wake_per_h, 30.0, 180.0, 60.0),
        ("long", profile.sleep_long_wake_per_h, 300.0, 2400.0, 720.0),
    ):
        count = rng.poisson(rate * sleep_h)
        # onset times: density rising linearly from 0.6 to 1.4 across the sleep period
        u = rng.uniform(size=count)
        frac = (-0.6 + np.sqrt(0.36 + 4 * 0.4 * u)) / 0.8  # inverse CDF of f(x) = 0.6 + 0.8 x
        durs = np.clip(med * np.exp(0.5 * rng.standard_normal(count)), lo, hi)
        for f, d in zip(frac, durs, strict=True):
            s = onset + 2 + int(f * (sleep_end - onset - 4))
            m = max(1, _epochs(float(d)))
            end = min(s + m, sleep_end - 1)
            if end <= s:
                continue
            stages[s:end] = _W
            resume = min(end + int(rng.integers(1, 4)), sleep_end)
            stages[end:resume] = _N1
    stages[sleep_end:] = _W
    stages[:onset] = _W
    # collect the wake stretches after sleep onset from the final stage sequence
    is_w = np.r_[False, stages[onset:sleep_end] == _W, False]
    edges = np.flatnonzero(np.diff(is_w.astype(np.int8)))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        s, t = onset + a, onset + b
        kind = "long" if (t - s) * EPOCH_S >= 300.0 else "brief"
        bouts.append(WakeBout(s * EPOCH_S, t * EPOCH_S, kind))
    bouts.append(WakeBout(sleep_end * EPOCH_S, on * EPOCH_S, "final"))
    return NightPlan(
        stages=stages,
        lights_off_s=off * EPOCH_S,
        lights_on_s=on * EPOCH_S,
        sleep_onset_s=onset * EPOCH_S,
        wake_bouts=tuple(b for b in bouts if b.duration_s > 0),
    )
