"""Condition comparisons, before/after and cohort effects on simulated cohort tables.

The simulation model (one row per night, as in the cohort table)::

    log(plms_per_h[i, j]) = log(MEDIAN) + u_i + log(effect of night j's condition) + e_ij
    u_i ~ N(0, SD_BETWEEN^2)   (participant i)       e_ij ~ N(0, SD_WITHIN^2)   (night j)

SD_WITHIN = 0.41 is a night-to-night coefficient of variation of 43 % (Skeba et al., Sleep Med
2016), sqrt(log(1 + 0.43^2)); the between-participant variance is 5 times the within-participant
one (Trotti et al., Sleep Med 2009), SD_BETWEEN = sqrt(5) * 0.41.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from lmdetect.errors import ConfigError
from lmdetect.summary import conditions as C

MEDIAN = 30.0
SD_WITHIN = math.sqrt(math.log(1 + 0.43**2))
SD_BETWEEN = math.sqrt(5) * SD_WITHIN
PAD, WRAP = 0.6, 0.8  # true ratios of the crossover


def crossover(rng, *, n_participants=20, nights=7, effects=None):
    """Each participant: `nights` nights of pad, of wrap and of nothing, in a random order of blocks."""
    effects = {"pad": PAD, "wrap": WRAP} if effects is None else effects
    rows = []
    start = pd.Timestamp("2026-03-01 21:00", tz="UTC")
    for i in range(n_participants):
        u = rng.normal(0, SD_BETWEEN)
        blocks = [*effects, None]
        rng.shuffle(blocks)
        k = 0
        for cond in blocks:
            for _ in range(nights):
                ratio = 1.0 if cond is None else effects[cond]
                y = math.exp(math.log(MEDIAN) + u + math.log(ratio) + rng.normal(0, SD_WITHIN))
                row = {"participant": f"p{i:02d}", "night": f"n{k:02d}", "recording_start": start + pd.Timedelta(days=k),
                       "plms_per_h": y}
                row |= {f"condition_{c}": c == cond for c in effects}
                rows.append(row)
                k += 1
    return pd.DataFrame(rows)


def test_crossover_effects_recovered_within_ci():
    t = crossover(np.random.default_rng(1))
    for method in ("mixed", "paired"):
        res = C.cohort_effects(t, ["pad", "wrap"], method=method)
        assert res.method == method and res.n_participants == 20
        for e, truth in zip(res.effects, (PAD, WRAP), strict=True):
            assert e.ci_low < truth < e.ci_high, (method, e)
            assert e.flagged  # both are real effects; 20 x 7 nights detect them
    mixed = C.cohort_effects(t, ["pad", "wrap"], method="mixed")
    assert mixed.residual_sd == pytest.approx(SD_WITHIN, rel=0.2)
    assert mixed.random_intercept_sd == pytest.approx(SD_BETWEEN, rel=0.5)


def test_coverage_and_false_positive_rate_over_100_cohorts():
    """pad has an effect (0.6), wrap none: coverage of the truth and how often wrap is flagged."""
    rng = np.random.default_rng(2026)
    cover = {m: {"pad": 0, "wrap": 0} for m in ("mixed", "paired")}
    flagged = {m: 0 for m in ("mixed", "paired")}
    for _ in range(100):
        t = crossover(rng, effects={"pad": PAD, "wrap": 1.0})
        for m in ("mixed", "paired"):
            pad, wrap = C.cohort_effects(t, ["pad", "wrap"], method=m).effects
            cover[m]["pad"] += pad.ci_low < PAD < pad.ci_high
            cover[m]["wrap"] += wrap.ci_low < 1.0 < wrap.ci_high
            flagged[m] += wrap.flagged
    print("coverage", cover, "false positives per 100", flagged)
    for m in ("mixed", "paired"):
        assert flagged[m] <= 5, (m, flagged)
        assert cover[m]["pad"] >= 88, (m, cover)  # nominal 95; binomial 2.5 % lower bound at n = 100 is ~89


def test_paired_is_the_fallback_without_statsmodels(monkeypatch):
    real = C.importlib.util.find_spec
    monkeypatch.setattr(C.importlib.util, "find_spec", lambda n, *a: None if n == "statsmodels" else real(n, *a))
    res = C.cohort_effects(crossover(np.random.default_rng(3)), ["pad"], method="auto")
    assert res.method == "paired"
    assert any("statsmodels is not installed" in c for c in res.cautions)
    assert "ttest_rel" in res.assumptions
    with pytest.raises(ConfigError, match="statsmodels"):
        C.cohort_effects(crossover(np.random.default_rng(3)), ["pad"], method="mixed")


def test_a_condition_without_contrast_is_not_estimated_and_the_others_are():
    """A condition on no night (a misspelt flag) or on every night cannot be estimated; it must not stop the others."""
    t = crossover(np.random.default_rng(8), n_participants=8, nights=4)
    t["condition_never"] = False
    t["condition_always"] = True
    res = C.cohort_effects(t, ["pad", "never", "always", "wrap"], method="mixed")
    assert res.method == "mixed"
    pad, never, always, wrap = res.effects
    assert never.ratio is None and always.ratio is None and not never.flagged
    assert pad.ci_low < PAD < pad.ci_high and wrap.ratio is not None
    assert any("never: on no night" in c for c in res.cautions)
    assert any("always: on every night" in c for c in res.cautions)
    # the same estimates as without them
    alone = C.cohort_effects(t, ["pad", "wrap"], method="mixed").effects
    assert pad.ratio == pytest.approx(alone[0].ratio, rel=1e-9)


def test_conditions_that_always_go_together_fall_back_to_the_paired_analysis():
    t = crossover(np.random.default_rng(9), n_participants=8, nights=4)
    t["condition_twin"] = t["condition_pad"]  # pad and twin on the same nights: not separable
    res = C.cohort_effects(t, ["pad", "twin", "wrap"], method="mixed")
    assert res.method == "paired" and "ttest_rel" in res.assumptions
    assert any("could not be fitted" in c for c in res.cautions)
    pad, twin, wrap = res.effects
    assert pad.ratio is None and twin.ratio is None  # never alone: no paired contrast either
    assert wrap.ci_low < WRAP < wrap.ci_high


def test_compare_conditions_side_by_side_one_participant():
    t = crossover(np.random.default_rng(4), n_participants=1, nights=14)
    pad, wrap = C.compare_conditions(t, ["pad", "wrap"], n_boot=2000)
    assert (pad.n_with, pad.n_reference, wrap.n_with) == (14, 14, 14)
    ref = t.loc[~t.condition_pad & ~t.condition_wrap, "plms_per_h"].mean()
    assert pad.ratio == pytest.approx(t.loc[t.condition_pad, "plms_per_h"].mean() / ref)
    assert pad.ci_low < pad.ratio < pad.ci_high
    assert not pad.cautions
    assert pad.to_dict()["method"].startswith("Ratio of the mean plms_per_h")


def test_compare_conditions_cautions_and_errors():
    t = crossover(np.random.default_rng(5), n_participants=1, nights=3)
    t.loc[0, ["condition_pad", "condition_wrap"]] = True  # a night with both
    pad, wrap = C.compare_conditions(t, ["pad", "wrap"], n_boot=500)
    assert any("reference nights (fewer than 5)" in c for c in pad.cautions)
    assert [c.startswith("1 night with") for c in (*pad.cautions, *wrap.cautions)].count(True) == 2
    assert pad.n_overlap == wrap.n_overlap == 1
    with pytest.raises(ConfigError, match="no condition 'iron'.*pad, wrap"):
        C.compare_conditions(t, ["iron"])
    with pytest.raises(ConfigError, match="repeated"):
        C.compare_conditions(t, ["pad", "pad"])


def _series(days, log_y, start="2026-04-01"):
    d0 = pd.Timestamp(start)
    return pd.DataFrame({"night_date": [d0 + pd.Timedelta(days=int(k)) for k in days], "plms_per_h": np.exp(log_y)})


def test_before_after_recovers_a_step_with_washout():
    rng = np.random.default_rng(6)
    days = np.arange(-21, 28)
    step = np.where(days >= 7, math.log(0.5), 0.0)
    t = _series(days, math.log(30) + step + rng.normal(0, SD_WITHIN, days.size))
    r = C.before_after(t, "iron_infusion", "2026-04-01", washout_days=7, n_boot=1000)
    assert (r.n_before, r.n_washout, r.n_after) == (21, 7, 21)
    assert r.level_low < 0.5 < r.level_high and r.flagged
    assert r.ratio < 0.75


def test_before_after_slow_improvement_is_not_a_step():
    """A decline that runs through the whole period: the naive ratio says better, the regression does not."""
    rng = np.random.default_rng(7)
    days = np.arange(-28, 28)
    t = _series(days, math.log(30) - 0.02 * days + rng.normal(0, 0.15, days.size))
    r = C.before_after(t, "ropinirole", dt.date(2026, 4, 1), n_boot=1000)
    assert r.ci_high < 1  # naive comparison: "improved"
    assert r.level_low < 1 < r.level_high and not r.flagged
    assert r.pre_slope_low < -0.02 < r.pre_slope_high
    assert "Segmented regression" in r.method


def test_before_after_needs_nights_on_both_sides():
    t = _series(np.arange(-2, 5), np.full(7, 3.0))
    r = C.before_after(t, "x", "2026-04-01")
    assert r.level_ratio is None
    assert any("at least 3 nights before" in c for c in r.cautions)
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        C.before_after(t, "x", "April 1")


def test_night_dates_from_recording_start():
    t = pd.DataFrame({"recording_start": pd.to_datetime(["2026-04-01T21:30Z", "2026-04-02T23:50Z",
                                                         "2026-04-04T01:10Z"], utc=True)})
    got = C.night_dates(t).astype(str).tolist()
    assert got == ["2026-04-01", "2026-04-02", "2026-04-03"]
