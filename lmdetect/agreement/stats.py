"""Method-comparison statistics across nights: sensor against PSG (pure; numpy and scipy only).

- :func:`bland_altman` -- bias and 95 % limits of agreement with their confidence intervals, and a
  check for proportional bias (Bland & Altman 1986, 1999).
- :func:`icc_a1` -- ICC(A,1): two-way model, absolute agreement, single measures, with its F-based
  confidence interval (McGraw & Wong 1996, case 2A; Shrout & Fleiss 1979, ICC(2,1)).
- :func:`pearson_ci` -- Pearson r with the Fisher-z confidence interval.
- :func:`diagnostic_accuracy` -- sensitivity and specificity of the sensor's index at a clinical
  cut-off, the PSG as reference, with Wilson score intervals.
- :func:`bootstrap_ci` -- a seeded bootstrap interval of a statistic of the nights (resampling
  nights, :func:`scipy.stats.bootstrap`), percentile or BCa.

Differences are always *sensor - reference*; a positive bias means the sensor counts more.

References
----------
Bland JM, Altman DG. Statistical methods for assessing agreement between two methods of clinical
measurement. Lancet 1986;i:307-310.
Bland JM, Altman DG. Measuring agreement in method comparison studies. Stat Methods Med Res
1999;8:135-160.
Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater reliability. Psychol Bull
1979;86:420-428.
McGraw KO, Wong SP. Forming inferences about some intraclass correlation coefficients. Psychol
Methods 1996;1:30-46.
Fisher RA. On the "probable error" of a coefficient of correlation deduced from a small sample.
Metron 1921;1:3-32.
Wilson EB. Probable inference, the law of succession, and statistical inference. J Am Stat Assoc
1927;22:209-212.
Efron B. Better bootstrap confidence intervals. J Am Stat Assoc 1987;82:171-185.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from ..errors import ConfigError

__all__ = [
    "BlandAltman",
    "ICC",
    "Correlation",
    "DiagnosticAccuracy",
    "BootstrapCI",
    "BOOTSTRAP_METHODS",
    "bland_altman",
    "icc_a1",
    "pearson_ci",
    "diagnostic_accuracy",
    "proportion_ci",
    "bootstrap_ci",
]

#: Interval methods of :func:`bootstrap_ci` (names of :func:`scipy.stats.bootstrap`).
BOOTSTRAP_METHODS = ("BCa", "percentile")


def _num(v: Any) -> float | None:
    """A finite float, or None."""
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _check_confidence(confidence: float) -> None:
    if not (isinstance(confidence, float) and 0.5 <= confidence < 1.0):
        raise ConfigError(f"confidence must be a float in [0.5, 1), got {confidence!r}")


def _pairs(sensor: ArrayLike, reference: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The two series as float arrays, nights where either is missing (NaN) dropped."""
    s = np.asarray(sensor, dtype=np.float64).ravel()
    r = np.asarray(reference, dtype=np.float64).ravel()
    if s.shape != r.shape:
        raise ValueError(f"sensor and reference differ in length ({s.size} and {r.size})")
    ok = np.isfinite(s) & np.isfinite(r)
    return s[ok], r[ok]


