"""Simulated interventions: a known effect on the PLM series rate, logged as diary rows, and a crossover study."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from firmware_sim.interventions import Intervention, infusion_factor, plm_multiplier
from firmware_sim.night import simulate_night, write_night
from firmware_sim.study import SHORT_NIGHT, CrossoverDesign, simulate_crossover
from lmdetect.batch.inputs import read_manifest
from lmdetect.errors import ConfigError
from lmdetect.io.diary import read_diary

SHORT = dict(hours=1.5, rate_hz=25, **SHORT_NIGHT)


def _plms(ivs=(), seeds=range(1, 13)):
    return np.array([simulate_night("rls", seed=s, interventions=ivs, **SHORT).summary["indices"]["plms_index"] or 0.0
                     for s in seeds])


@pytest.mark.parametrize(
    "kw,msg",
    [
        (dict(name="Foot wrap", kind="period", plm_factor=0.5, start_s=0, end_s=10), "lower-case"),
        (dict(name="wrap", kind="weekly", plm_factor=0.5), "not one of"),
        (dict(name="wrap", kind="period", plm_factor=0.0, start_s=0, end_s=10), "positive"),
        (dict(name="wrap", kind="period", plm_factor=0.5, start_s=10, end_s=5), "end_s after"),
        (dict(name="dose", kind="time", plm_factor=0.5), "needs start_s"),
    ],
)
def test_bad_interventions_are_refused(kw, msg):
    with pytest.raises(ConfigError, match=msg):
        Intervention(**kw)


def test_factors_over_time():
    dose = Intervention("ropinirole", "time", 0.4, start_s=1000.0, ramp_s=1000.0)
    wrap = Intervention("foot_wrap", "period", 0.5, start_s=0.0, end_s=1200.0)
    assert list(dose.factor_at(np.array([0.0, 1000.0, 1500.0, 2000.0, 9000.0]))) == pytest.approx([1, 1, 0.7, 0.4, 0.4])
    assert list(plm_multiplier([dose, wrap], np.array([500.0, 1500.0]))) == pytest.approx([0.5, 0.7])
    assert infusion_factor(0.7, -1) == 1.0 and infusion_factor(0.7, 0) == 1.0
    assert infusion_factor(0.7, 14) == pytest.approx(1 - 0.3 * (1 - np.exp(-1)))


def test_a_factor_of_one_leaves_the_night_unchanged():
    a = simulate_night("rls", seed=4, **SHORT)
    b = simulate_night("rls", seed=4, interventions=[Intervention("sham", "period", 1.0, start_s=0, end_s=5400)],
                       **SHORT)
    pd.testing.assert_frame_equal(a.truth_lms, b.truth_lms)
    assert np.array_equal(a.recording.accel_g, b.recording.accel_g)
    assert b.summary["plm_rate_factor"] == {"constant": 1.0, "mean_in_sleep": 1.0}


def test_an_all_night_factor_scales_the_true_plms_index():
    base = _plms()
    wrap = _plms([Intervention("foot_wrap", "period", 0.5, start_s=0.0, end_s=5400.0)])
    assert wrap.mean() / base.mean() == pytest.approx(0.5, abs=0.08)


def test_a_dose_thins_series_only_after_it_takes_effect():
    dose = Intervention("ropinirole", "time", 0.2, start_s=2700.0, ramp_s=0.0, dose="0.25 mg")
    for seed in (2, 3, 5):
        a = simulate_night("rls", seed=seed, **SHORT).truth_lms
        b = simulate_night("rls", seed=seed, interventions=[dose], **SHORT).truth_lms
        before_a = a[(a["source"] == "plm") & (a["onset_s"] < 2600)]
        before_b = b[(b["source"] == "plm") & (b["onset_s"] < 2600)]
        assert len(before_a) == len(before_b)
        assert (b["source"] == "plm").sum() <= (a["source"] == "plm").sum()
    many = _plms([dose], seeds=range(1, 13))
    assert many.mean() < 0.85 * _plms().mean()


def test_logged_interventions_are_written_as_diary_rows(tmp_path):
    ivs = [
        Intervention("ropinirole", "time", 0.5, start_s=-1800.0, ramp_s=3600.0, dose="0.25 mg"),
        Intervention("foot_wrap", "period", 0.8, start_s=0.0, end_s=5400.0),
        Intervention("pad", "night", 0.9, logged=False),
    ]
    night = simulate_night("rls", seed=1, interventions=ivs, **SHORT)
    write_night(night, tmp_path)
    d = read_diary(tmp_path / "diary.csv")
    iv = d[d["kind"] == "intervention"]
    assert list(iv["name"]) == ["ropinirole", "foot_wrap"]
    assert iv["start"].iloc[0].isoformat() == "2026-03-14T22:00:00+01:00" and iv["dose"].iloc[0] == "0.25 mg"
    truth = json.loads((tmp_path / "truth_summary.json").read_text())
    assert [x["name"] for x in truth["interventions"]] == ["ropinirole", "foot_wrap", "pad"]
    assert truth["plm_rate_factor"]["constant"] is None
    assert 0.36 - 1e-9 <= truth["plm_rate_factor"]["mean_in_sleep"] < 0.72


def test_crossover_writes_nights_manifest_and_true_effects(tmp_path):
    design = CrossoverDesign(participants=3, conditions=("none", "foot_wrap", "sham"), nights=1, hours=1.5,
                             effects={"foot_wrap": 0.6})
    manifest = simulate_crossover(tmp_path, design)
    nights = read_manifest(manifest)
    assert len(nights) == 9
    by_participant = {}
    for n in nights:
        by_participant.setdefault(n.participant, []).append(n.conditions)
    # a Latin square: each participant has each condition once, in a rotated order
    assert by_participant["P01"] == [(), ("foot_wrap",), ("sham",)]
    assert by_participant["P02"] == [("foot_wrap",), ("sham",), ()]
    truth = json.loads((tmp_path / "study_truth.json").read_text())
    assert truth["effects"] == {"foot_wrap": {"plm_factor": 0.6, "percent_change": -40.0},
                                "sham": {"plm_factor": 1.0, "percent_change": 0.0}}
    rows = pd.read_csv(tmp_path / "study_truth.csv")
    assert list(rows.loc[rows["condition"] == "foot_wrap", "plm_rate_factor"]) == [0.6] * 3
    wrap_diary = read_diary(tmp_path / "P01" / "n02" / "diary.csv")
    assert list(wrap_diary.loc[wrap_diary["kind"] == "intervention", "name"]) == ["foot_wrap"]
    again = tmp_path / "again"
    simulate_crossover(again, design)
    assert (again / "study_truth.csv").read_text() == (tmp_path / "study_truth.csv").read_text()


def test_crossover_design_is_checked():
    with pytest.raises(ConfigError, match="not in the design"):
        CrossoverDesign(conditions=("none", "pad"), effects={"foot_wrap": 0.5})
    with pytest.raises(ConfigError, match="distinct"):
        CrossoverDesign(conditions=("none", "pad", "pad"))
