"""Profiles: validation, overrides, and the true PLMS index landing in each profile's stated range."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_sim.night import simulate_night
from firmware_sim.profiles import PROFILES, get_profile
from lmdetect.errors import ConfigError


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_true_plms_index_in_profile_range_over_seeds(name):
    lo, hi = PROFILES[name].plms_index_range
    for seed in range(4):
        n = simulate_night(name, hours=8.0, rate_hz=25, seed=100 + seed)
        idx = n.summary["indices"]["plms_index"]
        assert lo <= idx <= hi, f"{name} seed {100 + seed}: true PLMS index {idx:.1f} outside {lo}-{hi}"


def test_rls_has_series_with_periodic_imis_and_rls_episodes():
    n = simulate_night("rls", hours=8.0, rate_hz=25, seed=2)
    idx = n.summary["indices"]
    assert 20.0 <= idx["imi_median_s"] <= 40.0
    assert idx["periodicity_index"] > 0.6
    assert n.rls_episodes
    for ep in n.rls_episodes:  # RLS episodes happen in wake
        assert set(n.plan.stage_at(np.arange(ep.start_s, ep.end_s, 30.0))) == {0}
    assert (n.diary["kind"] == "rls_episode").sum() == len(n.rls_episodes)
    series = n.truth_lms[n.truth_lms["in_plm_series"]]
    assert series.groupby("series_id").size().min() >= 4
    # PLM series mostly in light NREM, few in REM (Pollmächer & Schulz 1993)
    counts = series["stage"].value_counts()
    assert counts.get("N2", 0) > 5 * counts.get("R", 0)


def test_plm_rate_declines_across_the_night():
    first = second = 0
    for seed in range(3):
        n = simulate_night("rls", hours=8.0, rate_hz=25, seed=seed)
        t = n.truth_lms
        mid = n.plan.sleep_onset_s + 0.5 * (n.plan.lights_on_s - n.plan.sleep_onset_s)
        plm = t[t["in_plm_series"] & (t["stage"] != "W")]
        first += int((plm["onset_s"] < mid).sum())
        second += int((plm["onset_s"] >= mid).sum())
    assert first > 1.2 * second


def test_profiles_hold_their_named_features():
    assert PROFILES["control"].plms_index_range[1] <= 5
    assert PROFILES["pad"].pad_sessions_range == (1, 2)
    assert PROFILES["noisy"].link_outages_per_h > 0
    assert PROFILES["noisy"].imu_noise_density_ug_rthz > PROFILES["rls"].imu_noise_density_ug_rthz


def test_bad_profile_values_raise_config_error():
    with pytest.raises(ConfigError, match="valid choices"):
        get_profile("sleepy")
    with pytest.raises(ConfigError, match="unknown profile parameter"):
        PROFILES["rls"].with_overrides(no_such_field=1)
    with pytest.raises(ConfigError, match="imu_aa_filter"):
        PROFILES["rls"].with_overrides(imu_aa_filter="brickwall")
    with pytest.raises(ConfigError, match="pad_intensity_range"):
        PROFILES["rls"].with_overrides(pad_intensity_range=(0, 12))
    with pytest.raises(ConfigError, match="rate"):
        simulate_night("rls", hours=1.0, rate_hz=60)
    with pytest.raises(ConfigError, match="hours"):
        simulate_night("rls", hours=0.0)


def test_profile_round_trips_through_dict():
    p = PROFILES["pad"]
    assert type(p).from_dict(p.to_dict()) == p