def _todict(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


# --------------------------------------------------------------------------- Bland-Altman


@dataclasses.dataclass(frozen=True)
class BlandAltman:
    """Bland-Altman agreement of two methods (differences sensor - reference).

    Attributes
    ----------
    n
        Nights with both values.
    bias, bias_ci_low, bias_ci_high
        Mean difference and its t-based confidence interval.
    sd
        Sample standard deviation of the differences (ddof 1).
    loa_low, loa_high
        Limits of agreement, bias -/+ z * sd (z = 1.96 for 95 %; Bland & Altman 1986).
    loa_low_ci_low, loa_low_ci_high, loa_high_ci_low, loa_high_ci_high
        Confidence intervals of the limits: limit -/+ t(n-1) * sqrt(3 sd^2 / n), the approximate
        standard error of a limit (Bland & Altman 1986, section 'Precision of estimated limits').
    slope, slope_ci_low, slope_ci_high, slope_p
        Proportional bias: least-squares regression of the differences on the pair means, its
        slope with a t interval and the p-value of slope = 0 (Bland & Altman 1999, section 3.2).
        A slope whose interval excludes 0 means the bias grows (or shrinks) with the index.
    intercept
        Intercept of that regression.
    confidence
        Coverage of the limits and of every interval.
    """

    n: int
    bias: float | None
    bias_ci_low: float | None
    bias_ci_high: float | None
    sd: float | None
    loa_low: float | None
    loa_high: float | None
    loa_low_ci_low: float | None
    loa_low_ci_high: float | None
    loa_high_ci_low: float | None
    loa_high_ci_high: float | None
    slope: float | None
    slope_ci_low: float | None
    slope_ci_high: float | None
    slope_p: float | None
    intercept: float | None
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return _todict(self)


def bland_altman(sensor: ArrayLike, reference: ArrayLike, *, confidence: float = 0.95) -> BlandAltman:
    """Bias and limits of agreement of ``sensor`` against ``reference`` (same units, e.g. PLMS/h).

    Parameters
    ----------
    sensor, reference
        One value per night; nights where either is NaN are left out.
    confidence
        Coverage of the limits of agreement and of the confidence intervals (default 0.95).

    Returns
    -------
    BlandAltman
        Fields are None where undefined: everything with fewer than 2 nights, the intervals of
        the limits with fewer than 3 (an SD from 2 values has 1 degree of freedom but the limits
        need it too), the regression with fewer than 3 nights or when all means are equal.
    """
    _check_confidence(confidence)
    s, r = _pairs(sensor, reference)
    n = int(s.size)
    d = s - r
    none = dict.fromkeys(f.name for f in dataclasses.fields(BlandAltman) if f.name not in ("n", "confidence"))
    if n < 2:
        if n == 1:
            none["bias"] = float(d[0])
        return BlandAltman(n=n, confidence=confidence, **none)
    bias = float(d.mean())
    sd = float(d.std(ddof=1))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    t = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
    out = dict(none)
    half = t * sd / math.sqrt(n)
    out.update(bias=bias, bias_ci_low=bias - half, bias_ci_high=bias + half, sd=sd,
               loa_low=bias - z * sd, loa_high=bias + z * sd)
    if n >= 3:
        se_loa = math.sqrt(3.0 * sd * sd / n)  # Bland & Altman 1986
        for name, limit in (("loa_low", bias - z * sd), ("loa_high", bias + z * sd)):
            out[f"{name}_ci_low"] = limit - t * se_loa
            out[f"{name}_ci_high"] = limit + t * se_loa
        m = (s + r) / 2.0
        if np.ptp(m) > 0:
            fit = stats.linregress(m, d)
            tr = float(stats.t.ppf(0.5 + confidence / 2, n - 2))
            out.update(slope=_num(fit.slope), intercept=_num(fit.intercept), slope_p=_num(fit.pvalue))
            if out["slope"] is not None and math.isfinite(fit.stderr):
                out.update(slope_ci_low=float(fit.slope - tr * fit.stderr), slope_ci_high=float(fit.slope + tr * fit.stderr))
    return BlandAltman(n=n, confidence=confidence, **{k: _num(v) for k, v in out.items()})


# --------------------------------------------------------------------------- ICC(A,1)


@dataclasses.dataclass(frozen=True)
class ICC:
    """ICC(A,1) with the two-way ANOVA it comes from.

    Attributes
    ----------
    value
        ICC(A,1) = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n) (McGraw & Wong 1996,
        Table 4, case 2A; the ICC(2,1) of Shrout & Fleiss 1979).
    ci_low, ci_high
        Its confidence interval (McGraw & Wong 1996, Table 7, case 2A: F quantiles with the
        Satterthwaite degrees of freedom ``df_ci``).
    n, k
        Targets (nights) and raters (methods: 2 here).
    ms_rows, ms_columns, ms_error
        Mean squares of nights (MSR), of methods (MSC) and the residual (MSE).
    f, df1, df2, p
        F = MSR / MSE for ICC > 0, with (n-1, (n-1)(k-1)) degrees of freedom and its p-value.
    df_ci
        Satterthwaite degrees of freedom used by the interval.
    confidence
        Coverage of the interval.
    """

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    k: int
    ms_rows: float | None
    ms_columns: float | None
    ms_error: float | None
    f: float | None
    df1: int
    df2: int
    p: float | None
    df_ci: float | None
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return _todict(self)


def _two_way_mean_squares(x: NDArray[np.float64]) -> tuple[float, float, float]:
    """MSR, MSC, MSE of a two-way ANOVA without replication (rows = targets, columns = raters)."""
    n, k = x.shape
    grand = x.mean()
    ss_rows = k * float(((x.mean(axis=1) - grand) ** 2).sum())
    ss_cols = n * float(((x.mean(axis=0) - grand) ** 2).sum())
    ss_total = float(((x - grand) ** 2).sum())
    ss_err = ss_total - ss_rows - ss_cols
    return ss_rows / (n - 1), ss_cols / (k - 1), max(ss_err, 0.0) / ((n - 1) * (k - 1))


def icc_a1(ratings: ArrayLike, *, confidence: float = 0.95) -> ICC:
    """ICC(A,1): two-way random effects, absolute agreement, single measures.

    Parameters
    ----------
    ratings
        Array of shape (n targets, k raters), e.g. PLMS/h of n nights by (sensor, PSG). Rows with
        a NaN are left out.
    confidence
        Coverage of the interval (default 0.95).

    Returns
    -------
    ICC
        ``value`` and the interval are None with fewer than 2 complete rows, or when the error
        mean square and the spread of the rows are both 0 (ICC undefined); the interval is None
        also when the ICC is 1 (no error at all).

    Notes
    -----
    Absolute agreement counts a constant offset between the methods against them (unlike the
    consistency ICC(C,1) = ICC(3,1)), which is what a sensor validation needs: a sensor that
    reads 10/h too high is not interchangeable with the PSG.
    """
    _check_confidence(confidence)
    x = np.asarray(ratings, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"ratings must have shape (n targets, k >= 2 raters), got {x.shape}")
    x = x[np.isfinite(x).all(axis=1)]
    n, k = x.shape
    df1, df2 = n - 1, (n - 1) * (k - 1)
    empty = ICC(value=None, ci_low=None, ci_high=None, n=n, k=k, ms_rows=None, ms_columns=None, ms_error=None,
                f=None, df1=max(df1, 0), df2=max(df2, 0), p=None, df_ci=None, confidence=confidence)
    if n < 2:
        return empty
    msr, msc, mse = _two_way_mean_squares(x)
    denom = msr + (k - 1) * mse + k * (msc - mse) / n
    base = dataclasses.replace(empty, ms_rows=msr, ms_columns=msc, ms_error=mse)
    if denom <= 0:
        return base
    rho = (msr - mse) / denom
    f = msr / mse if mse > 0 else math.inf
    p = float(stats.f.sf(f, df1, df2)) if math.isfinite(f) else 0.0
    out = dataclasses.replace(base, value=rho, f=_num(f), p=p)
    if mse <= 0 or rho >= 1.0:
        return out
    # McGraw & Wong 1996, Table 7, case 2A
    a = k * rho / (n * (1.0 - rho))
    b = 1.0 + k * rho * (n - 1) / (n * (1.0 - rho))
    v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1)))
    q = 0.5 + confidence / 2
    f_star = float(stats.f.ppf(q, n - 1, v))
    f_star2 = float(stats.f.ppf(q, v, n - 1))
    c = k * msc + (k * n - k - n) * mse
    low = n * (msr - f_star * mse) / (f_star * c + n * msr)
    high = n * (f_star2 * msr - mse) / (c + n * f_star2 * msr)
    return dataclasses.replace(out, ci_low=_num(low), ci_high=_num(high), df_ci=_num(v))


