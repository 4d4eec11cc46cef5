"""The movement schedule: when the sensed leg moves, how, and how much.

Everything here is drawn from the ``events`` random stream and depends only on the profile, the
seed and the night plan, never on the sensor settings, so the same seed gives the same true
movements at 25, 50, 100 or 200 Hz.

Sources of movement (the ``source`` column):

``plm``
    Periodic series in sleep. Series start mostly in N1/N2, less in N3, rarely in REM (Pollmächer &
    Schulz, Sleep 1993); the start rate falls linearly across the sleep period (Sforza & Haba-Rubio,
    Sleep Med 2005). Series hold 4 to dozens of movements with lognormal IMIs around a night median of
    20-40 s and a small spread (Shin et al., J Clin Sleep Med 2016). A movement in REM or wake is kept
    with a lower probability, so series thin out and break there.
``doublet``
    A companion 2-5 s after a series movement (the short-interval IMI mode in RLS, Shin et al. 2016).
``isolated``
    Single LMs in sleep.
``rls``
    Irregular LMs (IMIs 3-20 s) during RLS episodes in wake.
``long``
    Movements longer than 10 s (not candidate LMs under WASM 2016; Ferri et al., Sleep Med 2016).
``posture``
    Turning over: the resting orientation of the shank changes.
``voluntary``
    Larger, longer movements while awake in bed.

Movements on the sensed leg are at least :data:`MIN_GAP_S` apart (offset to next onset), so every
row is one LM under the WASM 2016 rule that joins same-leg movements closer than 0.5 s.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .profiles import Profile
from .sleep import EPOCH_S, NightPlan

__all__ = [
    "MIN_GAP_S",
    "SHAPES",
    "SCHEDULE_COLUMNS",
    "RlsEpisode",
    "plan_rls_episodes",
    "schedule_movements",
]

#: Minimum time from one movement's end to the next one's onset (s); above the 0.5-s merge limit.
MIN_GAP_S = 0.6

#: Shapes of an ordinary LM and their duration distributions: (median s, lognormal sigma, min s, max s).
SHAPES: dict[str, tuple[float, float, float, float]] = {
    "dorsiflexion": (1.8, 0.40, 0.6, 6.0),
    "triple_flexion": (3.5, 0.35, 1.5, 9.5),
    "twitch": (0.8, 0.25, 0.5, 1.5),
    "oscillatory": (2.5, 0.40, 1.0, 8.0),
}
_SHAPE_NAMES = tuple(SHAPES)
_SHAPE_P = np.array([0.45, 0.30, 0.10, 0.15])

#: Columns of the schedule table.
SCHEDULE_COLUMNS: tuple[str, ...] = (
    "onset_s",
    "duration_s",
    "kind",
    "shape",
    "target_mg",
    "source",
    "gen_series",
    "detail_seed",
)

# Relative rate of series starts, and probability that a series movement happens, by stage code
# (W, N1, N2, N3, R) -- Pollmächer & Schulz (1993): PLMs are densest in light NREM, sparse in REM.
_START_WEIGHT = np.array([0.0, 1.0, 1.0, 0.4, 0.15])
_KEEP_PROB = np.array([0.8, 1.0, 1.0, 0.85, 0.4])
_SLEEP_WEIGHT = np.array([0.0, 1.0, 1.0, 0.7, 0.5])  # isolated / long movements


@dataclasses.dataclass(frozen=True)
class RlsEpisode:
    """An RLS episode in wake (true times, seconds since start).

    ``intensity`` (0-1) scales the movement rate and the logged severity; ``context`` is ``"onset"``
    (before falling asleep) or ``"awakening"``.
    """

    start_s: float
    end_s: float
    intensity: float
    context: str


def plan_rls_episodes(rng: np.random.Generator, plan: NightPlan, profile: Profile, *, onset: bool) -> list[RlsEpisode]:
    """RLS episodes: one in the sleep latency when ``onset``, and in some long awakenings."""
    out: list[RlsEpisode] = []
    for bout in plan.wake_bouts:
        if bout.kind == "latency":
            take = onset
        elif bout.kind == "long":
            take = bool(rng.random() < profile.rls_awakening_prob)
        else:
            continue
        if not take or bout.duration_s < 240.0:
            continue
        d = bout.duration_s
        start = bout.start_s + rng.uniform(0.0, 0.15) * d
        end = bout.end_s - rng.uniform(0.02, 0.10) * d
        out.append(RlsEpisode(float(start), float(end), float(rng.uniform(0.3, 1.0)), "onset" if bout.kind == "latency" else "awakening"))
    return out


@dataclasses.dataclass
class _Rows:
    onset: list[float] = dataclasses.field(default_factory=list)
    duration: list[float] = dataclasses.field(default_factory=list)
    kind: list[str] = dataclasses.field(default_factory=list)
    shape: list[str] = dataclasses.field(default_factory=list)
    target: list[float] = dataclasses.field(default_factory=list)
    source: list[str] = dataclasses.field(default_factory=list)
    series: list[int] = dataclasses.field(default_factory=list)

    def add(self, onset: float, duration: float, kind: str, shape: str, target: float, source: str, series: int = -1) -> None:
        self.onset.append(float(onset))
        self.duration.append(float(duration))
        self.kind.append(kind)
        self.shape.append(shape)
        self.target.append(float(target))
        self.source.append(source)
        self.series.append(int(series))


class _Draw:
    """Draws of movement shapes and sizes for one night."""

    def __init__(self, rng: np.random.Generator, profile: Profile) -> None:
        self.rng = rng
        self.p = profile
        self.night_amp = profile.lm_amplitude_median_mg * float(np.exp(0.2 * rng.standard_normal()))

    def shape(self, dominant: str | None = None) -> str:
        if dominant is not None and self.rng.random() < 0.8:
            return dominant
        return _SHAPE_NAMES[int(self.rng.choice(len(_SHAPE_NAMES), p=_SHAPE_P))]

    def duration(self, shape: str) -> float:
        med, sig, lo, hi = SHAPES[shape]
        return float(np.clip(med * np.exp(sig * self.rng.standard_normal()), lo, hi))

    def amplitude(self, factor: float = 1.0) -> float:
        lo, hi = self.p.lm_amplitude_limits_mg
        a = self.night_amp * factor * np.exp(self.p.lm_amplitude_sigma * self.rng.standard_normal())
        return float(np.clip(a, lo, hi))

    def lognormal(self, median: float, sigma: float, lo: float, hi: float) -> float:
        return float(np.clip(median * np.exp(sigma * self.rng.standard_normal()), lo, hi))


def _poisson_times(rng: np.random.Generator, mask: NDArray[np.bool_], rate_per_h: float, weight: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Event times of a Poisson process over the epochs where ``mask`` is true (rate per hour, optional per-epoch weight)."""
    w = mask.astype(np.float64) if weight is None else np.where(mask, weight, 0.0)
    expected = w * rate_per_h * EPOCH_S / 3600.0
    counts = rng.poisson(expected)
    idx = np.repeat(np.arange(mask.size), counts)
    return np.sort((idx + rng.uniform(size=idx.size)) * EPOCH_S)


