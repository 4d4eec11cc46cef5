"""A simulated crossover study: participants x conditions x nights, with the true effects.

:func:`simulate_crossover` writes one folder per night (as ``lmdetect simulate``: ``night.lmr``,
``diary.csv`` with the night's ``intervention`` rows, ``pad_log.csv``, truth files), a batch
manifest with one ``condition_<name>`` column per condition (docs/batch.md), and the truth of the
design: ``study_truth.json`` (the design and each condition's true PLM-rate factor) and
``study_truth.csv`` (one row per night: its condition, true factor and true PLMS index).

Design: each participant goes through the conditions in blocks of ``nights`` consecutive nights, in
an order rotated by participant (a Latin square over ``len(conditions)`` sequences, so period and
carry-over are balanced across participants). Each participant has a baseline PLM series rate,
lognormal around ``baseline_median_per_h`` (between-person spread ``baseline_sigma``); each night
draws its rate within +-``night_spread`` of it, and the night's condition multiplies it by the
condition's factor (:mod:`firmware_sim.interventions`). Conditions:

``none``
    Nothing (the reference nights; no manifest column).
``pad``
    One vibration-pad session at an RLS episode (logged in the pad log); the factor acts all night.
``foot_wrap``
    A wrap worn all night, logged as a diary period from the recording start to its end.
``ropinirole``
    ``0.25 mg`` taken 30 min before the recording starts (a diary time), full effect 1 h after it.
``iron_infusion``
    An infusion on the block's first night (a diary date), the factor approaching its full value
    over the block's nights (:func:`firmware_sim.interventions.infusion_factor`, tau 14 days by
    default; use long blocks for it).
``sham`` (any other name)
    Logged as a diary period like the wrap, with a factor of 1 unless ``effects`` gives one: a
    condition without an effect, for false-positive checks.

Cheap nights: :data:`SHORT_NIGHT` moves lights off, sleep onset and lights on close to the ends of
the recording and shortens the series, so 2-h nights at 25 Hz have about 1.5 h of sleep and a few
PLM series each; a 20 x 3 x 7 study (420 nights) is simulated in a few minutes on one core.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lmdetect._atomic import atomic_write_text
from lmdetect.errors import ConfigError

from .interventions import DEFAULT_EFFECTS, Intervention, infusion_factor
from .night import DEFAULT_START, simulate_night, write_night

__all__ = ["SHORT_NIGHT", "CrossoverDesign", "simulate_crossover", "condition_interventions"]

#: Profile overrides for cheap short nights (see the module docs).
SHORT_NIGHT: dict[str, Any] = {
    "sleep_lights_off_range_s": (60.0, 180.0),
    "sleep_lights_on_range_s": (60.0, 180.0),
    "sleep_latency_median_s": 300.0,
    "sleep_final_wake_median_s": 120.0,
    "plm_series_len_median": 8.0,
}


@dataclasses.dataclass(frozen=True)
class CrossoverDesign:
    """Settings of :func:`simulate_crossover` (see the module docs).

    Attributes
    ----------
    participants, nights
        Number of participants, and of consecutive nights per condition block.
    conditions
        Condition names, ``none`` for the reference; the order of the first sequence.
    effects
        Condition -> PLM-rate factor; defaults from :data:`firmware_sim.interventions.DEFAULT_EFFECTS`
        (1 for names without one).
    hours, rate_hz
        Length (h) and output data rate (Hz) of each night.
    seed
        Study seed; night seeds are derived from it.
    baseline_median_per_h, baseline_sigma, night_spread
        Participant baseline PLM series rate (per hour of sleep, lognormal), and the relative
        night-to-night range around it.
    profile
        Simulator profile the nights start from (``rls``), with :data:`SHORT_NIGHT` when ``short``.
    infusion_tau_days
        Time constant of the infusion's gradual effect (days).
    """

    participants: int = 20
    conditions: tuple[str, ...] = ("none", "pad", "foot_wrap")
    nights: int = 7
    effects: Mapping[str, float] = dataclasses.field(default_factory=dict)
    hours: float = 2.0
    rate_hz: int = 25
    seed: int = 1
    baseline_median_per_h: float = 35.0
    baseline_sigma: float = 0.35
    night_spread: float = 0.15
    profile: str = "rls"
    short: bool = True
    infusion_tau_days: float = 14.0

    def __post_init__(self) -> None:
        from lmdetect.io.diary import INTERVENTION_NAME

        if self.participants < 1 or self.nights < 1:
            raise ConfigError("a crossover needs at least one participant and one night per condition")
        if not self.conditions or len(set(self.conditions)) != len(self.conditions):
            raise ConfigError(f"conditions must be distinct names, got {self.conditions!r}")
        for c in self.conditions:
            if not INTERVENTION_NAME.fullmatch(c):
                raise ConfigError(f"condition {c!r}: lower-case letters, digits and _")
        unknown = set(self.effects) - set(self.conditions)
        if unknown:
            raise ConfigError(f"effects given for conditions not in the design: {', '.join(sorted(unknown))}")
        if not 0 <= self.night_spread < 1:
            raise ConfigError(f"night_spread must be in [0, 1), got {self.night_spread!r}")

    def factor(self, condition: str) -> float:
        """The condition's true PLM-rate factor at full effect."""
        if condition == "none":
            return 1.0
        return float(self.effects.get(condition, DEFAULT_EFFECTS.get(condition, 1.0)))


