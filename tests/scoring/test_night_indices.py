"""Stage at onset, PLMS vs PLMW, and the night indices on a hand-computed night."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from lmdetect.errors import LmdetectError
from lmdetect.scoring import AASM, INDEX_KEYS, WASM2016, SleepInfo, night_indices, score_lms

W = WASM2016()


def hypnogram(*runs: tuple[str, int]) -> pd.DataFrame:
    """Runs of (stage, n 30-s epochs) from t = 0."""
    stages = [s for s, n in runs for _ in range(n)]
    return pd.DataFrame({"onset_s": np.arange(len(stages)) * 30.0, "duration_s": 30.0, "stage": stages})


def lms(*rows):
    return pd.DataFrame(
        [{"onset_s": float(r[0]), "duration_s": float(r[1]), "side": "left", "kind": "lm"} for r in rows]
    )


# 0-60 W, 60-360 N2, 360-420 W, 420-600 R: TST 480 s, wake 120 s, TIB 600 s
HYP = hypnogram(("W", 2), ("N2", 10), ("W", 2), ("R", 6))
# series 0: 100-160 (N2); breaker 200 (12 s); series 1: 300-340 (N2) and 365, 385 (W); isolated 500 (R)
NIGHT = lms(
    (100, 2),
    (120, 2),
    (140, 2),
    (160, 2),
    (200, 12),
    (300, 2),
    (320, 2),
    (340, 2),
    (365, 2),
    (385, 2),
    (500, 2),
)


def test_stage_at_onset():
    out = score_lms(lms((29.99, 5), (60.0, 2), (359, 3), (600, 1)), W, hypnogram=HYP)
    # an LM takes the stage of the epoch containing its onset, even if it runs into the next one
    assert list(out["stage"]) == ["W", "N2", "N2", ""]


def test_plms_and_plmw_by_stage_at_onset_and_series_cross_wake():
    out = score_lms(NIGHT, W, hypnogram=HYP).set_index("onset_s")
    # the series started in N2 continues into wake (series are built on the whole recording)
    assert list(out.loc[[300.0, 320.0, 340.0, 365.0, 385.0], "series_id"]) == [1] * 5
    assert list(out.loc[[300.0, 365.0], "stage"]) == ["N2", "W"]
    assert out.loc[300.0, "is_plms"] and not out.loc[300.0, "is_plmw"]
    assert out.loc[365.0, "is_plmw"] and not out.loc[365.0, "is_plms"]
    assert not out.loc[500.0, "is_plms"]  # CLM in sleep, not periodic


def test_night_indices_hand_computed():
    scored = score_lms(NIGHT, W, hypnogram=HYP)
    ix = night_indices(scored, SleepInfo.from_hypnogram(HYP), W)
    assert tuple(ix) == INDEX_KEYS
    assert (ix["tib_h"], ix["tst_h"], ix["wake_h"]) == pytest.approx((600 / 3600, 480 / 3600, 120 / 3600))
    assert (ix["n_lm"], ix["n_clm"], ix["n_clms"], ix["n_clmw"]) == (11, 10, 8, 2)
    assert (ix["n_plm"], ix["n_plms"], ix["n_plmw"], ix["n_series"]) == (9, 7, 2, 2)
    assert ix["plms_index"] == pytest.approx(7 / (480 / 3600))  # 52.5
    assert ix["plmw_index"] == pytest.approx(2 / (120 / 3600))  # 60
    assert ix["clms_index"] == ix["clm_index"] == pytest.approx(8 / (480 / 3600))
    assert ix["clmw_index"] == pytest.approx(60.0)
    assert ix["plm_index_tib"] == pytest.approx(54.0) and ix["clm_index_tib"] == pytest.approx(60.0)
    assert ix["plm_per_hour_of_night"] == [9]
    # IMIs ending at CLMs in sleep: 20, 20, 20 (series 0), 20, 20 (series 1 in N2), 115 (at 500)
    assert ix["imi_scope"] == "sleep" and ix["n_imi"] == 6
    assert ix["imi_median_s"] == 20.0
    assert ix["imi_geometric_mean_s"] == pytest.approx(math.exp((5 * math.log(20) + math.log(115)) / 6))
    assert (ix["n_imi_lt10"], ix["n_imi_10_90"], ix["n_imi_gt90"]) == (0, 5, 1)
    # periodic runs: 120-160 (3 IMIs) and 320-385 (4); in sleep 5 of the 6 IMIs are periodic
    assert ix["periodicity_index"] == pytest.approx(5 / 6)
    assert ix["plm_clm_ratio"] == pytest.approx(7 / 8)
    assert (ix["n_clmr"], ix["n_plmsnr"], ix["plmnr_index"]) == (None, None, None)
    assert ix["rule_set"] == "wasm2016" and ix["sleep_source"] == "hypnogram"
    assert ix["respiratory_scored"] is False


def test_indices_are_json_serialisable():
    ix = night_indices(score_lms(NIGHT, W, hypnogram=HYP), SleepInfo.from_hypnogram(HYP), W)
    text = json.dumps(ix, allow_nan=False)
    assert json.loads(text) == ix
    for v in ix.values():
        assert v is None or type(v) in (int, float, str, bool, list)


def test_respiratory_indices():
    resp = pd.DataFrame({"onset_s": [125.0], "duration_s": [10.0], "kind": ["apnea"]})  # window 133-145.25
    scored = score_lms(NIGHT, W, hypnogram=HYP, respiratory=resp)
    ix = night_indices(scored, SleepInfo.from_hypnogram(HYP), W)
    assert ix["respiratory_scored"] is True
    assert ix["n_clmr"] == 1  # the CLM at 140
    assert ix["n_plms"] == 7  # the primary index keeps it
    # without it, 100, 120, 160 is too short a run: PLMSnr are 300, 320, 340
    assert ix["n_plmsnr"] == 3
    assert ix["plmnr_index"] == pytest.approx(3 / (480 / 3600))


def test_aasm_indices_do_not_count_excluded_lms():
    resp = pd.DataFrame({"onset_s": [125.0], "duration_s": [10.0], "kind": ["apnea"]})  # excl. 124.5-135.5
    a = AASM()
    ix = night_indices(score_lms(NIGHT, a, hypnogram=HYP, respiratory=resp), SleepInfo.from_hypnogram(HYP), a)
    # 140 (140-142) is outside the AASM exclusion, so nothing is excluded
    assert ix["n_clmr"] == 0 and ix["n_clm"] == 10
    resp2 = pd.DataFrame({"onset_s": [139.0], "duration_s": [10.0], "kind": ["apnea"]})
    ix2 = night_indices(
        score_lms(NIGHT, a, hypnogram=HYP, respiratory=resp2), SleepInfo.from_hypnogram(HYP), a
    )
    assert ix2["n_clmr"] == 1 and ix2["n_clm"] == 9
    # 100, 120, 160 (IMI 40 across the excluded LM) is a run of 3 now: PLMS are 300, 320, 340
    assert ix2["n_plms"] == 3


def test_zero_tst_gives_none_not_inf():
    all_wake = hypnogram(("W", 20))
    ix = night_indices(score_lms(NIGHT, W, hypnogram=all_wake), SleepInfo.from_hypnogram(all_wake), W)
    assert ix["tst_h"] == 0.0
    for key in ("plms_index", "clm_index", "clms_index"):
        assert ix[key] is None
    assert ix["plmw_index"] == pytest.approx(9 / (600 / 3600))
    json.dumps(ix, allow_nan=False)


def test_without_hypnogram_only_time_in_bed_indices():
    ix = night_indices(score_lms(NIGHT, W), SleepInfo(None, 0.0, 600.0, "none"), W)
    assert ix["tst_h"] is None and ix["wake_h"] is None
    assert ix["plms_index"] is None and ix["plmw_index"] is None and ix["clm_index"] is None
    assert ix["plm_index_tib"] == pytest.approx(54.0)
    assert ix["imi_scope"] == "tib" and ix["n_imi"] == 8  # every finite IMI in bed
    assert ix["sleep_source"] == "none"


def test_hypnogram_in_sleep_info_overrides_missing_stages():
    scored = score_lms(NIGHT, W)  # scored without hypnogram
    ix = night_indices(scored, SleepInfo.from_hypnogram(HYP), W)
    assert ix["n_plms"] == 7 and ix["n_plmw"] == 2


def test_counts_only_inside_time_in_bed():
    scored = score_lms(NIGHT, W, hypnogram=HYP)
    ix = night_indices(scored, SleepInfo(HYP, 110.0, 600.0), W)
    # 100 is before lights off: not counted, but 120-160 stay PLMs (series use the whole record)
    assert ix["n_plm"] == 8 and ix["n_plms"] == 6
    assert ix["tst_h"] == pytest.approx((480 - 50) / 3600)


def test_plm_per_hour_of_night():
    onsets = [100, 120, 140, 160, 7200, 7220, 7240, 7260, 7280]
    ix = night_indices(score_lms(lms(*[(t, 2) for t in onsets]), W), SleepInfo(None, 50.0, 7300.0, "none"), W)
    # clock hours from lights off (50 s): [50, 3650), [3650, 7250), [7250, 7300) (partial)
    assert ix["plm_per_hour_of_night"] == [4, 3, 2]


def test_rule_set_mismatch_is_an_error():
    with pytest.raises(LmdetectError, match="scored with 'wasm2016'"):
        night_indices(score_lms(NIGHT, W), SleepInfo(None, 0.0, 600.0), AASM())


def test_sleep_info_validation():
    with pytest.raises(LmdetectError, match="before it starts"):
        SleepInfo(None, 100.0, 50.0)
    with pytest.raises(LmdetectError, match="finite"):
        SleepInfo(None, float("nan"), 50.0)
    overlapping = pd.DataFrame({"onset_s": [0.0, 20.0], "duration_s": [30.0, 30.0], "stage": ["W", "N1"]})
    with pytest.raises(LmdetectError, match="overlap"):
        SleepInfo(overlapping, 0.0, 50.0)
    with pytest.raises(LmdetectError, match="invalid stage"):
        SleepInfo(pd.DataFrame({"onset_s": [0.0], "duration_s": [30.0], "stage": ["N4"]}), 0.0, 30.0)


def test_missing_columns_are_reported():
    with pytest.raises(LmdetectError, match="imi_s"):
        night_indices(score_lms(NIGHT, W).drop(columns=["imi_s"]), SleepInfo(None, 0.0, 600.0), W)


def test_plms_arousal_index_counts_plms_in_sleep_with_an_arousal():
    # arousals with the PLMS at 140 (N2) and the PLM at 365 (in wake: a PLMW, not counted)
    arousals = pd.DataFrame({"onset_s": [141.0, 366.0], "duration_s": [4.0, 4.0]})
    ix = night_indices(score_lms(NIGHT, W, hypnogram=HYP, arousals=arousals), SleepInfo.from_hypnogram(HYP), W)
    assert ix["arousals_scored"] is True and ix["n_plms_arousal"] == 1
    assert ix["plms_arousal_index"] == pytest.approx(1 / (480 / 3600))
    plain = night_indices(score_lms(NIGHT, W, hypnogram=HYP), SleepInfo.from_hypnogram(HYP), W)
    assert plain["n_plms_arousal"] is None and plain["plms_arousal_index"] is None
