"""Method-comparison statistics, each checked against a published example or an independent formula."""

import math

import numpy as np
import pytest
from scipy import stats

from lmdetect.agreement.stats import (
    bland_altman,
    bootstrap_ci,
    diagnostic_accuracy,
    icc_a1,
    pearson_ci,
    proportion_ci,
)
from lmdetect.errors import ConfigError

# Shrout & Fleiss 1979, Table 2: 6 targets rated by 4 judges
SHROUT_FLEISS = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], dtype=float
)


def _mean_squares_by_loops(x):
    """Two-way ANOVA mean squares written out element by element (no shared code with the module)."""
    n, k = len(x), len(x[0])
    grand = sum(sum(row) for row in x) / (n * k)
    row_means = [sum(row) / k for row in x]
    col_means = [sum(x[i][j] for i in range(n)) / n for j in range(k)]
    ss_r = k * sum((m - grand) ** 2 for m in row_means)
    ss_c = n * sum((m - grand) ** 2 for m in col_means)
    ss_e = sum((x[i][j] - row_means[i] - col_means[j] + grand) ** 2 for i in range(n) for j in range(k))
    return ss_r / (n - 1), ss_c / (k - 1), ss_e / ((n - 1) * (k - 1))


def _icc_a1_direct(x, confidence=0.95):
    """ICC(A,1) and its interval from the loop mean squares; Satterthwaite df in the form of
    Shrout & Fleiss 1979 (eq. for ICC(2,1) with F_J = MSC / MSE), not that of McGraw & Wong."""
    msr, msc, mse = _mean_squares_by_loops(x.tolist())
    n, k = x.shape
    icc = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    fj = msc / mse
    num = (k - 1) * (n - 1) * (k * icc * fj + n * (1 + (k - 1) * icc) - k * icc) ** 2
    den = (n - 1) * k**2 * icc**2 * fj**2 + (n * (1 + (k - 1) * icc) - k * icc) ** 2
    v = num / den
    q = 0.5 + confidence / 2
    fu, fl = stats.f.ppf(q, n - 1, v), stats.f.ppf(q, v, n - 1)
    lo = n * (msr - fu * mse) / (fu * (k * msc + (k * n - k - n) * mse) + n * msr)
    hi = n * (fl * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fl * msr)
    return icc, lo, hi, (msr, msc, mse)


def test_icc_a1_reproduces_shrout_fleiss_1979():
    res = icc_a1(SHROUT_FLEISS)
    # published: BMS 11.24, JMS 32.49, EMS 1.02 (Table 2) and ICC(2,1) = 0.29 (Table 4)
    assert res.ms_rows == pytest.approx(11.24, abs=0.005)
    assert res.ms_columns == pytest.approx(32.49, abs=0.005)
    assert res.ms_error == pytest.approx(1.02, abs=0.005)
    assert round(res.value, 2) == 0.29
    # the 95 % interval R's psych::ICC prints for these data: 0.019 to 0.76
    assert res.ci_low == pytest.approx(0.019, abs=0.0005)
    assert res.ci_high == pytest.approx(0.76, abs=0.005)
    assert (res.n, res.k, res.df1, res.df2) == (6, 4, 5, 15)
    assert res.f == pytest.approx(11.24 / 1.02, rel=0.01)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_icc_a1_equals_the_direct_computation_for_two_methods(seed):
    rng = np.random.default_rng(seed)
    truth = rng.gamma(2.0, 12.0, size=14)
    x = np.column_stack([truth + rng.normal(2.0, 4.0, truth.size), truth])
    res = icc_a1(x)
    icc, lo, hi, (msr, msc, mse) = _icc_a1_direct(x)
    assert res.value == pytest.approx(icc, rel=1e-12)
    assert (res.ms_rows, res.ms_columns, res.ms_error) == pytest.approx((msr, msc, mse), rel=1e-12)
    assert res.ci_low == pytest.approx(lo, rel=1e-9)
    assert res.ci_high == pytest.approx(hi, rel=1e-9)
    assert res.ci_low < res.value < res.ci_high


