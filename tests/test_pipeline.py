"""process_night end to end on simulated nights (simulate -> process -> compare with truth)."""

import numpy as np
import pandas as pd
import pytest

from firmware_sim.night import simulate_night
from lmdetect.config import Config
from lmdetect.evaluation import evaluate_events, match_events
from lmdetect.pipeline import process_night


@pytest.fixture(scope="module")
def rls_night():
    return simulate_night("rls", hours=2.0, rate_hz=50, seed=11)


def test_detects_true_movements_and_plms(rls_night):
    res = process_night(rls_night.recording, hypnogram=rls_night.hypnogram)
    ev = evaluate_events(res.events, rls_night.truth_lms, min_amplitude_mg=30)
    assert ev["lm_min_amplitude"]["f1"] >= 0.95
    assert ev["plm"]["recall"] >= 0.9 and ev["plm"]["precision"] >= 0.9
    truth = rls_night.summary.get("indices", rls_night.summary)
    assert abs(res.summary["plms_index"] - truth["plms_index"]) <= 3.0
    assert res.summary["sleep_source"] == "hypnogram"


def test_summary_has_the_documented_keys(rls_night):
    res = process_night(rls_night.recording, diary=rls_night.diary)
    for key in ("plms_index", "plmw_index", "clm_index", "plm_index_tib", "periodicity_index", "plm_clm_ratio",
                "n_lm", "n_clm", "n_plm", "n_plms", "tst_h", "tib_h", "sleep_source", "rule_set", "config_hash"):
        assert key in res.summary, key
    assert res.summary["sleep_source"] == "diary+actigraphy"
    assert 0 < res.summary["tib_h"] <= 2.0


def test_clock_drift_is_recovered(rls_night):
    res = process_night(rls_night.recording)
    true_ppm = rls_night.summary["clock_ppm"]
    assert abs(res.clock.drift_ppm - true_ppm) < 3.0


def test_rule_set_changes_the_scoring(rls_night):
    w = process_night(rls_night.recording, hypnogram=rls_night.hypnogram)
    a = process_night(rls_night.recording, Config(rules="aasm"), hypnogram=rls_night.hypnogram)
    assert w.summary["rule_set"] == "wasm2016" and a.summary["rule_set"] == "aasm"
    assert a.summary["n_plm"] >= w.summary["n_plm"]  # AASM's 5-s lower IMI bound keeps more runs


def _false_plms_inside_pad(night, res, guard_s=60.0):
    """Detected PLMs during logged pad use that match no true movement at all: ones the vibration
    made up (movements under the pad are measured, so a true LM scored into a series at a series
    edge is a scoring disagreement, not vibration; as in benchmarks/accuracy.py)."""
    import pandas as pd

    from lmdetect.evaluation import match_events

    start = night.recording.start
    on = (pd.to_datetime(night.pad_log["start"]) - start).dt.total_seconds().to_numpy()
    off = (pd.to_datetime(night.pad_log["end"]) - start).dt.total_seconds().to_numpy()
    det = res.events[res.events["in_plm_series"]].reset_index(drop=True)
    ref = night.truth_lms.reset_index(drop=True)
    di, _ = match_events(det, ref)
    false = np.ones(len(det), bool)
    false[di] = False
    t = det["onset_s"].to_numpy()
    inside = np.zeros(t.size, bool)
    for a, b in zip(on, off, strict=True):
        inside |= (t >= a) & (t < b)
    return int((false & inside).sum())


@pytest.mark.parametrize("aa_filter", ["none", "partial"])
def test_pad_vibration_gives_no_false_plms(aa_filter):
    # "none": the IMU point-samples, so the motor vibration aliases into the band at full amplitude
    # and must be detected and removed; "partial": it is attenuated but may still leak through
    night = simulate_night("pad", hours=3.0, rate_hz=50, seed=5, imu_aa_filter=aa_filter)
    assert len(night.pad_log)
    res = process_night(night.recording, hypnogram=night.hypnogram)
    if aa_filter == "none":
        assert len(res.vibration) >= 1
    assert _false_plms_inside_pad(night, res) == 0


