"""A night's interventions (diary rows, pad sessions) and the PLM/CLM rates around timed ones."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from lmdetect.io.diary import read_diary
from lmdetect.scoring import WASM2016, score_lms
from lmdetect.summary.interventions import (
    interventions_context,
    interventions_table,
    night_conditions,
    night_interventions,
    night_period,
)
from lmdetect.summary.pad import pad_context

W = WASM2016()
CET = dt.timezone(dt.timedelta(hours=1))
START = dt.datetime(2026, 3, 14, 22, 30, tzinfo=CET)


def _events(onsets) -> pd.DataFrame:
    return score_lms(pd.DataFrame({"onset_s": onsets, "duration_s": 2.0, "side": "left", "kind": "lm"}), W)


def _diary(tmp_path, *rows) -> pd.DataFrame:
    p = tmp_path / "diary.csv"
    p.write_text("kind,start,end,severity,note,name,dose\n" + "\n".join(rows) + "\n")
    return read_diary(p)


def test_night_period_is_noon_to_noon_in_the_recording_offset():
    assert night_period(START)[0] == dt.datetime(2026, 3, 14, 12, tzinfo=CET)
    after_midnight = dt.datetime(2026, 3, 15, 0, 40, tzinfo=CET)
    assert night_period(after_midnight) == night_period(START)


def test_only_this_nights_rows_and_the_pad_become_interventions(tmp_path):
    diary = _diary(
        tmp_path,
        "intervention,2026-03-14T21:00:00+01:00,,,,ropinirole,0.25 mg",
        "intervention,2026-03-14T22:30:00+01:00,2026-03-15T06:10:00+01:00,,,foot_wrap,",
        "intervention,2026-03-14,,,,iron_infusion,1000 mg",
        "intervention,2026-03-13,,,,iron_infusion,1000 mg",  # the night before
        "intervention,2026-03-15T21:00:00+01:00,,,,ropinirole,0.25 mg",  # the next evening
        "lights_off,2026-03-14T22:41:00+01:00,,,,,",
    )
    pad = pd.DataFrame({"onset_s": [1200.0], "duration_s": [2100.0]})
    t = night_interventions(diary, START, pad, "log")
    assert list(t["name"]) == ["ropinirole", "foot_wrap", "pad", "iron_infusion"]
    assert t["onset_s"].iloc[0] == -5400.0 and t["duration_s"].iloc[0] == 0.0
    assert t["duration_s"].iloc[1] == pytest.approx(7 * 3600 + 40 * 60)
    assert list(t["source"]) == ["diary", "diary", "pad_log", "diary"]
    assert night_conditions(t, ["caffeine"]) == ["caffeine", "foot_wrap", "iron_infusion", "pad", "ropinirole"]
    rows = interventions_table(t, START)
    assert rows[0]["start"] == "2026-03-14T21:00:00+01:00" and rows[0]["end"] is None and rows[0]["dose"] == "0.25 mg"
    assert rows[3] == {"name": "iron_infusion", "onset_s": None, "duration_s": None, "start": None, "end": None,
                       "dose": "1000 mg", "date": "2026-03-14", "source": "diary"}


def test_rates_before_during_and_after_a_period_and_a_dose():
    # 10 PLMs in a series (20 s apart) just before a wrap at 3600-7200 s, 20 during, none after
    onsets = [3000.0 + 20 * i for i in range(10)] + [4000.0 + 20 * i for i in range(20)]
    ev = _events(onsets)
    t = pd.DataFrame(
        {"name": ["foot_wrap", "ropinirole"], "onset_s": [3600.0, 3800.0], "duration_s": [3600.0, 0.0],
         "dose": ["", "0.25 mg"], "date": ["", ""], "source": ["diary", "diary"]}
    )
    c = interventions_context(ev, t, rules=W, window=(0.0, 10800.0))
    wrap = c["foot_wrap"]
    assert wrap["kind"] == "period" and wrap["n"] == 1 and wrap["window_s"] == 1800.0
    assert wrap["before"]["n_plm"] == 10 and wrap["before"]["observed_h"] == 0.5
    assert wrap["during"]["n_plm"] == 20 and wrap["during"]["observed_h"] == 1.0
    assert wrap["during"]["plm_per_h"] == 20.0
    assert wrap["after"]["n_plm"] == 0 and wrap["after"]["plm_per_h"] == 0.0
    dose = c["ropinirole"]
    # a dose acts from its time on: during runs to the end of the window
    assert dose["kind"] == "time" and dose["during"]["observed_h"] == round(7000 / 3600, 4)
    assert dose["during"]["n_plm"] == 20 and dose["before"]["n_plm"] == 10
    assert dose["occurrences"][0]["dose"] == "0.25 mg"


def test_a_period_taken_off_and_put_back_is_not_its_own_before_or_after():
    # a wrap worn 3600-5400 s and 5700-7200 s; PLMs every 20 s from 3000 to 7800 s
    ev = _events([3000.0 + 20 * i for i in range(240)])
    t = pd.DataFrame({"name": ["foot_wrap"] * 2, "onset_s": [3600.0, 5700.0], "duration_s": [1800.0, 1500.0],
                      "dose": ["", ""], "date": ["", ""], "source": ["diary", "diary"]})
    c = interventions_context(ev, t, rules=W, window=(0.0, 10800.0))["foot_wrap"]
    # before: [1800, 3600) and the 5 min off [5400, 5700), not the first wearing; after: [5400, 5700) and [7200, 9000)
    assert c["before"]["observed_h"] == round(2100 / 3600, 4)
    assert c["after"]["observed_h"] == round(2100 / 3600, 4)
    assert c["during"]["observed_h"] == round(3300 / 3600, 4)
    first, second = c["occurrences"]
    assert first["after"]["observed_h"] == round(300 / 3600, 4) and first["after"]["plm_per_h"] is None  # < 10 min
    assert second["before"]["observed_h"] == round(300 / 3600, 4)
    assert c["during"]["n_plm"] == 165  # onsets in [3600, 5400) and [5700, 7200)


def test_pad_windows_and_intervention_windows_agree_on_the_same_session():
    ev = _events([800.0 + 20 * i for i in range(40)])
    log = pd.DataFrame({"onset_s": [1000.0], "duration_s": [600.0], "intensity": [4]})
    pad = pad_context(ev, log, None, rules=W, window=(0.0, 10800.0))["windows"]
    t = pd.DataFrame({"name": ["pad"], "onset_s": [1000.0], "duration_s": [600.0], "dose": [""], "date": [""],
                      "source": ["pad_log"]})
    iv = interventions_context(ev, t, rules=W, window=(0.0, 10800.0))["pad"]
    assert iv["before"] == pad["before"] and iv["after"] == pad["after_end"]


def test_untimed_interventions_have_no_windows():
    t = pd.DataFrame({"name": ["iron_infusion"], "onset_s": [np.nan], "duration_s": [np.nan], "dose": [""],
                      "date": ["2026-03-14"], "source": ["diary"]})
    assert interventions_context(_events([100.0]), t, rules=W, window=(0.0, 3600.0)) == {}


def test_process_night_writes_conditions_interventions_and_their_windows(tmp_path):
    from lmdetect.pipeline import process_night
    from tests.synth import add_burst, quiet, recording

    fs = 25.0
    a = quiet(3 * 3600, fs)
    for i in range(60):  # a PLM series in the first hour only
        add_burst(a, fs, 600.0 + 25.0 * i, 2.0, 0.3)
    diary = _diary(
        tmp_path,
        "intervention,2026-03-14T23:00:00+01:00,,,,ropinirole,0.25 mg",
        "intervention,2026-03-14,,,,iron_infusion,",
    )
    s = process_night(recording(a, fs), diary=diary).summary
    assert s["conditions"] == ["iron_infusion", "ropinirole"]
    assert [r["name"] for r in s["interventions"]] == ["ropinirole", "iron_infusion"]
    assert s["interventions"][0]["onset_s"] == 1800.0
    ctx = s["context"]["interventions"]["ropinirole"]
    # the series runs 600-2075 s: about 48 movements before the dose and 12 after it
    assert 44 <= ctx["before"]["n_plm"] <= 50 and 7 <= ctx["during"]["n_plm"] <= 12
    assert ctx["during"]["observed_h"] == pytest.approx(2.5, abs=0.01)
    plain = process_night(recording(quiet(3600, fs), fs)).summary
    assert plain["conditions"] == [] and plain["interventions"] == [] and plain["context"]["interventions"] == {}
