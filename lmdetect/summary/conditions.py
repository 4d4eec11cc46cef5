"""Conditions (pad, foot wrap, a medication, ...): night-level comparisons, before/after a start date,
and within-participant effects across a cohort.

Pure statistics on a night table: one row per night with a metric column (``plms_per_h`` in the
cohort table, ``PLMS/h`` in the multi-night table) and one boolean column ``condition_<name>`` per
condition (:data:`CONDITION_PREFIX`). Conditions are read from those columns only.

Three analyses:

:func:`compare_conditions`
    Per condition, nights with that condition alone against reference nights (none of the compared
    conditions): ratio of means with a percentile bootstrap interval, the method of
    :func:`lmdetect.summary.multinight.pad_comparison`, and the same caution below
    :data:`~lmdetect.summary.multinight.MIN_NIGHTS_PER_GROUP` nights per group.
:func:`before_after`
    Nights before vs after a start date (an iron infusion, a new medication) with a washout window
    left out, and a segmented regression (interrupted time series) with a pre-trend, so a slow
    improvement that started before the date is not mistaken for a step (Wagner et al., J Clin Pharm
    Ther 2002;27:299-309; Bernal et al., Int J Epidemiol 2017;46:348-355).
:func:`cohort_effects`
    Within-participant effects over many participants: a linear mixed model with a random intercept
    per participant (statsmodels MixedLM, extra ``stats``) or, without statsmodels or when asked, a
    paired t-test of per-participant means (scipy).

Why the log scale: PLM indices are right-skewed and vary multiplicatively from night to night
(Skeba et al., Sleep Med 2016: night-to-night variability of PLMS/h 43 %), so effects are estimated
on ``log(value + offset)`` and reported as ratios (0.7 = 30 % fewer). The offset is 0 when every
value is positive, else 1 (per hour), stated in the result.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import ConfigError
from .multinight import MIN_NIGHTS_PER_GROUP

__all__ = [
    "CONDITION_PREFIX",
    "condition_names",
    "ConditionComparison",
    "compare_conditions",
    "BeforeAfter",
    "before_after",
    "CohortEffect",
    "CohortEffects",
    "cohort_effects",
]

#: Columns ``condition_<name>`` (bool) mark the nights with condition ``name``.
CONDITION_PREFIX = "condition_"


def condition_names(table: pd.DataFrame) -> list[str]:
    """The conditions of a table: the names of its ``condition_<name>`` columns, in column order."""
    return [str(c)[len(CONDITION_PREFIX):] for c in table.columns if str(c).startswith(CONDITION_PREFIX)]


def _mask(table: pd.DataFrame, name: str) -> NDArray[np.bool_]:
    col = CONDITION_PREFIX + name
    if col not in table.columns:
        have = ", ".join(condition_names(table)) or "none"
        raise ConfigError(f"no condition {name!r} (column {col}); the table's conditions are: {have}")
    v = table[col]
    if v.isna().any():
        raise ConfigError(f"column {col} has missing values; mark every night True or False")
    return v.astype(bool).to_numpy()


def _values(table: pd.DataFrame, column: str) -> NDArray[np.float64]:
    if column not in table.columns:
        raise ConfigError(f"no column {column!r} in the table")
    return pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)


def _check_settings(n_boot: int, seed: int, confidence: float) -> None:
    if not (isinstance(n_boot, int) and n_boot >= 100):
        raise ConfigError(f"n_boot must be an integer >= 100, got {n_boot!r}")
    if not (isinstance(seed, int) and seed >= 0):
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if not (0.5 <= confidence <= 0.999):
        raise ConfigError(f"confidence must be within [0.5, 0.999], got {confidence!r}")


def _too_few(n: int, what: str) -> str:
    return (
        f"Only {n} {what} night{'s' if n != 1 else ''} (fewer than {MIN_NIGHTS_PER_GROUP}). PLM indices vary "
        "widely between one person's nights (Trotti et al., Sleep Med 2009: 25/h between the lowest and "
        f"highest night on average), so a comparison needs at least {MIN_NIGHTS_PER_GROUP} nights per condition; "
        "treat this one as preliminary."
    )


def _bootstrap_ratio(
    xa: NDArray[np.float64], xb: NDArray[np.float64], *, n_boot: int, seed: int, confidence: float
) -> tuple[float | None, float | None, NDArray[np.float64], list[str]]:
    """Percentile bootstrap interval of mean(xa) / mean(xb), resampling within each group."""
    notes: list[str] = []
    if xa.size < 2 or xb.size < 2:
        if xa.size and xb.size:
            notes.append("A confidence interval needs at least 2 nights in each group.")
        return None, None, np.zeros(0), notes
    rng = np.random.default_rng(seed)
    ma = xa[rng.integers(0, xa.size, size=(n_boot, xa.size))].mean(axis=1)
    mb = xb[rng.integers(0, xb.size, size=(n_boot, xb.size))].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        reps = ma / mb
    reps = reps[~np.isnan(reps)]
    if not reps.size or xb.mean() <= 0:
        return None, None, reps, notes
    alpha = 1.0 - confidence
    lo, hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
    if not math.isfinite(hi):
        notes.append("The upper confidence limit is unbounded: some resamples of reference nights had a mean of 0.")
        return float(lo), None, reps, notes
    return float(lo), float(hi), reps, notes


def _log_offset(y: NDArray[np.float64]) -> float:
    return 0.0 if bool((y > 0).all()) else 1.0


# --------------------------------------------------------------------------- night-level comparison


@dataclasses.dataclass(frozen=True)
class ConditionComparison:
    """Nights with one condition against reference nights: ratio of means, bootstrap interval.

    Attributes
    ----------
    condition
        The condition's name (column ``condition_<name>``).
    column
        The metric compared.
    reference
        The conditions absent on reference nights (the compared ones).
    n_with, n_reference
        Nights with a value: with this condition alone / with none of the compared conditions.
    n_overlap
        Nights with this condition and another compared one, left out of this comparison.
    n_excluded
        Nights without a value of the metric.
    mean_with, mean_reference
        Group means (units of the metric).
    ratio, ci_low, ci_high
        ``mean_with / mean_reference`` and its percentile bootstrap interval (None when not defined).
    confidence, n_boot, seed
        Interval settings.
    cautions
        Plain-language cautions (too few nights, overlaps, ...).
    replicates
        Bootstrap ratios (for plotting); not in :meth:`to_dict`.
    """

    condition: str
    column: str
    reference: tuple[str, ...]
    n_with: int
    n_reference: int
    n_overlap: int
    n_excluded: int
    mean_with: float | None
    mean_reference: float | None
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    n_boot: int
    seed: int
    cautions: tuple[str, ...]
    replicates: NDArray[np.float64] = dataclasses.field(repr=False, compare=False)

    @property
    def flagged(self) -> bool:
        """True when the interval excludes a ratio of 1 (no effect)."""
        return self.ci_low is not None and (self.ci_low > 1 or (self.ci_high is not None and self.ci_high < 1))

    @property
    def method(self) -> str:
        ref = ", ".join(self.reference)
        return (
            f"Ratio of the mean {self.column} of nights with {self.condition} (and none of the other compared "
            f"conditions) to that of reference nights (none of: {ref}). Its {100 * self.confidence:g} % "
            f"confidence interval is the percentile interval of {self.n_boot} bootstrap resamples (Efron & "
            "Tibshirani, An Introduction to the Bootstrap, 1993), nights drawn with replacement within each "
            f"group, numpy's default generator seeded with {self.seed}. Nights are treated as independent and "
            "exchangeable within a group; a trend over nights is not modelled (see the before/after analysis)."
        )

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "replicates"}
        d["reference"] = list(self.reference)
        d["cautions"] = list(self.cautions)
        d["flagged"] = self.flagged
        d["method"] = self.method
        return d


def compare_conditions(
    table: pd.DataFrame,
    conditions: Sequence[str],
    column: str = "plms_per_h",
    *,
    n_boot: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[ConditionComparison, ...]:
    """Compare ``column`` between nights with each condition and reference nights, side by side.

    Parameters
    ----------
    table
        One row per night with ``column`` and a boolean ``condition_<name>`` per condition.
    conditions
        Conditions to compare (at least one, no repeats). Reference nights have none of them; a night
        with several is left out (counted in ``n_overlap``).
    column
        The metric (nights without a value are left out).
    n_boot, seed, confidence
        Bootstrap settings (n_boot >= 100; same seed, same interval; confidence in [0.5, 0.999]).

    Returns
    -------
    tuple of ConditionComparison
        One per condition, in the order given.
    """
    names = list(conditions)
    if not names:
        raise ConfigError("name at least one condition to compare")
    if len(set(names)) != len(names):
        raise ConfigError(f"conditions repeated: {', '.join(names)}")
    _check_settings(n_boot, seed, confidence)
    y = _values(table, column)
    ok = np.isfinite(y)
    masks = {n: _mask(table, n) for n in names}
    count = np.sum([m.astype(int) for m in masks.values()], axis=0)
    ref = ok & (count == 0)
    out = []
    for i, name in enumerate(names):
        alone = masks[name] & (count == 1)
        xa, xb = y[alone & ok], y[ref]
        cautions = [_too_few(n, what) for n, what in ((xa.size, name), (xb.size, "reference"))
                    if n < MIN_NIGHTS_PER_GROUP]
        overlap = int((masks[name] & (count > 1)).sum())
        if overlap:
            cautions.append(f"{overlap} night{'s' if overlap != 1 else ''} with {name} and another compared "
                            "condition left out.")
        excluded = int((masks[name] & ~ok).sum())
        if excluded:
            cautions.append(f"{excluded} {name} night{'s' if excluded != 1 else ''} without a {column} value left out.")
        mean_a = float(xa.mean()) if xa.size else None
        mean_b = float(xb.mean()) if xb.size else None
        ratio = None
        if mean_a is not None and mean_b is not None:
            if mean_b > 0:
                ratio = mean_a / mean_b
            else:
                cautions.append(f"The reference nights have a mean {column} of 0: the ratio is not defined.")
        else:
            cautions.append(f"No {name if not xa.size else 'reference'} nights with a {column} value: "
                            "nothing to compare.")
        lo, hi, reps, notes = _bootstrap_ratio(xa, xb, n_boot=n_boot, seed=seed + i, confidence=confidence)
        if ratio is None:
            lo = hi = None
        cautions.extend(notes)
        out.append(ConditionComparison(
            condition=name, column=column, reference=tuple(names), n_with=int(xa.size), n_reference=int(xb.size),
            n_overlap=overlap, n_excluded=excluded, mean_with=mean_a, mean_reference=mean_b, ratio=ratio,
            ci_low=lo, ci_high=hi, confidence=float(confidence), n_boot=n_boot, seed=seed + i,
            cautions=tuple(cautions), replicates=reps,
        ))
    return tuple(out)


# --------------------------------------------------------------------------- before / after


def night_dates(table: pd.DataFrame) -> NDArray[np.datetime64]:
    """Each night's evening date: a ``date`` / ``night_date`` column, else ``recording_start`` - 12 h.

    ``recording_start`` is taken in its own time zone (the cohort table stores UTC, where a night
    starting 22:00-02:00 local stays on its evening for offsets within +-10 h).
    """
    for col in ("night_date", "date", "Date"):
        if col in table.columns:
            d = pd.to_datetime(table[col], errors="coerce")
            break
    else:
        if "recording_start" not in table.columns:
            raise ConfigError("the table has no night_date, Date or recording_start column to date its nights")
        start = pd.to_datetime(table["recording_start"], errors="coerce", utc=True)
        d = (start - pd.Timedelta(hours=12)).dt.tz_localize(None).dt.normalize()
    if d.isna().any():
        raise ConfigError(f"{int(d.isna().sum())} nights without a valid date")
    return d.to_numpy(dtype="datetime64[D]")


@dataclasses.dataclass(frozen=True)
class BeforeAfter:
    """Nights before vs after a start date, with a washout window and a segmented regression.

    The regression (on ``log(value + log_offset)``, days ``t`` from the start date, ``post`` = 1 on
    nights after the washout)::

        log(y) = b0 + b1 * t + b2 * post + b3 * (t - washout_days) * post + error

    ``b1`` is the pre-trend (per night), ``exp(b2)`` the level change at the end of the washout
    relative to the pre-trend carried forward (a ratio), ``b3`` the change of slope. Ordinary
    least squares, errors independent with constant variance; intervals from the t distribution
    with n - 4 degrees of freedom.

    Attributes
    ----------
    name, column
        The change (e.g. ``iron_infusion``) and the metric.
    start, washout_days
        The start date and the days after it left out (nights dated start ... start + washout - 1).
    n_before, n_washout, n_after
        Nights with a value in each period.
    mean_before, mean_after, ratio, ci_low, ci_high
        The naive comparison: means, their ratio and its bootstrap interval (ignores trends).
    level_ratio, level_low, level_high, level_p
        ``exp(b2)``, its interval and the two-sided p value; None with fewer than 3 nights on each side.
    pre_slope, pre_slope_low, pre_slope_high
        ``b1`` on the log scale per night (0.01 ~ 1 % more per night) and its interval.
    slope_change, slope_change_low, slope_change_high
        ``b3`` and its interval.
    residual_autocorrelation
        Lag-1 autocorrelation of the regression residuals (in date order).
    log_offset, confidence, n_boot, seed
        Settings.
    cautions
        Plain-language cautions.
    days, values, period
        Per night: days from the start, the metric, and ``before`` / ``washout`` / ``after`` (for the
        figure; not in :meth:`to_dict`).
    """

    name: str
    column: str
    start: dt.date
    washout_days: int
    n_before: int
    n_washout: int
    n_after: int
    mean_before: float | None
    mean_after: float | None
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    level_ratio: float | None
    level_low: float | None
    level_high: float | None
    level_p: float | None
    pre_slope: float | None
    pre_slope_low: float | None
    pre_slope_high: float | None
    slope_change: float | None
    slope_change_low: float | None
    slope_change_high: float | None
    residual_autocorrelation: float | None
    log_offset: float
    confidence: float
    n_boot: int
    seed: int
    cautions: tuple[str, ...]
    days: NDArray[np.float64] = dataclasses.field(repr=False, compare=False)
    values: NDArray[np.float64] = dataclasses.field(repr=False, compare=False)
    period: tuple[str, ...] = dataclasses.field(repr=False, compare=False)
    coefficients: tuple[float, ...] | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def flagged(self) -> bool:
        """True when the level change's interval excludes a ratio of 1."""
        return self.level_low is not None and self.level_high is not None and (self.level_low > 1 or self.level_high < 1)

    @property
    def method(self) -> str:
        off = f" + {self.log_offset:g}" if self.log_offset else ""
        return (
            f"Segmented regression (interrupted time series; Wagner et al., J Clin Pharm Ther 2002;27:299-309; "
            f"Bernal et al., Int J Epidemiol 2017;46:348-355) of log({self.column}{off}) on the days t from "
            f"{self.start.isoformat()}: log y = b0 + b1 t + b2 post + b3 (t - {self.washout_days}) post, post = 1 "
            f"after the {self.washout_days}-day washout (nights in the washout left out). exp(b2) is the level "
            "change relative to the pre-trend carried forward, so a slow improvement that began before the date "
            "shows as a pre-trend b1, not as a step. Ordinary least squares; residuals assumed independent with "
            f"constant variance; {100 * self.confidence:g} % intervals from the t distribution with n - 4 degrees "
            "of freedom. The before/after ratio of means beside it uses the percentile bootstrap (nights "
            f"resampled within each period, {self.n_boot} resamples, seed {self.seed}) and ignores trends."
        )

    def to_dict(self) -> dict[str, Any]:
        skip = {"days", "values", "period", "coefficients"}
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skip}
        d["start"] = self.start.isoformat()
        d["cautions"] = list(self.cautions)
        d["flagged"] = self.flagged
        d["method"] = self.method
        return d


