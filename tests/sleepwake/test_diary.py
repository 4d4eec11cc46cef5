"""The diary's sleep onset and final awakening against the ankle actigraphy."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from firmware_sim.night import simulate_night
from lmdetect.config import Config
from lmdetect.pipeline import process_night
from lmdetect.sleepwake.diary import reconcile_sleep_diary
from lmdetect.sleepwake.params import SleepWakeParams

EP = 30.0
P = SleepWakeParams()
SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def _night(sleep_from_s: float, sleep_to_s: float, n: int = 960) -> np.ndarray:
    """Actigraphy sleep per 30-s epoch: wake, then sleep from ``sleep_from_s`` to ``sleep_to_s``."""
    t = np.arange(n) * EP
    return (t >= sleep_from_s) & (t + EP <= sleep_to_s)


def _series(*trains: tuple[float, int]) -> pd.DataFrame:
    """PLM series: (first onset s, members) each, 25 s apart, 2-s movements."""
    rows = []
    for sid, (t0, k) in enumerate(trains):
        rows += [{"onset_s": t0 + 25.0 * i, "duration_s": 2.0, "in_plm_series": True, "series_id": sid} for i in range(k)]
    return pd.DataFrame(rows, columns=["onset_s", "duration_s", "in_plm_series", "series_id"])


def test_a_diary_sleep_onset_hours_late_is_overruled_by_periodic_lms_in_sleep():
    asleep = _night(1800.0, 27000.0)  # asleep from 30 min to 7.5 h
    series = _series((2400.0, 40), (5400.0, 30), (12000.0, 50))
    window, checks = reconcile_sleep_diary(asleep, series, P, tib=(600.0, 28000.0), diary_onset_s=10800.0, diary_wake_s=26400.0)
    assert checks[1].status == "diary" and window[1] == 26400.0
    onset = checks[0]
    assert onset.item == "sleep_onset" and onset.status == "actigraphy"
    assert onset.periodic_lms == 70  # the two series before the logged onset
    assert window[0] == pytest.approx(1800.0)  # back to where the actigraphy sleep starts
    assert onset.shift_min == pytest.approx(-150.0)
    # still wake before sleep looks like sleep: go back at most diary_max_lead_min before the first PLM
    far = _night(600.0, 27000.0)
    window, _ = reconcile_sleep_diary(far, series, P, tib=(600.0, 28000.0), diary_onset_s=10800.0, diary_wake_s=None)
    assert window[0] == pytest.approx(2400.0 - 60.0 * P.diary_max_lead_min)


def test_an_early_final_awakening_is_overruled_too():
    asleep = _night(1800.0, 27000.0)
    series = _series((3000.0, 20), (21000.0, 60))  # a series runs on to 22475 s
    window, checks = reconcile_sleep_diary(asleep, series, P, tib=(600.0, 28000.0), diary_onset_s=1800.0, diary_wake_s=19800.0)
    wake = checks[1]
    assert wake.item == "final_awakening" and wake.status == "actigraphy" and wake.periodic_lms == 60
    # to the end of the actigraphy sleep, but at most diary_max_lead_min past the last periodic LM
    assert window[1] == pytest.approx(min(27000.0, 21000.0 + 59 * 25.0 + 2.0 + 60.0 * P.diary_max_lead_min))
    assert checks[0].status == "diary"


def test_a_correct_diary_is_kept_over_quiet_wake_that_looks_like_sleep():
    # lying still for 40 min after lights off: the actigraphy calls it sleep, the diary knows better
    asleep = _night(600.0, 27000.0)
    series = _series((3300.0, 40), (9000.0, 40))
    window, checks = reconcile_sleep_diary(asleep, series, P, tib=(600.0, 28000.0), diary_onset_s=3000.0, diary_wake_s=26000.0)
    assert [c.status for c in checks] == ["diary", "diary"]
    assert window == (3000.0, 26000.0)


def test_a_diary_a_few_minutes_off_is_kept():
    asleep = _night(1800.0, 27000.0)
    series = _series((2000.0, 40))
    _, checks = reconcile_sleep_diary(asleep, series, P, tib=(600.0, 28000.0), diary_onset_s=2100.0, diary_wake_s=None)
    assert checks[0].status == "diary" and checks[0].periodic_lms == 4  # 100 s: too few to overrule
    assert len(checks) == 1


def test_periodic_lms_in_actigraphy_wake_are_no_evidence_of_sleep():
    asleep = _night(5400.0, 27000.0)  # restless (scored wake) until 1.5 h
    series = _series((2400.0, 60))  # a periodic run in that wake
    _, checks = reconcile_sleep_diary(asleep, series, P, tib=(600.0, 28000.0), diary_onset_s=5400.0, diary_wake_s=None)
    assert checks[0].status == "diary"


def test_the_diary_can_be_trusted_blindly():
    asleep = _night(1800.0, 27000.0)
    series = _series((2400.0, 40))
    blind = dataclasses.replace(P, diary_min_periodic_lms=0)
    window, checks = reconcile_sleep_diary(asleep, series, blind, tib=(600.0, 28000.0), diary_onset_s=10800.0, diary_wake_s=None)
    assert checks[0].status == "diary" and window[0] == 10800.0


def _with_sleep_onset(night, onset_s):
    d = night.diary.copy()
    start = pd.Timestamp(night.recording.start)
    d.loc[d["kind"] == "sleep_onset", "start"] = start + pd.Timedelta(seconds=onset_s)
    return d


def test_one_late_diary_line_does_not_halve_the_night_index():
    night = simulate_night("rls", hours=8.0, rate_hz=25, seed=2)
    true = night.summary["indices"]["plms_index"]
    onset = night.plan.sleep_onset_s
    good = process_night(night.recording, diary=_with_sleep_onset(night, round(onset / 300.0) * 300.0))
    late = process_night(night.recording, diary=_with_sleep_onset(night, onset + 3 * 3600.0))
    blind_cfg = dataclasses.replace(Config(), sleepwake=SleepWakeParams(diary_min_periodic_lms=0))
    blind = process_night(night.recording, blind_cfg, diary=_with_sleep_onset(night, onset + 3 * 3600.0))
    assert good.summary["sleep_diary_overruled"] == 0
    assert good.summary["sleep_diary_check"]["sleep_onset"]["status"] == "diary"
    assert blind.summary["tst_h"] < good.summary["tst_h"] - 2.0  # trusted blindly, three hours are lost
    check = late.summary["sleep_diary_check"]["sleep_onset"]
    assert late.summary["sleep_diary_overruled"] == 1 and check["status"] == "actigraphy"
    assert check["shift_min"] < -120.0 and check["diary"] > check["used"]
    assert late.summary["sleep_period_source"] == "diary+actigraphy"
    # the late line costs little against a correct one (the detector's own error aside)
    assert abs(late.summary["plms_index"] - good.summary["plms_index"]) <= 2.0
    assert abs(late.summary["tst_h"] - good.summary["tst_h"]) <= 0.5
    assert late.summary["plms_index"] >= 0.85 * true


def test_a_correct_diary_gives_the_same_night_as_before():
    night = simulate_night("control", hours=6.0, rate_hz=25, seed=4)
    blind_cfg = dataclasses.replace(Config(), sleepwake=SleepWakeParams(diary_min_periodic_lms=0))
    a = process_night(night.recording, diary=night.diary)
    b = process_night(night.recording, blind_cfg, diary=night.diary)
    assert a.summary["sleep_diary_overruled"] == 0 and a.summary["sleep_period_source"] == "diary"
    pd.testing.assert_frame_equal(a.epochs, b.epochs)
    assert a.summary["plms_index"] == b.summary["plms_index"]


def test_participant_night_with_a_late_diary_sleep_onset():
    from lmdetect.io.diary import read_diary, read_pad_log
    from lmdetect.io.native import read_lmr

    d = SAMPLES / "participant01" / "night2"
    truth = json.loads((d / "truth_summary.json").read_text())
    rec, diary, pads = read_lmr(d / "night.lmr"), read_diary(d / "diary.csv"), read_pad_log(d / "pad_log.csv")
    res = process_night(rec, diary=diary, pad_log=pads)
    without = process_night(rec, diary=diary[diary["kind"] != "sleep_onset"], pad_log=pads)
    assert res.summary["sleep_diary_check"]["sleep_onset"]["status"] == "actigraphy"
    assert res.summary["sleep_diary_overruled"] == 1
    # trusted blindly, the late sleep onset gave 14.5/h and 2.6 h against a truth of 26.5/h and
    # 5.06 h; without the row, 27.9/h
    assert abs(res.summary["plms_index"] - without.summary["plms_index"]) <= 2.0
    assert res.summary["plms_index"] >= 0.9 * truth["indices"]["plms_index"]
    assert res.summary["tst_h"] >= truth["tst_h"] - 0.75