def test_absolute_agreement_penalises_a_constant_offset_that_pearson_ignores():
    ref = np.array([2.0, 5.0, 9.0, 14.0, 20.0, 31.0, 40.0, 55.0])
    shifted = ref + 10.0
    assert icc_a1(np.column_stack([ref, ref])).value == pytest.approx(1.0)
    assert icc_a1(np.column_stack([shifted, ref])).value < 0.9
    assert pearson_ci(shifted, ref).r == pytest.approx(1.0)


def test_icc_drops_incomplete_rows_and_is_none_when_undefined():
    x = np.array([[1.0, 2.0], [np.nan, 3.0], [4.0, 4.5], [7.0, 6.0]])
    assert icc_a1(x).n == 3
    assert icc_a1(np.array([[1.0, 1.0]])).value is None
    assert icc_a1(np.full((4, 2), 3.0)).value is None
    with pytest.raises(ValueError, match="shape"):
        icc_a1(np.arange(4.0))


def test_bland_altman_by_hand():
    sensor = np.array([12.0, 20.0, 7.0, 31.0, 15.0, 3.0])
    ref = np.array([10.0, 22.0, 4.0, 28.0, 15.0, 1.0])
    d = sensor - ref  # 2, -2, 3, 3, 0, 2
    res = bland_altman(sensor, ref)
    sd = math.sqrt(sum((x - 8 / 6) ** 2 for x in d) / 5)
    assert res.bias == pytest.approx(8 / 6)
    assert res.sd == pytest.approx(sd)
    assert res.loa_low == pytest.approx(8 / 6 - 1.959964 * sd, rel=1e-6)
    assert res.loa_high == pytest.approx(8 / 6 + 1.959964 * sd, rel=1e-6)
    t5 = 2.570582  # t(0.975, 5)
    assert res.bias_ci_low == pytest.approx(8 / 6 - t5 * sd / math.sqrt(6), rel=1e-6)
    se_loa = math.sqrt(3 * sd**2 / 6)  # Bland & Altman 1986
    assert res.loa_high_ci_high == pytest.approx(res.loa_high + t5 * se_loa, rel=1e-6)
    assert res.loa_low_ci_low == pytest.approx(res.loa_low - t5 * se_loa, rel=1e-6)
    assert res.n == 6 and res.confidence == 0.95


def test_bland_altman_finds_proportional_bias():
    ref = np.linspace(1.0, 80.0, 20)
    rng = np.random.default_rng(3)
    prop = bland_altman(1.4 * ref + rng.normal(0, 1, ref.size), ref)
    flat = bland_altman(ref + 2.0 + rng.normal(0, 1, ref.size), ref)
    # differences 0.4 ref against means 1.2 ref: slope 1/3
    assert prop.slope == pytest.approx(1 / 3, abs=0.02) and prop.slope_p < 1e-6
    assert prop.slope_ci_low > 0
    assert flat.slope_ci_low < 0 < flat.slope_ci_high


def test_bland_altman_small_samples_and_missing_values():
    res = bland_altman([5.0, np.nan, 7.0], [4.0, 3.0, np.nan])
    assert res.n == 1 and res.bias == 1.0 and res.sd is None and res.loa_low is None
    two = bland_altman([5.0, 7.0], [4.0, 5.0])
    assert two.loa_low is not None and two.loa_low_ci_low is None and two.slope is None
    with pytest.raises(ValueError, match="length"):
        bland_altman([1.0, 2.0], [1.0])
    with pytest.raises(ConfigError):
        bland_altman([1.0, 2.0], [1.0, 2.0], confidence=95)


def test_pearson_interval_is_the_fisher_z_formula():
    rng = np.random.default_rng(5)
    ref = rng.gamma(2.0, 10.0, 12)
    sensor = ref + rng.normal(0, 6, 12)
    res = pearson_ci(sensor, ref)
    r = float(np.corrcoef(sensor, ref)[0, 1])
    z, half = math.atanh(r), 1.959964 / math.sqrt(12 - 3)
    assert res.r == pytest.approx(r)
    assert res.ci_low == pytest.approx(math.tanh(z - half), rel=1e-5)
    assert res.ci_high == pytest.approx(math.tanh(z + half), rel=1e-5)
    assert pearson_ci([1.0, 2.0, 3.0], [3.0, 3.0, 3.0]).r is None