def condition_interventions(
    design: CrossoverDesign, condition: str, hours: float, night_in_block: int, start: dt.datetime
) -> tuple[list[Intervention], dict[str, Any]]:
    """The simulated interventions of one night under ``condition`` and the profile overrides it needs."""
    f = design.factor(condition)
    duration_s = hours * 3600.0
    if condition == "none":
        return [], {}
    if condition == "pad":
        return [Intervention("pad", "night", f, logged=False)], {"pad_sessions_range": (1, 1), "rls_onset_prob": 1.0}
    if condition == "ropinirole":
        return [Intervention("ropinirole", "time", f, start_s=-1800.0, ramp_s=3600.0, dose="0.25 mg")], {}
    if condition == "iron_infusion":
        factor = infusion_factor(f, float(night_in_block), design.infusion_tau_days)
        date = start.date() if night_in_block == 0 else None
        return [Intervention("iron_infusion", "night", factor, date=date, dose="1000 mg" if date else "",
                             logged=date is not None)], {}
    return [Intervention(condition, "period", f, start_s=0.0, end_s=duration_s)], {}


def _sequences(conditions: Sequence[str]) -> list[list[str]]:
    k = len(conditions)
    return [[conditions[(i + j) % k] for j in range(k)] for i in range(k)]


def simulate_crossover(out_dir: str | Path, design: CrossoverDesign | None = None) -> Path:
    """Simulate and write a crossover study (module docs); returns the manifest's path.

    Writes ``out_dir/<participant>/<night>/`` per night, ``out_dir/manifest.csv``,
    ``out_dir/study_truth.json`` and ``out_dir/study_truth.csv``. The same design gives identical
    files.
    """
    design = design or CrossoverDesign()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence(design.seed, spawn_key=(200,)))
    seqs = _sequences(design.conditions)
    flagged = [c for c in design.conditions if c != "none"]
    manifest_rows: list[dict[str, Any]] = []
    truth_rows: list[dict[str, Any]] = []
    overrides_base = dict(SHORT_NIGHT) if design.short else {}
    for p in range(design.participants):
        pid = f"P{p + 1:02d}"
        baseline = float(design.baseline_median_per_h * np.exp(design.baseline_sigma * rng.standard_normal()))
        order = seqs[p % len(seqs)]
        k = 0
        for period, condition in enumerate(order):
            for j in range(design.nights):
                night = f"n{k + 1:02d}"
                start = DEFAULT_START + dt.timedelta(days=k)
                ivs, extra = condition_interventions(design, condition, design.hours, j, start)
                rate = (baseline * (1 - design.night_spread), baseline * (1 + design.night_spread))
                seed = design.seed * 100_000 + p * 1000 + k + 1
                sim = simulate_night(
                    design.profile, hours=design.hours, rate_hz=design.rate_hz, seed=seed, start=start,
                    interventions=ivs, **{**overrides_base, "plm_rate_range_per_h": rate, **extra},
                )
                folder = out / pid / night
                paths = write_night(sim, folder)
                rel = folder.relative_to(out)
                manifest_rows.append(
                    {"path": str(rel / paths["recording"].name), "participant": pid, "night": night,
                     "diary": str(rel / paths["diary"].name), "pad_log": str(rel / paths["pad_log"].name),
                     **{f"condition_{c}": int(c == condition) for c in flagged},
                     "period": period + 1, "sequence": "-".join(order)}
                )
                factor = float(np.prod([iv.plm_factor for iv in ivs])) if ivs else 1.0
                idx = sim.summary["indices"]
                truth_rows.append(
                    {"participant": pid, "night": night, "recording_start": start.isoformat(), "condition": condition,
                     "period": period + 1, "night_in_block": j + 1, "baseline_plm_rate_per_h": round(baseline, 4),
                     "plm_rate_factor": round(factor, 6), "true_plms_index": idx.get("plms_index"),
                     "true_tst_h": sim.summary.get("tst_h", idx.get("tst_h")), "seed": seed}
                )
                k += 1
    columns = ["path", "participant", "night", "diary", "pad_log", *[f"condition_{c}" for c in flagged],
               "period", "sequence"]
    atomic_write_text(out / "manifest.csv", pd.DataFrame(manifest_rows, columns=columns).to_csv(index=False, lineterminator="\n"))
    atomic_write_text(out / "study_truth.csv", pd.DataFrame(truth_rows).to_csv(index=False, lineterminator="\n"))
    truth = {
        "design": {k: (dict(v) if isinstance(v, Mapping) else list(v) if isinstance(v, tuple) else v)
                   for k, v in dataclasses.asdict(design).items()},
        "sequences": ["-".join(s) for s in seqs],
        # the true effect of each condition: the factor on the PLM series rate (1 = none); the
        # percent change is what a comparison of PLMS index with the `none` nights should recover
        "effects": {c: {"plm_factor": design.factor(c), "percent_change": round(100.0 * (design.factor(c) - 1.0), 3)}
                    for c in design.conditions if c != "none"},
        "n_nights": len(truth_rows),
    }
    atomic_write_text(out / "study_truth.json", json.dumps(truth, indent=2) + "\n")
    return out / "manifest.csv"
