"""Logged vs detected pad sessions (overlap-based agreement) and PLMs before / after sessions."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lmdetect.scoring import WASM2016, score_lms
from lmdetect.summary.pad import pad_agreement, pad_context, pad_handling

W = WASM2016()


def sessions(*rows, extra: str = "intensity") -> pd.DataFrame:
    return pd.DataFrame([{"onset_s": a, "duration_s": b - a, extra: x} for a, b, x in rows],
                        columns=["onset_s", "duration_s", extra])


LOGGED = sessions((1000.0, 3100.0, 5), (8000.0, 10100.0, 3))
DETECTED = sessions((1300.0, 3000.0, 23.0), (20000.0, 20600.0, 30.0), extra="freq_hz")


def test_per_session_agreement():
    a = pad_agreement(LOGGED, DETECTED)
    l1, l2 = a["logged"]
    assert l1 == {"onset_s": 1000.0, "duration_s": 2100.0, "overlap_s": 1700.0,
                  "covered_fraction": round(1700 / 2100, 4), "matched": True, "onset_diff_s": 300.0,
                  "end_diff_s": -100.0, "intensity": 5.0}
    assert l2["overlap_s"] == 0.0 and not l2["matched"]
    assert l2["onset_diff_s"] is None and l2["end_diff_s"] is None
    d1, d2 = a["detected"]
    assert d1["covered_fraction"] == 1.0 and d1["matched"] and d1["onset_diff_s"] == -300.0
    assert d1["end_diff_s"] == 100.0 and d1["freq_hz"] == 23.0
    assert not d2["matched"]


def test_total_agreement():
    a = pad_agreement(LOGGED, DETECTED)
    assert a["status"] == "both"
    assert (a["n_logged"], a["n_detected"], a["n_logged_matched"], a["n_detected_matched"]) == (2, 2, 1, 1)
    assert a["logged_h"] == round(4200 / 3600, 4) and a["detected_h"] == round(2300 / 3600, 4)
    assert a["overlap_h"] == round(1700 / 3600, 4) and a["union_h"] == round(4800 / 3600, 4)
    assert a["jaccard"] == round(1700 / 4800, 4)
    assert a["logged_fraction_detected"] == round(1700 / 4200, 4)
    assert a["detected_fraction_logged"] == round(1700 / 2300, 4)


def test_agreement_when_one_source_is_missing():
    none = pad_agreement(None, sessions())
    assert none["status"] == "none" and none["jaccard"] is None and none["logged_fraction_detected"] is None
    log_only = pad_agreement(LOGGED, None)
    assert log_only["status"] == "log_only" and log_only["jaccard"] == 0.0
    assert log_only["logged_fraction_detected"] == 0.0 and log_only["detected_fraction_logged"] is None
    det_only = pad_agreement(None, DETECTED)
    assert det_only["status"] == "detected_only" and det_only["n_detected_matched"] == 0


def test_identical_sources_agree_fully():
    a = pad_agreement(LOGGED, LOGGED.rename(columns={"intensity": "freq_hz"}))
    assert a["jaccard"] == 1.0 and a["n_logged_matched"] == 2 and a["n_detected_matched"] == 2


def _events(onsets: list[float]) -> pd.DataFrame:
    return score_lms(pd.DataFrame({"onset_s": onsets, "duration_s": 2.0, "side": "left", "kind": "lm"}), W)


def _trace(masked: tuple[float, float], end_s: float = 10800.0):
    t = np.arange(int(end_s))
    valid = np.ones(t.size, np.float32)
    valid[(t >= masked[0]) & (t < masked[1])] = 0.0
    return SimpleNamespace(block_s=1.0, t0_s=0.0, valid_frac=valid)


# a 35-min session at 3600-5700 s, masked with a 60-s margin after the end; 10 PLMs 20 s apart
# from 1900 s (before) and 6 PLMs 20 s apart from 5800 s (after the end)
EVENTS = _events([1900.0 + 20 * i for i in range(10)] + [5800.0 + 20 * i for i in range(6)])
SESSION = sessions((3600.0, 5700.0, 4))
TRACE = _trace((3600.0, 5760.0))


def test_plms_before_and_after_a_session():
    ctx = pad_context(EVENTS, SESSION, None, rules=W, window=(0.0, 10800.0), trace=TRACE)
    assert ctx["source"] == "log" and ctx["n_sessions"] == 1 and ctx["sessions_h"] == round(2100 / 3600, 4)
    w = ctx["windows"]
    assert w["window_s"] == 1800.0
    assert w["before"] == {"observed_h": 0.5, "n_plm": 10, "n_clm": 10, "plm_per_h": 20.0, "clm_per_h": 20.0}
    # the 30 min after the start lie inside the masked session: nothing observable, no rate
    assert w["after_start"]["observed_h"] == 0.0 and w["after_start"]["plm_per_h"] is None
    assert w["after_end"]["observed_h"] == round(1740 / 3600, 4)
    assert w["after_end"]["n_plm"] == 6 and w["after_end"]["plm_per_h"] == pytest.approx(6 / (1740 / 3600))
    assert w["sessions"][0]["before"] == w["before"]
    assert ctx["inside"]["observed_h"] == 0.0 and ctx["inside"]["plm_per_h"] is None
    assert ctx["outside"]["n_plm"] == 16


def test_detected_sessions_are_the_reference_without_a_log():
    det = sessions((3600.0, 5700.0, 23.0), extra="freq_hz")
    ctx = pad_context(EVENTS, None, det, rules=W, window=(0.0, 10800.0), trace=TRACE)
    assert ctx["source"] == "detected" and ctx["windows"]["before"]["n_plm"] == 10
    assert pad_context(EVENTS, None, None, rules=W, window=(0.0, 10800.0))["source"] is None


def test_a_repeated_cycle_is_one_session():
    log = sessions((3600.0, 5700.0, 4), (5700.0, 7800.0, 4))
    ctx = pad_context(EVENTS, log, None, rules=W, window=(0.0, 10800.0))
    assert ctx["n_sessions"] == 1 and ctx["sessions_h"] == round(4200 / 3600, 4)
    assert ctx["agreement"]["n_logged"] == 2


def test_pooled_windows_do_not_count_a_movement_twice():
    # before-windows of sessions at 2000 and 2500 s overlap over 700-2000 s
    ev = _events([800.0 + 20 * i for i in range(5)])
    log = sessions((2000.0, 2300.0, 4), (2500.0, 2800.0, 4))
    w = pad_context(ev, log, None, rules=W, window=(0.0, 10800.0))["windows"]
    per_session = sum(s["before"]["n_plm"] for s in w["sessions"])
    assert per_session == 10 and w["before"]["n_plm"] == 5
    assert w["before"]["observed_h"] == round(2300 / 3600, 4)  # union of 200-2000 and 700-2500 s


def _masks(*rows) -> pd.DataFrame:
    return pd.DataFrame([{"onset_s": a, "duration_s": b - a, "source": s} for a, b, s in rows],
                        columns=["onset_s", "duration_s", "source"])


def _coverage(masks: pd.DataFrame, end_s: float = 30000.0) -> SimpleNamespace:
    """A 1-s coverage trace: 0 inside the masks, 1 elsewhere."""
    valid = np.ones(int(end_s), dtype=np.float32)
    for a, d in zip(masks["onset_s"], masks["duration_s"], strict=True):
        valid[int(a):int(a + d)] = 0.0
    return SimpleNamespace(block_s=1.0, t0_s=0.0, valid_frac=valid)


def test_handling_records_what_was_masked_and_what_was_observable():
    # detected vibration masked with 30 s either side; the logged sessions themselves not masked
    masks = _masks((1270.0, 3030.0, "detected"), (19970.0, 20630.0, "detected"))
    a = pad_agreement(LOGGED, DETECTED)
    totals = pad_handling(a, masks, _coverage(masks))
    l1, l2 = a["logged"]
    assert l1["handling"] == "measured" and l1["masked_s"] == 1760.0 and l1["observable_s"] == 340.0
    assert l2["handling"] == "measured" and l2["masked_s"] == 0.0 and l2["observable_s"] == 2100.0
    assert [e["handling"] for e in a["detected"]] == ["masked", "masked"]
    assert [e["observable_s"] for e in a["detected"]] == [0.0, 0.0]
    assert totals["logged"] == {"n_sessions": 2, "n_masked": 0, "n_by_handling": {"measured": 2},
                                "sessions_h": round(4200 / 3600, 4), "masked_h": round(1760 / 3600, 4),
                                "observable_h": round(2440 / 3600, 4), "unobservable_h": 0.0,
                                "masked_by_h": {"detected": round(1760 / 3600, 4)}}
    assert totals["detected"]["n_masked"] == 2 and totals["detected"]["observable_h"] == 0.0


def test_handling_of_masked_logged_sessions_and_of_time_without_signal():
    masks = _masks((1000.0, 3160.0, "log"), (8000.0, 10160.0, "log"))
    trace = _coverage(masks)
    trace.valid_frac[20000:20300] = 0.0  # a gap inside the second detected session
    a = pad_agreement(LOGGED, DETECTED)
    totals = pad_handling(a, masks, trace)
    assert totals["logged"]["n_masked"] == 2 and totals["logged"]["observable_h"] == 0.0
    d1, d2 = a["detected"]
    assert d1["handling"] == "measured" and d1["masked_s"] == 1700.0  # inside a masked logged session
    assert d2["handling"] == "measured" and d2["observable_s"] == 300.0
    assert totals["detected"]["unobservable_h"] == round(300 / 3600, 4)


def test_context_without_masks_records_every_session_as_measured():
    ctx = pad_context(EVENTS, LOGGED, None, rules=W, window=(0.0, 30000.0))
    assert [e["handling"] for e in ctx["agreement"]["logged"]] == ["measured", "measured"]
    assert ctx["handling"]["logged"]["observable_h"] == round(4200 / 3600, 4)
    assert ctx["handling"]["detected"]["n_sessions"] == 0


def test_masked_time_is_recorded_per_mask_source():
    masks = _masks((1500.0, 1600.0, "residual"), (8000.0, 10160.0, "log"))
    a = pad_agreement(LOGGED, DETECTED)
    totals = pad_handling(a, masks, _coverage(masks))
    assert totals["logged"]["masked_by_h"] == {"log": round(2100 / 3600, 4), "residual": round(100 / 3600, 4)}
    assert totals["detected"]["masked_by_h"] == {"residual": round(100 / 3600, 4)}


def test_every_session_of_either_source_gets_its_rates_before_during_and_after():
    ctx = pad_context(EVENTS, LOGGED, DETECTED, rules=W, window=(0.0, 30000.0))
    l1, l2 = ctx["agreement"]["logged"]
    d1, d2 = ctx["agreement"]["detected"]
    # the 10-movement series at 1900-2080 s lies under the first logged and the first detected session
    assert l1["rates"]["during"]["n_plm"] == 10 and d1["rates"]["during"]["n_plm"] == 10
    assert l1["rates"]["during"]["observed_h"] == round(2100 / 3600, 4)
    assert l1["rates"]["during"]["plm_per_h"] == pytest.approx(10 / (2100 / 3600))
    # before the first logged session only 1000 s lie inside the window
    assert l1["rates"]["before"]["observed_h"] == round(1000 / 3600, 4) and l1["rates"]["before"]["n_plm"] == 0
    # the 6 movements at 5800-5900 s are 2100 s before the second session: outside its 30 min
    assert l2["rates"]["before"]["n_plm"] == 0 and l2["rates"]["during"]["n_plm"] == 0
    assert d2["rates"]["after"]["observed_h"] == 0.5 and d2["rates"]["after"]["n_plm"] == 0
    # the reference windows (logged sessions) are unchanged by the per-session rates
    assert ctx["windows"]["sessions"][0]["after_start"]["n_plm"] == 10