def _plm_series(draw: _Draw, plan: NightPlan, rows: _Rows) -> None:
    """Periodic series spread over the sleep period.

    The night's PLM budget is a rate drawn from ``plm_rate_range_per_h`` times the total sleep
    time. It is split into series whose lengths are lognormal around ``plm_series_len_median``
    (rescaled so they add up to the budget, each >= 4). Series start at stratified random points
    of a warped clock that runs faster early in the night, so the PLM rate falls linearly from
    ``1 + plm_decline`` to ``1 - plm_decline`` times its mean (Sforza & Haba-Rubio 2005). A series
    starts in a stage with the probability of its start weight, else the start moves on by
    1-5 min; movements falling in REM or wake are dropped with the stage's keep probability.
    """
    rng, p = draw.rng, draw.p
    start, end = plan.sleep_onset_s, max(plan.sleep_onset_s + EPOCH_S, plan.wake_bouts[-1].start_s)
    span = end - start
    budget = float(rng.uniform(*p.plm_rate_range_per_h)) * plan.tst_s / 3600.0
    night_imi = float(rng.uniform(*p.plm_imi_median_range_s))
    n_series = int(np.floor(budget / p.plm_series_len_median + rng.random()))
    if n_series == 0:
        return
    lens = p.plm_series_len_median * np.exp(0.45 * rng.standard_normal(n_series))
    lens = np.clip(np.rint(lens * budget / lens.sum()), 4, 150).astype(int)
    d = p.plm_decline
    # warped clock: w(x) = (1 + d) x - d x^2 over the sleep period; invert w at stratified points
    y = (np.arange(n_series) + rng.uniform(0.1, 0.9, n_series)) / n_series
    x = y if d == 0 else ((1.0 + d) - np.sqrt((1.0 + d) ** 2 - 4.0 * d * y)) / (2.0 * d)
    planned = start + x * span
    t_free = start
    for sid in range(n_series):
        t = max(float(planned[sid]), t_free)
        for _ in range(12):
            if rng.random() < _START_WEIGHT[plan.stage_at(t)]:
                break
            t += float(rng.uniform(60.0, 300.0))
        if t >= end:
            break
        series_imi = night_imi * float(np.exp(0.1 * rng.standard_normal()))
        amp_factor = float(np.exp(0.25 * rng.standard_normal()))
        dominant = draw.shape()
        onset = t
        for _ in range(int(lens[sid])):
            if onset >= end:
                break
            if rng.random() < _KEEP_PROB[plan.stage_at(onset)]:
                shape = draw.shape(dominant)
                dur = min(draw.duration(shape), 0.6 * series_imi)
                rows.add(onset, dur, "lm", shape, draw.amplitude(amp_factor), "plm", sid)
                if rng.random() < p.plm_doublet_prob:
                    gap = max(float(rng.uniform(2.0, 5.0)), dur + 0.8)
                    rows.add(onset + gap, draw.duration("twitch"), "lm", "twitch", draw.amplitude(amp_factor), "doublet", sid)
            onset += series_imi * float(np.exp(p.plm_imi_sigma * rng.standard_normal()))
        t_free = onset + 60.0  # series do not overlap