# --------------------------------------------------------------------------- Pearson r


@dataclasses.dataclass(frozen=True)
class Correlation:
    """Pearson r with its Fisher-z interval (``ci_*`` None with fewer than 4 nights) and p-value."""

    r: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None
    n: int
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return _todict(self)


def pearson_ci(sensor: ArrayLike, reference: ArrayLike, *, confidence: float = 0.95) -> Correlation:
    """Pearson correlation of the two series and its confidence interval.

    The interval is tanh(atanh(r) -/+ z / sqrt(n - 3)) (Fisher 1921), as
    :meth:`scipy.stats.PearsonRResult.confidence_interval` computes it. None where undefined
    (fewer than 3 nights for r, 4 for the interval, or a constant series).
    """
    _check_confidence(confidence)
    s, r = _pairs(sensor, reference)
    n = int(s.size)
    if n < 3 or np.ptp(s) == 0 or np.ptp(r) == 0:
        return Correlation(r=None, ci_low=None, ci_high=None, p=None, n=n, confidence=confidence)
    res = stats.pearsonr(s, r)
    lo = hi = None
    if n >= 4 and abs(res.statistic) < 1.0:
        ci = res.confidence_interval(confidence_level=confidence)
        lo, hi = _num(ci.low), _num(ci.high)
    return Correlation(r=_num(res.statistic), ci_low=lo, ci_high=hi, p=_num(res.pvalue), n=n, confidence=confidence)