def test_diagnostic_accuracy_at_per_night_cutoffs():
    # adult cut-off 15, child cut-off 5; a value equal to the cut-off is not above it
    ref = np.array([20.0, 16.0, 10.0, 15.0, 6.0, 4.0, 7.0, np.nan])
    sensor = np.array([18.0, 12.0, 16.0, 14.0, 8.0, 6.0, 3.0, 30.0])
    cut = np.array([15, 15, 15, 15, 5, 5, 5, 15], dtype=float)
    res = diagnostic_accuracy(sensor, ref, cut)
    # PSG-positive: nights 0, 1, 4, 6 -> sensor positive on 0, 4 ; PSG-negative: 2, 3, 5 -> sensor positive on 2, 5
    assert (res.true_positive, res.false_negative, res.true_negative, res.false_positive) == (2, 2, 1, 2)
    assert res.n == 7
    assert res.sensitivity == 0.5 and res.specificity == pytest.approx(1 / 3)
    lo, hi = proportion_ci(2, 4)
    # Wilson 1927: (p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)
    z = 1.959964
    c = (0.5 + z**2 / 8) / (1 + z**2 / 4)
    h = z * math.sqrt(0.25 / 4 + z**2 / 64) / (1 + z**2 / 4)
    assert (lo, hi) == pytest.approx((c - h, c + h), rel=1e-5)
    assert (res.sensitivity_ci_low, res.sensitivity_ci_high) == (lo, hi)
    none_pos = diagnostic_accuracy([1.0, 2.0], [1.0, 2.0], 15.0)
    assert none_pos.sensitivity is None and none_pos.sensitivity_ci_low is None and none_pos.specificity == 1.0


def _pooled(matched, reference, axis=-1):
    return matched.sum(axis=axis) / reference.sum(axis=axis)


@pytest.mark.parametrize("method", ["BCa", "percentile"])
def test_bootstrap_interval_is_seeded_and_brackets_the_value(method):
    rng = np.random.default_rng(8)
    ref = rng.integers(40, 200, 15).astype(float)
    matched = np.floor(ref * rng.uniform(0.7, 0.95, 15))
    a = bootstrap_ci((matched, ref), _pooled, n_resamples=2000, seed=4, method=method)
    b = bootstrap_ci((matched, ref), _pooled, n_resamples=2000, seed=4, method=method)
    c = bootstrap_ci((matched, ref), _pooled, n_resamples=2000, seed=5, method=method)
    assert a == b and a.ci_low != c.ci_low
    assert a.value == pytest.approx(matched.sum() / ref.sum())
    assert a.ci_low < a.value < a.ci_high
    # resampling nights: the interval is about the spread of per-night ratios over sqrt(n)
    se = np.std(matched / ref, ddof=1) / math.sqrt(15)
    assert 2 * se < a.ci_high - a.ci_low < 8 * se
    assert (a.method, a.seed, a.n_resamples, a.n) == (method, 4, 2000, 15)


def test_bootstrap_degenerate_and_bad_settings():
    ref = np.array([10.0, 20.0, 30.0])
    res = bootstrap_ci((ref, ref), _pooled, n_resamples=500)
    assert res.value == 1.0 and res.ci_low is None and res.ci_high is None
    assert bootstrap_ci((ref[:1], ref[:1]), _pooled).ci_low is None
    with pytest.raises(ConfigError, match="BCa, percentile"):
        bootstrap_ci((ref, ref), _pooled, method="basic")
    with pytest.raises(ConfigError, match="seed"):
        bootstrap_ci((ref, ref), _pooled, seed=-1)
    with pytest.raises(ConfigError, match="n_resamples"):
        bootstrap_ci((ref, ref), _pooled, n_resamples=10)
