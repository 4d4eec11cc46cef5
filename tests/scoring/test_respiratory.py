"""Respiratory association: WASM 2016's CLMr window around the event end, and AASM's exclusion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lmdetect.errors import LmdetectError
from lmdetect.scoring import AASM, WASM2016, score_lms

A = AASM()
W = WASM2016()

# one hypopnea from 100 to 120 s: WASM window [118, 130.25]; AASM exclusion [99.5, 120.5]
RESP = pd.DataFrame({"onset_s": [100.0], "duration_s": [20.0], "kind": ["hypopnea"]})


def lms(*rows):
    return pd.DataFrame(
        [
            {"onset_s": on, "duration_s": du, "side": "left", "kind": k}
            for on, du, k in ((*r, "lm")[:3] for r in rows)
        ]
    )


def clmr(rows, rules=W):
    out = score_lms(lms(*rows), rules, respiratory=RESP)
    return dict(zip(out["onset_s"], out["is_clmr"], strict=True))


def test_wasm_window_starts_2_s_before_the_event_end():
    assert clmr([(116.0, 2.0)]) == {116.0: True}  # ends exactly at end - 2.0 s
    assert clmr([(115.99, 2.0)]) == {115.99: False}  # ends 0.01 s before the window


def test_wasm_window_ends_10_25_s_after_the_event_end():
    assert clmr([(130.25, 1.0)]) == {130.25: True}
    assert clmr([(130.26, 1.0)]) == {130.26: False}


def test_wasm_lm_during_the_event_but_before_the_window_is_not_clmr():
    # the WASM window is anchored at the END of the event, not the event itself
    assert clmr([(105.0, 2.0)]) == {105.0: False}


def test_wasm_any_overlap_counts():
    assert clmr([(110.0, 9.0)]) == {110.0: True}  # starts before the window, ends inside it


def test_only_clms_are_flagged():
    assert clmr([(119.0, 12.0)]) == {119.0: False}  # 12 s: not a CLM


def test_wasm_clmr_stays_in_the_primary_series_and_plmnr_drops_it():
    out = score_lms(lms((80, 2.0), (100, 2.0), (120, 2.0), (140, 2.0)), W, respiratory=RESP)
    assert list(out["is_clmr"]) == [False, False, True, False]
    assert out["in_plm_series"].all()  # primary index includes all CLMs
    assert not out["in_plmnr_series"].any()  # without the CLMr: 80, 100, 140 is a run of 3


def test_wasm_plmnr_recomputes_intervals_across_removed_clmr():
    out = score_lms(lms((80, 2.0), (100, 2.0), (120, 2.0), (140, 2.0), (160, 2.0)), W, respiratory=RESP)
    assert out["in_plm_series"].all()
    # 80, 100, 140 (IMI 40), 160 is still a series without the CLMr at 120
    assert list(out["in_plmnr_series"]) == [True, True, False, True, True]


def test_no_respiratory_table_means_no_clmr():
    out = score_lms(lms((80, 2.0), (100, 2.0), (120, 2.0), (140, 2.0)), W)
    assert not out["is_clmr"].any()
    assert (out["in_plmnr_series"] == out["in_plm_series"]).all()
    assert out.attrs["respiratory"] is False


def test_aasm_exclusion_edges_half_a_second_around_the_event():
    assert clmr([(98.0, 1.5)], A) == {98.0: True}  # ends at onset - 0.5 s
    assert clmr([(98.0, 1.49)], A) == {98.0: False}
    assert clmr([(120.5, 1.0)], A) == {120.5: True}  # starts at end + 0.5 s
    assert clmr([(120.51, 1.0)], A) == {120.51: False}
    assert clmr([(105.0, 2.0)], A) == {105.0: True}  # during the event


def test_aasm_excluded_lms_are_skipped_not_breakers():
    out = score_lms(lms((60, 2.0), (80, 2.0), (105, 2.0), (130, 2.0), (150, 2.0)), A, respiratory=RESP)
    row = out.set_index("onset_s")
    assert row.loc[105.0, "is_clmr"] and not row.loc[105.0, "in_plm_series"]
    assert np.isnan(row.loc[105.0, "imi_s"])
    # 60, 80, 130 (IMI 50 across the excluded LM), 150
    assert list(out[out["in_plm_series"]]["onset_s"]) == [60, 80, 130, 150]
    assert row.loc[130.0, "imi_s"] == 50.0
    assert (out["in_plmnr_series"] == out["in_plm_series"]).all()


def test_respiratory_table_is_validated():
    with pytest.raises(LmdetectError, match="duration_s"):
        score_lms(lms((0, 1.0)), W, respiratory=pd.DataFrame({"onset_s": [1.0]}))
    with pytest.raises(LmdetectError, match="finite"):
        score_lms(lms((0, 1.0)), W, respiratory=pd.DataFrame({"onset_s": [1.0], "duration_s": [-2.0]}))


def test_many_overlapping_respiratory_windows():
    # a long event whose window covers a later short event's window must still be found
    resp = pd.DataFrame({"onset_s": [0.0, 50.0, 52.0], "duration_s": [100.0, 1.0, 1.0]})
    out = score_lms(lms((60, 1.0), (99, 1.0), (101, 1.0)), A, respiratory=resp)
    assert list(out["is_clmr"]) == [True, True, False]  # the long event's exclusion ends at 100.5 s