# --------------------------------------------------------------------------- cut-offs


def proportion_ci(k: int, n: int, *, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval of k successes out of n (Wilson 1927); (None, None) when n = 0."""
    if n == 0:
        return None, None
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return _num(ci.low), _num(ci.high)


@dataclasses.dataclass(frozen=True)
class DiagnosticAccuracy:
    """The sensor's index as a test for 'index above the cut-off' on the PSG.

    Attributes
    ----------
    n
        Nights with both values.
    true_positive, false_negative, true_negative, false_positive
        Counts, the PSG deciding which nights are positive.
    sensitivity, sensitivity_ci_low, sensitivity_ci_high
        TP / (TP + FN) with its Wilson interval; None without PSG-positive nights.
    specificity, specificity_ci_low, specificity_ci_high
        TN / (TN + FP) with its Wilson interval; None without PSG-negative nights.
    confidence
        Coverage of the intervals.
    """

    n: int
    true_positive: int
    false_negative: int
    true_negative: int
    false_positive: int
    sensitivity: float | None
    sensitivity_ci_low: float | None
    sensitivity_ci_high: float | None
    specificity: float | None
    specificity_ci_low: float | None
    specificity_ci_high: float | None
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return _todict(self)


def diagnostic_accuracy(
    sensor: ArrayLike, reference: ArrayLike, cutoff: float | ArrayLike, *, confidence: float = 0.95
) -> DiagnosticAccuracy:
    """Sensitivity and specificity of ``sensor > cutoff`` against ``reference > cutoff``.

    Parameters
    ----------
    sensor, reference
        One index per night (e.g. PLMS/h); nights where either is NaN are left out.
    cutoff
        The cut-off, one value or one per night (e.g. 15/h for adults and 5/h for children, the
        ICSD-3 PLMD criteria). A night is positive when its index is strictly above it.
    confidence
        Coverage of the Wilson intervals.
    """
    _check_confidence(confidence)
    s_all = np.asarray(sensor, dtype=np.float64).ravel()
    r_all = np.asarray(reference, dtype=np.float64).ravel()
    c_all = np.broadcast_to(np.asarray(cutoff, dtype=np.float64), s_all.shape)
    if r_all.shape != s_all.shape:
        raise ValueError(f"sensor and reference differ in length ({s_all.size} and {r_all.size})")
    ok = np.isfinite(s_all) & np.isfinite(r_all)
    s, r, c = s_all[ok], r_all[ok], c_all[ok]
    if not np.isfinite(c).all():
        raise ValueError("cutoff must be finite")
    pos_s, pos_r = s > c, r > c
    tp, fn = int((pos_s & pos_r).sum()), int((~pos_s & pos_r).sum())
    tn, fp = int((~pos_s & ~pos_r).sum()), int((pos_s & ~pos_r).sum())
    se_lo, se_hi = proportion_ci(tp, tp + fn, confidence=confidence)
    sp_lo, sp_hi = proportion_ci(tn, tn + fp, confidence=confidence)
    return DiagnosticAccuracy(
        n=int(s.size), true_positive=tp, false_negative=fn, true_negative=tn, false_positive=fp,
        sensitivity=tp / (tp + fn) if tp + fn else None, sensitivity_ci_low=se_lo, sensitivity_ci_high=se_hi,
        specificity=tn / (tn + fp) if tn + fp else None, specificity_ci_low=sp_lo, specificity_ci_high=sp_hi,
        confidence=confidence,
    )


# --------------------------------------------------------------------------- bootstrap


@dataclasses.dataclass(frozen=True)
class BootstrapCI:
    """A statistic of the nights and its bootstrap interval.

    Attributes
    ----------
    value
        The statistic on all nights.
    ci_low, ci_high
        The interval; None when it cannot be formed (fewer than 2 nights, or every resample
        gives the same value, e.g. all nights with sensitivity 1).
    n
        Nights used.
    n_resamples, seed, method, confidence
        Bootstrap settings (method: 'BCa' or 'percentile').
    """

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    n_resamples: int
    seed: int
    method: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return _todict(self)


def bootstrap_ci(
    samples: tuple[ArrayLike, ...],
    statistic: Callable[..., Any],
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    method: str = "BCa",
    confidence: float = 0.95,
) -> BootstrapCI:
    """Bootstrap interval of ``statistic`` resampling nights (:func:`scipy.stats.bootstrap`).

    Parameters
    ----------
    samples
        Per-night arrays of equal length, resampled together (paired: a resample draws whole
        nights), e.g. (matched events, reference events).
    statistic
        ``statistic(*samples, axis=-1)`` -> value along ``axis`` (vectorised, as scipy expects).
    n_resamples, seed
        Resamples and the seed of their :class:`numpy.random.Generator` (same seed, same interval).
    method
        'BCa' (bias-corrected and accelerated, Efron 1987; the default) or 'percentile'.
    confidence
        Coverage of the interval.
    """
    _check_confidence(confidence)
    if method not in BOOTSTRAP_METHODS:
        raise ConfigError(f"bootstrap method must be one of {', '.join(BOOTSTRAP_METHODS)}, got {method!r}")
    if not (isinstance(n_resamples, int) and n_resamples >= 100):
        raise ConfigError(f"n_resamples must be an integer >= 100, got {n_resamples!r}")
    if not (isinstance(seed, int) and seed >= 0):
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    data = tuple(np.asarray(x, dtype=np.float64).ravel() for x in samples)
    n = int(data[0].size) if data else 0
    if any(x.size != n for x in data):
        raise ValueError("bootstrap samples differ in length")
    value = _num(statistic(*data, axis=-1)) if n else None
    out = BootstrapCI(value=value, ci_low=None, ci_high=None, n=n, n_resamples=n_resamples, seed=seed, method=method,
                      confidence=confidence)
    if n < 2 or value is None:
        return out
    with warnings.catch_warnings():
        # a degenerate sample (every resample equal) makes scipy warn and return NaN: reported as None
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.bootstrap(data, statistic, n_resamples=n_resamples, paired=True, vectorized=True,
                              confidence_level=confidence, method=method, rng=np.random.default_rng(seed))
    lo, hi = _num(res.confidence_interval.low), _num(res.confidence_interval.high)
    if lo is None or hi is None:
        return out
    return dataclasses.replace(out, ci_low=lo, ci_high=hi)