def test_pad_sessions_are_measured_through_the_vibration():
    # point-sampled at 50 Hz the vibration is detected at full amplitude; its line is removed and
    # the movements under the pad are measured: each session reports how much of it could be
    night = simulate_night("pad", hours=3.0, rate_hz=50, seed=5, imu_aa_filter="none")
    res = process_night(night.recording, hypnogram=night.hypnogram, pad_log=night.pad_log)
    facts = res.summary["pad_measurement"]
    assert {f["source"] for f in facts} == {"detected", "log"}
    keys = {"onset_s", "duration_s", "source", "line_freq_hz", "line_amplitude_mg", "residual_mg",
            "measurable_fraction", "masked_s", "detection_limit_mg"}
    assert all(set(f) == keys for f in facts)
    det = [f for f in facts if f["source"] == "detected"]
    assert all(f["measurable_fraction"] >= 0.8 and f["line_amplitude_mg"] > 10 for f in det)
    assert res.summary["quality"]["vibration_removed_h"] > 0.3
    assert set(res.pad_sessions["source"]) <= {"residual"}
    # most true movements under the pad are found (masking the sessions found next to none)
    start = pd.Timestamp(night.recording.start)
    on = (pd.to_datetime(night.pad_log["start"]) - start).dt.total_seconds().to_numpy()
    off = (pd.to_datetime(night.pad_log["end"]) - start).dt.total_seconds().to_numpy()
    t = night.truth_lms["onset_s"].to_numpy()
    inside = np.zeros(t.size, bool)
    for a, b in zip(on, off, strict=True):
        inside |= (t >= a) & (t < b)
    ref = night.truth_lms[inside].reset_index(drop=True)
    _, ri = match_events(res.events, ref)
    assert len(ref) > 20 and ri.size / len(ref) >= 0.8


def _diary_with_sleep_times(night, onset_s, final_s):
    import pandas as pd

    start = pd.Timestamp(night.recording.start)
    d = night.diary[~night.diary["kind"].isin(["sleep_onset", "final_awakening"])]
    extra = pd.DataFrame(
        {
            "kind": ["sleep_onset", "final_awakening"],
            "start": [start + pd.Timedelta(seconds=onset_s), start + pd.Timedelta(seconds=final_s)],
            "end": pd.NaT,
            "severity": np.nan,
            "note": "",
        }
    )
    return pd.concat([d, extra], ignore_index=True)


def test_diary_sleep_onset_and_final_awakening_bound_the_sleep_period(rls_night):
    res = process_night(rls_night.recording, diary=_diary_with_sleep_times(rls_night, 2400.0, 6000.0))
    ep = res.epochs
    asleep = ep["stage"].to_numpy() == "S"
    on = ep["onset_s"].to_numpy()
    assert not asleep[on < 2400.0].any() and not asleep[on + 30.0 > 6000.0].any()
    assert asleep[(on >= 2400.0) & (on < 6000.0)].mean() > 0.5
    assert res.summary["sleep_period_source"] == "diary"
    assert res.summary["tst_h"] <= (6000.0 - 2400.0) / 3600.0
    without = process_night(rls_night.recording, diary=rls_night.diary[rls_night.diary["kind"].isin(["lights_off", "lights_on"])])
    assert without.summary["sleep_period_source"] == "actigraphy"
    assert without.summary["tst_h"] > res.summary["tst_h"]


def test_final_awakening_before_sleep_onset_is_an_error(rls_night):
    from lmdetect.errors import ConfigError

    with pytest.raises(ConfigError, match="final_awakening .* is not after sleep_onset"):
        process_night(rls_night.recording, diary=_diary_with_sleep_times(rls_night, 4000.0, 3000.0))


def test_ankle_sleep_wake_with_the_diary_gets_tst_and_plms_index_close(rls_night):
    # the simulator's diary has lights off/on, sleep onset and final awakening as a sleeper would
    # write them; inside, the ankle scorer must find the wake bouts with movement
    night = simulate_night("rls", hours=8.0, rate_hz=50, seed=2)
    res = process_night(night.recording, diary=night.diary)
    truth = night.summary.get("indices", night.summary)
    assert abs(res.summary["tst_h"] - truth["tst_h"]) <= 0.5
    assert abs(res.summary["plms_index"] - truth["plms_index"]) <= 3.0
    assert res.summary["sleep_period_source"] == "diary"


def test_quality_reports_the_noise_floor_and_onset_threshold():
    from tests.synth import quiet, recording

    quiet_rec = process_night(recording(quiet(600, 50.0, noise_g=0.001)))
    noisy_rec = process_night(recording(quiet(600, 50.0, noise_g=0.008, seed=3)))
    q, n = quiet_rec.summary["quality"], noisy_rec.summary["quality"]
    # the limit follows the sensor: a quiet one detects movements of a few mg, a noisy one says so
    assert q["onset_threshold_mg"] < 3.0 and q["detection_limited"] is False
    assert n["detection_limited"] is True
    assert n["noise_floor_mg"] > 3 * q["noise_floor_mg"]
    assert n["onset_threshold_mg"] == pytest.approx(Config().detect.on_factor * n["noise_floor_mg"], rel=0.05)


def test_the_residual_guard_widens_each_masked_stretch_on_both_sides():
    from lmdetect.pipeline import _grow

    rng = np.random.default_rng(4)
    for _ in range(200):
        n = int(rng.integers(1, 300))
        mask = rng.random(n) < rng.choice([0.0, 0.02, 0.2, 0.9])
        guard = int(rng.integers(0, 40))
        want = np.array([mask[max(0, i - guard) : i + guard + 1].any() for i in range(n)], dtype=bool)
        assert np.array_equal(_grow(mask, guard), want)