def _ols(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64], int,
                                                                  NDArray[np.float64]]:
    """OLS coefficients, their standard errors, residual degrees of freedom and residuals."""
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    df = x.shape[0] - x.shape[1]
    s2 = float(resid @ resid) / df
    cov = s2 * np.linalg.pinv(x.T @ x)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    return np.asarray(beta, dtype=np.float64), np.asarray(se, dtype=np.float64), int(df), resid


def before_after(
    table: pd.DataFrame,
    name: str,
    start: dt.date | str,
    column: str = "plms_per_h",
    *,
    washout_days: int = 0,
    n_boot: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> BeforeAfter:
    """Nights before vs after ``start``: the naive ratio and a trend-aware segmented regression.

    Parameters
    ----------
    table
        One row per night of one participant with ``column`` and a date (:func:`night_dates`).
    name
        What changed on ``start`` (a label, e.g. ``iron_infusion``).
    start
        The first night (evening date) of the change, a date or ``YYYY-MM-DD``.
    column
        The metric.
    washout_days
        Nights dated ``start`` to ``start + washout_days - 1`` are left out (>= 0).
    n_boot, seed, confidence
        Bootstrap and interval settings.

    Returns
    -------
    BeforeAfter
    """
    if isinstance(start, str):
        try:
            start = dt.date.fromisoformat(start)
        except ValueError:
            raise ConfigError(f"start date {start!r} is not YYYY-MM-DD") from None
    if not (isinstance(washout_days, int) and washout_days >= 0):
        raise ConfigError(f"washout_days must be a non-negative integer, got {washout_days!r}")
    _check_settings(n_boot, seed, confidence)
    y_all = _values(table, column)
    days_all = (night_dates(table) - np.datetime64(start, "D")).astype(np.float64)
    ok = np.isfinite(y_all)
    order = np.argsort(days_all[ok], kind="stable")
    y, t = y_all[ok][order], days_all[ok][order]
    period = np.where(t < 0, "before", np.where(t < washout_days, "washout", "after"))
    pre, post = y[period == "before"], y[period == "after"]
    cautions = [_too_few(int(n), what) for n, what in ((pre.size, "before"), (post.size, "after"))
                if n < MIN_NIGHTS_PER_GROUP]
    if (~ok).sum():
        cautions.append(f"{int((~ok).sum())} nights without a {column} value left out.")
    mean_b = float(pre.mean()) if pre.size else None
    mean_a = float(post.mean()) if post.size else None
    ratio = lo = hi = None
    if mean_b is not None and mean_a is not None and mean_b > 0:
        ratio = mean_a / mean_b
        lo, hi, _, notes = _bootstrap_ratio(post, pre, n_boot=n_boot, seed=seed, confidence=confidence)
        cautions.extend(notes)
    keep = period != "washout"
    yk, tk = y[keep], t[keep]
    offset = _log_offset(yk) if yk.size else 0.0
    if offset:
        cautions.append(f"Some nights have a {column} of 0: the regression uses log({column} + 1).")
    lvl: tuple[float | None, ...] = (None, None, None, None)
    slope: tuple[float | None, ...] = (None, None, None)
    change: tuple[float | None, ...] = (None, None, None)
    rho = None
    coefs = None
    if pre.size >= 3 and post.size >= 3:
        p = (tk >= washout_days).astype(np.float64)
        x = np.column_stack([np.ones_like(tk), tk, p, (tk - washout_days) * p])
        beta, se, df, resid = _ols(x, np.log(yk + offset))
        from scipy import stats  # lazy: reading and writing night folders needs no scipy
        q = float(stats.t.ppf(0.5 + confidence / 2, df))

        def ci(k: int) -> tuple[float, float, float]:
            return float(beta[k]), float(beta[k] - q * se[k]), float(beta[k] + q * se[k])

        b2, b2_lo, b2_hi = ci(2)
        pval = float(2 * stats.t.sf(abs(b2 / se[2]), df)) if se[2] > 0 else None
        lvl = (math.exp(b2), math.exp(b2_lo), math.exp(b2_hi), pval)
        slope, change = ci(1), ci(3)
        coefs = tuple(float(b) for b in beta)
        if resid.size >= 3 and np.std(resid) > 0:
            rho = float(np.corrcoef(resid[:-1], resid[1:])[0, 1])
            if rho > 0.3:
                cautions.append(
                    f"The residuals are autocorrelated (lag-1 r = {rho:.2f}): consecutive nights are not "
                    "independent, so the regression's intervals are too narrow."
                )
    else:
        cautions.append("The trend-aware comparison needs at least 3 nights before and 3 after the washout.")
    return BeforeAfter(
        name=name, column=column, start=start, washout_days=washout_days, n_before=int(pre.size),
        n_washout=int((period == "washout").sum()), n_after=int(post.size), mean_before=mean_b, mean_after=mean_a,
        ratio=ratio, ci_low=lo, ci_high=hi, level_ratio=lvl[0], level_low=lvl[1], level_high=lvl[2],
        level_p=lvl[3], pre_slope=slope[0], pre_slope_low=slope[1], pre_slope_high=slope[2],
        slope_change=change[0], slope_change_low=change[1], slope_change_high=change[2],
        residual_autocorrelation=rho, log_offset=offset, confidence=float(confidence), n_boot=n_boot, seed=seed,
        cautions=tuple(cautions), days=t, values=y, period=tuple(period.tolist()), coefficients=coefs,
    )


# --------------------------------------------------------------------------- across a cohort

MIXED = "mixed"
PAIRED = "paired"

MIXED_ASSUMPTIONS = (
    "Linear mixed model (statsmodels MixedLM, REML; Laird & Ware, Biometrics 1982;38:963-974) of log({col}) "
    "on one indicator per condition with a random intercept per participant: each participant has their own "
    "level, the conditions shift it by the same factor in everyone, and nights are independent given the "
    "participant, with normal residuals of one variance on the log scale. Wald {conf} % intervals. Nights "
    "with several conditions count for each (effects add on the log scale). Trends and carry-over between "
    "nights are not modelled."
)
PAIRED_ASSUMPTIONS = (
    "Paired t-test (scipy.stats.ttest_rel; Student, Biometrika 1908) of per-participant means of log({col}): "
    "for each participant the mean over nights with the condition alone minus the mean over reference nights "
    "(none of the compared conditions); participants without both kinds of night are left out. Assumes "
    "participants are independent and their differences roughly normal on the log scale; {conf} % interval "
    "from the t distribution with (participants - 1) degrees of freedom. Trends and carry-over between nights "
    "are not modelled."
)


@dataclasses.dataclass(frozen=True)
class CohortEffect:
    """A condition's within-participant effect across a cohort, as a ratio.

    Attributes
    ----------
    condition
        The condition's name.
    ratio, ci_low, ci_high, p_value
        ``exp`` of the effect on the log scale (0.7 = 30 % lower), its interval and two-sided p value.
    n_participants, n_nights
        Participants and nights with this condition that entered the estimate.
    """

    condition: str
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_participants: int
    n_nights: int

    @property
    def flagged(self) -> bool:
        """True when the interval excludes a ratio of 1 (no effect)."""
        return self.ci_low is not None and self.ci_high is not None and (self.ci_low > 1 or self.ci_high < 1)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["flagged"] = self.flagged
        return d


@dataclasses.dataclass(frozen=True, eq=False)
class CohortEffects:
    """Within-participant effects of several conditions, one method for all.

    Attributes
    ----------
    column, method, log_offset, confidence
        The metric, ``"mixed"`` or ``"paired"``, the offset of the log and the interval coverage.
    effects
        One :class:`CohortEffect` per condition, in the order asked.
    n_participants, n_nights
        Participants and nights in the analysis.
    random_intercept_sd, residual_sd
        Mixed model only: between-participant and night-to-night SD on the log scale.
    cautions
        Plain-language cautions (convergence, few participants, fallback).
    participant_means
        Per participant and condition (and ``reference``) the mean of the metric (for the figure).
    """

    column: str
    method: str
    log_offset: float
    confidence: float
    effects: tuple[CohortEffect, ...]
    n_participants: int
    n_nights: int
    random_intercept_sd: float | None
    residual_sd: float | None
    cautions: tuple[str, ...]
    participant_means: pd.DataFrame = dataclasses.field(repr=False)

    @property
    def assumptions(self) -> str:
        off = f" + {self.log_offset:g}" if self.log_offset else ""
        text = MIXED_ASSUMPTIONS if self.method == MIXED else PAIRED_ASSUMPTIONS
        return text.format(col=f"{self.column}{off}", conf=f"{100 * self.confidence:g}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "method": self.method,
            "assumptions": self.assumptions,
            "log_offset": self.log_offset,
            "confidence": self.confidence,
            "n_participants": self.n_participants,
            "n_nights": self.n_nights,
            "random_intercept_sd": self.random_intercept_sd,
            "residual_sd": self.residual_sd,
            "effects": [e.to_dict() for e in self.effects],
            "cautions": list(self.cautions),
        }


def _participant_means(y: NDArray[np.float64], who: NDArray[Any], masks: dict[str, NDArray[np.bool_]]) -> pd.DataFrame:
    count = np.sum([m.astype(int) for m in masks.values()], axis=0)
    groups = {"reference": count == 0} | {n: m & (count == 1) for n, m in masks.items()}
    frame = pd.DataFrame({"participant": who, "y": y})
    out = {g: frame[m].groupby("participant")["y"].mean() for g, m in groups.items()}
    return pd.DataFrame(out).reindex(sorted(set(who.tolist())))


def _mixed(ly: NDArray[np.float64], who: NDArray[Any], masks: dict[str, NDArray[np.bool_]], confidence: float,
           cautions: list[str]) -> tuple[list[tuple[float, float, float, float]], float | None, float | None]:
    import statsmodels.api as sm  # lazy: extra "stats"
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    x = np.column_stack([np.ones(ly.size)] + [m.astype(np.float64) for m in masks.values()])
    model = sm.MixedLM(ly, x, groups=who)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(reml=True)
    for w in caught:
        if issubclass(w.category, (ConvergenceWarning, RuntimeWarning, UserWarning)):
            cautions.append(f"Mixed model: {str(w.message).splitlines()[0]}")
    from scipy import stats  # lazy: reading and writing night folders needs no scipy
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    params, bse, pvals = np.asarray(fit.fe_params), np.asarray(fit.bse_fe), np.asarray(fit.pvalues)[: x.shape[1]]
    if not (np.isfinite(params).all() and np.isfinite(bse).all()):
        raise ValueError("the fit gave no finite estimates or standard errors")
    rows = [(float(params[k]), float(params[k] - z * bse[k]), float(params[k] + z * bse[k]), float(pvals[k]))
            for k in range(1, x.shape[1])]
    re_var = float(np.asarray(fit.cov_re)[0, 0])
    return rows, math.sqrt(max(re_var, 0.0)), math.sqrt(float(fit.scale))


def cohort_effects(
    table: pd.DataFrame,
    conditions: Sequence[str],
    column: str = "plms_per_h",
    *,
    method: str = "auto",
    confidence: float = 0.95,
    participant_column: str = "participant",
) -> CohortEffects:
    """Within-participant effects of ``conditions`` on ``column`` across the participants of a cohort table.

    Parameters
    ----------
    table
        The cohort table: ``participant_column``, ``column`` and ``condition_<name>`` per condition.
    conditions
        Conditions to estimate (at least one, no repeats).
    column
        The metric; nights without a value are left out.
    method
        ``"mixed"`` (statsmodels MixedLM; needs the ``stats`` extra), ``"paired"`` (scipy paired
        t-test of per-participant means) or ``"auto"`` (mixed when statsmodels is installed, else
        paired, with a caution).
    confidence
        Interval coverage in [0.5, 0.999].
    participant_column
        The participant id column.

    Returns
    -------
    CohortEffects
    """
    names = list(conditions)
    if not names:
        raise ConfigError("name at least one condition")
    if len(set(names)) != len(names):
        raise ConfigError(f"conditions repeated: {', '.join(names)}")
    if method not in ("auto", MIXED, PAIRED):
        raise ConfigError(f"method must be auto, mixed or paired, got {method!r}")
    if not (0.5 <= confidence <= 0.999):
        raise ConfigError(f"confidence must be within [0.5, 0.999], got {confidence!r}")
    if participant_column not in table.columns:
        raise ConfigError(f"no column {participant_column!r} in the cohort table")
    cautions: list[str] = []
    have_sm = importlib.util.find_spec("statsmodels") is not None
    if method == "auto":
        method = MIXED if have_sm else PAIRED
        if not have_sm:
            cautions.append("statsmodels is not installed (extra lmdetect[stats]): paired analysis of "
                            "per-participant means instead of the mixed model.")
    elif method == MIXED and not have_sm:
        raise ConfigError("the mixed model needs statsmodels: pip install 'lmdetect[stats]' (or use method paired)")
    y_all = _values(table, column)
    ok = np.isfinite(y_all)
    if (~ok).sum():
        cautions.append(f"{int((~ok).sum())} nights without a {column} value left out.")
    masks_all = {n: _mask(table, n) for n in names}
    y = y_all[ok]
    who = table[participant_column].astype(str).to_numpy()[ok]
    masks = {n: m[ok] for n, m in masks_all.items()}
    offset = _log_offset(y) if y.size else 0.0
    if offset:
        cautions.append(f"Some nights have a {column} of 0: the analysis uses log({column} + 1).")
    ly = np.log(y + offset)
    n_part = len(set(who.tolist()))
    if n_part < 10:
        cautions.append(f"Only {n_part} participants: between-participant variation is poorly estimated; "
                        "treat the intervals as preliminary.")
    means = _participant_means(y, who, masks)
    re_sd = res_sd = None
    # a condition on no night, or on every night, has no contrast: left out of the model, not estimated
    varies = {n: 0 < int(m.sum()) < m.size for n, m in masks.items()}
    for name, ok_ in varies.items():
        if not ok_:
            cautions.append(f"{name}: on {'every' if masks[name].any() else 'no'} night with a {column} value, "
                            "so it has no within-participant effect to estimate.")
    fitted = {n: m for n, m in masks.items() if varies[n]}
    rows: dict[str, tuple[float, float, float, float]] = {}
    if method == MIXED:
        if n_part < 2:
            raise ConfigError("the mixed model needs at least 2 participants")
        if fitted:
            try:
                est, re_sd, res_sd = _mixed(ly, who, fitted, confidence, cautions)
                rows = dict(zip(fitted, est, strict=True))
            except (np.linalg.LinAlgError, ValueError) as exc:
                # e.g. two conditions always on the same nights: their effects cannot be told apart
                cautions.append(f"The mixed model could not be fitted ({str(exc).splitlines()[0]}); paired analysis "
                                "of per-participant means instead.")
                method = PAIRED
    effects = []
    if method == MIXED:
        for name in names:
            m = masks[name]
            if name in rows:
                e, low, high, pv = rows[name]
                effects.append(CohortEffect(condition=name, ratio=math.exp(e), ci_low=math.exp(low),
                                            ci_high=math.exp(high), p_value=pv,
                                            n_participants=len(set(who[m].tolist())), n_nights=int(m.sum())))
            else:
                effects.append(CohortEffect(condition=name, ratio=None, ci_low=None, ci_high=None, p_value=None,
                                            n_participants=len(set(who[m].tolist())), n_nights=int(m.sum())))
    else:
        count = np.sum([m.astype(int) for m in masks.values()], axis=0)
        frame = pd.DataFrame({"p": who, "ly": ly})
        ref = frame[count == 0].groupby("p")["ly"].mean()
        for name in names:
            alone = masks[name] & (count == 1)
            cond = frame[alone].groupby("p")["ly"].mean()
            both = cond.index.intersection(ref.index)
            d = (cond[both] - ref[both]).to_numpy()
            ratio: float | None = None
            lo: float | None = None
            hi: float | None = None
            p: float | None = None
            if d.size >= 2 and np.std(d) > 0:
                from scipy import stats  # lazy: reading and writing night folders needs no scipy
                r = stats.ttest_rel(cond[both].to_numpy(), ref[both].to_numpy())
                ci = r.confidence_interval(confidence_level=confidence)
                ratio, lo, hi, p = math.exp(d.mean()), math.exp(ci.low), math.exp(ci.high), float(r.pvalue)
            elif varies[name]:
                cautions.append(f"{name}: fewer than 2 participants have nights with it and reference nights.")
            effects.append(CohortEffect(condition=name, ratio=ratio, ci_low=lo, ci_high=hi, p_value=p,
                                        n_participants=int(d.size), n_nights=int(alone.sum())))
    return CohortEffects(
        column=column, method=method, log_offset=offset, confidence=float(confidence), effects=tuple(effects),
        n_participants=n_part, n_nights=int(y.size), random_intercept_sd=re_sd, residual_sd=res_sd,
        cautions=tuple(cautions), participant_means=means,
    )