def _rls_lms(draw: _Draw, episodes: list[RlsEpisode], pad_windows: list[tuple[float, float]], rows: _Rows) -> None:
    rng, p = draw.rng, draw.p
    for ep in episodes:
        t = ep.start_s + float(rng.uniform(0.0, 10.0))
        median = p.rls_imi_median_s / (0.5 + 0.5 * ep.intensity)
        while t < ep.end_s:
            imi = draw.lognormal(median, p.rls_imi_sigma, 3.0, 20.0)
            on_pad = any(a <= t < b for a, b in pad_windows)
            if not on_pad or rng.random() < p.pad_rls_lm_factor:
                shape = draw.shape()
                dur = min(draw.duration(shape), imi - 1.0)
                if dur >= 0.5:
                    rows.add(t, dur, "lm", shape, draw.amplitude(1.3), "rls")
            t += imi


def schedule_movements(
    rng: np.random.Generator,
    plan: NightPlan,
    profile: Profile,
    episodes: list[RlsEpisode],
    pad_windows: list[tuple[float, float]],
) -> pd.DataFrame:
    """Draw every movement of the sensed leg for one night.

    Parameters
    ----------
    rng : numpy.random.Generator
        The ``events`` stream.
    plan : NightPlan
        Hypnogram and lights-off window.
    profile : Profile
    episodes : list of RlsEpisode
        RLS episodes (wake), from :func:`plan_rls_episodes`.
    pad_windows : list of (start_s, end_s)
        Times the vibration pad runs; ``profile.pad_rls_lm_factor`` thins RLS movements there.

    Returns
    -------
    DataFrame
        One row per movement, columns :data:`SCHEDULE_COLUMNS`, sorted by onset: ``kind`` is an
        :data:`lmdetect.model.LM_KINDS` value, ``shape`` a key of :data:`SHAPES` or ``long``,
        ``posture``, ``voluntary``; ``target_mg`` the intended peak movement acceleration (for
        posture changes the size of the gross movement); ``gen_series`` the generating series
        (-1 outside series); ``detail_seed`` seeds the movement's fine detail.
    """
    draw = _Draw(rng, profile)
    rows = _Rows()
    _plm_series(draw, plan, rows)

    stages = plan.stages
    in_sleep = stages != 0
    for t in _poisson_times(rng, in_sleep, profile.isolated_lm_per_h, _SLEEP_WEIGHT[stages]):
        shape = draw.shape()
        rows.add(t, draw.duration(shape), "lm", shape, draw.amplitude(), "isolated")

    _rls_lms(draw, episodes, pad_windows, rows)

    awake = stages == 0
    for t in np.r_[
        _poisson_times(rng, in_sleep, profile.long_per_h, _SLEEP_WEIGHT[stages]),
        _poisson_times(rng, awake, 2.0 * profile.long_per_h),
    ]:
        amp = draw.lognormal(1.5 * draw.night_amp, 0.5, 30.0, 500.0)
        rows.add(t, draw.lognormal(15.0, 0.35, 10.5, 40.0), "long", "long", amp, "long")

    # posture changes: in sleep, at the start of half the awakenings, once or twice per RLS episode
    post_t = list(_poisson_times(rng, in_sleep, profile.posture_per_h))
    for bout in plan.wake_bouts:
        if bout.kind in ("brief", "long") and rng.random() < 0.5:
            post_t.append(bout.start_s + float(rng.uniform(0.0, min(60.0, bout.duration_s))))
    for ep in episodes:
        post_t.extend(rng.uniform(ep.start_s, ep.end_s, size=int(rng.integers(1, 3))).tolist())
    for t in post_t:
        rows.add(t, draw.lognormal(4.5, 0.3, 2.5, 8.0), "posture", "posture", draw.lognormal(200.0, 0.4, 80.0, 600.0), "posture")

    # voluntary movements while awake in bed (lights off to on) and before lights off / after lights on
    for t in _poisson_times(rng, awake, profile.voluntary_per_h):
        amp = draw.lognormal(profile.voluntary_amplitude_median_mg, 0.4, 100.0, 800.0)
        rows.add(t, draw.lognormal(5.0, 0.5, 2.0, 20.0), "voluntary", "voluntary", amp, "voluntary")

    df = pd.DataFrame(
        {
            "onset_s": np.asarray(rows.onset, dtype=np.float64),
            "duration_s": np.asarray(rows.duration, dtype=np.float64),
            "kind": pd.Series(rows.kind, dtype=object),
            "shape": pd.Series(rows.shape, dtype=object),
            "target_mg": np.asarray(rows.target, dtype=np.float64),
            "source": pd.Series(rows.source, dtype=object),
            "gen_series": np.asarray(rows.series, dtype=np.int64),
        }
    )
    # keep movements inside the recording, in time order, separated by MIN_GAP_S; on a clash the
    # larger movement (posture > long > voluntary > lm) wins, then the earlier one
    end_s = plan.duration_s
    df = df[(df["onset_s"] >= 1.0) & (df["onset_s"] + df["duration_s"] <= end_s - 1.0)]
    df = df.sort_values("onset_s", kind="stable").reset_index(drop=True)
    df = _resolve_overlaps(df)
    df["detail_seed"] = rng.integers(0, 2**32, size=len(df), dtype=np.int64)
    return df[list(SCHEDULE_COLUMNS)].reset_index(drop=True)


_PRIORITY = {"posture": 3, "long": 2, "voluntary": 1, "lm": 0}


def _resolve_overlaps(df: pd.DataFrame) -> pd.DataFrame:
    on = df["onset_s"].to_numpy()
    off = on + df["duration_s"].to_numpy()
    pri = df["kind"].map(_PRIORITY).to_numpy()
    keep: list[int] = []
    for i in range(len(df)):
        if keep and on[i] < off[keep[-1]] + MIN_GAP_S:
            # clash with the last kept movement: keep the higher priority one (earlier on ties)
            if pri[i] > pri[keep[-1]]:
                keep.pop()
                while keep and on[i] < off[keep[-1]] + MIN_GAP_S:
                    if pri[keep[-1]] >= pri[i]:
                        break
                    keep.pop()
                if keep and on[i] < off[keep[-1]] + MIN_GAP_S:
                    continue
                keep.append(i)
            continue
        keep.append(i)
    return df.iloc[keep].reset_index(drop=True)
