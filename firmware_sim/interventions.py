"""Simulated interventions with a known effect on the PLM series rate, and how they are logged.

An :class:`Intervention` multiplies the rate of periodic-series movements in sleep by
:attr:`Intervention.plm_factor` while it acts (0.75: a quarter fewer PLMs):

* a **period** (``start_s`` to ``end_s``, e.g. a foot wrap worn from lights off to lights on) acts
  while it lasts;
* a **time** (``start_s``, e.g. a dose taken at 21:00) acts from then on, reaching its full effect
  linearly over ``ramp_s`` (a drug's time to peak concentration);
* a **night** effect (``kind="night"``) acts over the whole recording: the pad in a crossover study,
  or the nights after an iron infusion, whose factor :func:`infusion_factor` gives per night.

How the effect is applied (:func:`apply_plm_effects`): when the multiplier is the same over the
whole recording, the night's PLM rate range (``plm_rate_range_per_h``) is scaled, so the expected
true PLMS index scales exactly by the factor; otherwise each generated series is kept with
probability equal to the multiplier at its first movement (a series is dropped whole, so the
periodicity of those left is unchanged and the expected PLM count scales by the multiplier). The
draws use a random stream of their own, so a night without interventions is unchanged.

The diary rows (:func:`diary_rows`) are what a participant would log: the wrap on and off, the dose
and its time, the infusion's date, in the documented ``intervention`` row format.

Effect sizes are parameters; the defaults of :data:`DEFAULT_EFFECTS` and the evidence behind them
are in docs/simulator.md ("Interventions").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lmdetect.errors import ConfigError

__all__ = [
    "Intervention",
    "KINDS",
    "DEFAULT_EFFECTS",
    "EFFECTS_STREAM",
    "infusion_factor",
    "plm_multiplier",
    "constant_multiplier",
    "apply_plm_effects",
    "diary_rows",
]

#: Kinds of intervention: a period, a time (with a ramp to full effect), the whole night.
KINDS = ("period", "time", "night")

#: Spawn key of the random stream that thins PLM series (beyond :data:`firmware_sim.night.STREAMS`).
EFFECTS_STREAM = 100

#: Default PLM-rate factors of the crossover generator (docs/simulator.md, "Interventions").
DEFAULT_EFFECTS: dict[str, float] = {"pad": 0.85, "foot_wrap": 0.75, "ropinirole": 0.5, "iron_infusion": 0.7}


@dataclasses.dataclass(frozen=True)
class Intervention:
    """One intervention of a simulated night.

    Attributes
    ----------
    name
        Lower-case letters, digits and ``_`` (the diary's ``name``; the condition).
    kind
        ``period``, ``time`` or ``night`` (:data:`KINDS`).
    plm_factor
        Multiplier of the PLM series rate at full effect (> 0; 1 = no effect).
    start_s, end_s
        Seconds since the recording start (a time may lie before it: a dose at 21:00); ``end_s``
        only for a period.
    ramp_s
        For a time: seconds from the dose to its full effect (s).
    dose
        Logged dose text (``0.25 mg``), or "".
    date
        For a diary row logged by date alone (an infusion): the date; None otherwise.
    logged
        Write a diary row for it (False for the pad, which has its pad log, and for the nights
        after an infusion, whose diary shows nothing).
    """

    name: str
    kind: str
    plm_factor: float
    start_s: float | None = None
    end_s: float | None = None
    ramp_s: float = 0.0
    dose: str = ""
    date: dt.date | None = None
    logged: bool = True

    def __post_init__(self) -> None:
        from lmdetect.io.diary import INTERVENTION_NAME

        if not INTERVENTION_NAME.fullmatch(self.name):
            raise ConfigError(f"intervention name {self.name!r}: lower-case letters, digits and _")
        if self.kind not in KINDS:
            raise ConfigError(f"intervention kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if not (self.plm_factor > 0 and math.isfinite(self.plm_factor)):
            raise ConfigError(f"plm_factor must be a positive number, got {self.plm_factor!r}")
        if self.kind in ("period", "time") and self.start_s is None:
            raise ConfigError(f"a {self.kind} intervention needs start_s")
        if self.kind == "period" and (self.end_s is None or self.end_s <= self.start_s):  # type: ignore[operator]
            raise ConfigError("a period intervention needs end_s after start_s")
        if self.ramp_s < 0:
            raise ConfigError(f"ramp_s must be >= 0, got {self.ramp_s!r}")

    def factor_at(self, t_s: np.ndarray) -> np.ndarray:
        """The rate multiplier at times ``t_s`` (s since the recording start)."""
        t = np.asarray(t_s, dtype=np.float64)
        if self.kind == "night":
            return np.full(t.shape, self.plm_factor)
        a = float(self.start_s)  # type: ignore[arg-type]
        if self.kind == "period":
            inside = (t >= a) & (t < float(self.end_s))  # type: ignore[arg-type]
            return np.where(inside, self.plm_factor, 1.0)
        reached = np.clip((t - a) / self.ramp_s, 0.0, 1.0) if self.ramp_s > 0 else (t >= a).astype(float)
        return 1.0 + (self.plm_factor - 1.0) * reached

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the truth file's ``interventions`` rows)."""
        d = dataclasses.asdict(self)
        d["date"] = self.date.isoformat() if self.date else None
        return d


def infusion_factor(full_factor: float, days_since: float, tau_days: float = 14.0) -> float:
    """Factor on a night ``days_since`` days after an infusion: 1 before it, approaching
    ``full_factor`` as ``1 - exp(-days / tau_days)`` after it (a gradual improvement)."""
    if days_since < 0:
        return 1.0
    return 1.0 + (full_factor - 1.0) * (1.0 - math.exp(-days_since / tau_days))


def plm_multiplier(interventions: Sequence[Intervention], t_s: np.ndarray) -> np.ndarray:
    """Product of the interventions' factors at ``t_s``."""
    m = np.ones(np.shape(t_s))
    for iv in interventions:
        m = m * iv.factor_at(t_s)
    return m


def constant_multiplier(interventions: Sequence[Intervention], duration_s: float) -> float | None:
    """The multiplier when it is the same over ``[0, duration_s)``, else None."""
    grid = np.linspace(0.0, duration_s, 2001, endpoint=False)
    m = plm_multiplier(interventions, grid)
    return float(m[0]) if np.ptp(m) < 1e-12 else None


def apply_plm_effects(
    schedule: pd.DataFrame, interventions: Sequence[Intervention], rng: np.random.Generator
) -> pd.DataFrame:
    """Drop whole PLM series with probability ``1 - multiplier`` at their first movement.

    ``schedule`` is :func:`firmware_sim.events.schedule_movements` output; rows of other sources
    stay. A multiplier above 1 (a worsening) cannot be had by thinning and is an error here (use a
    constant multiplier, which scales the rate range instead).
    """
    series = schedule.loc[schedule["gen_series"] >= 0]
    if series.empty:
        return schedule
    first = series.groupby("gen_series")["onset_s"].min()
    m = plm_multiplier(interventions, first.to_numpy())
    if (m > 1.0 + 1e-12).any():
        raise ConfigError("a PLM factor above 1 that varies within the night cannot be simulated")
    keep = rng.random(len(first)) < m
    dropped = set(first.index[~keep].tolist())
    return schedule.loc[~schedule["gen_series"].isin(dropped)].reset_index(drop=True)


def diary_rows(interventions: Sequence[Intervention], start: dt.datetime) -> list[dict[str, Any]]:
    """Diary rows (:data:`lmdetect.model.DIARY_COLUMNS`) for the logged interventions: times to the
    minute as a participant notes them."""

    def clock(t_s: float) -> pd.Timestamp:
        return (pd.Timestamp(start) + pd.Timedelta(seconds=t_s)).round("60s")

    rows = []
    for iv in interventions:
        if not iv.logged:
            continue
        row = {"kind": "intervention", "start": pd.NaT, "end": pd.NaT, "severity": np.nan, "note": "",
               "name": iv.name, "dose": iv.dose, "date": None}
        if iv.date is not None:
            row["date"] = iv.date
        elif iv.kind in ("period", "time"):
            row["start"] = clock(float(iv.start_s))  # type: ignore[arg-type]
            if iv.kind == "period":
                row["end"] = clock(float(iv.end_s))  # type: ignore[arg-type]
        else:
            continue  # a night effect without a date has nothing to log
        rows.append(row)
    return rows
