"""PLM/CLM rates inside vs outside diary RLS episodes, and episode timing against PLM series,
on a hand-built night whose every number is computed by hand."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lmdetect.model import empty_lm_table
from lmdetect.scoring import WASM2016, score_lms
from lmdetect.summary.rls import plm_series_spans, rls_context

W = WASM2016()
WINDOW = (0.0, 7200.0)


def lms(*rows) -> pd.DataFrame:
    return pd.DataFrame([{"onset_s": float(o), "duration_s": float(d), "side": "left", "kind": k}
                         for o, d, k in rows])


# series 0: 6 CLMs 1000-1100 (ends 1102); isolated CLMs 2000, 2500, 3000; series 1: 5000-5090
# (ends 5092); a 15-s movement at 6000 (not a CLM)
NIGHT = score_lms(lms(*[(1000 + 20 * i, 2, "lm") for i in range(6)], (2000, 2, "lm"), (2500, 2, "lm"),
                      (3000, 2, "lm"), *[(5000 + 30 * i, 2, "lm") for i in range(4)], (6000, 15, "lm")), W)


def episodes(*rows) -> pd.DataFrame:
    return pd.DataFrame([{"onset_s": a, "duration_s": b - a, "severity": s, "note": ""} for a, b, s in rows],
                        columns=["onset_s", "duration_s", "severity", "note"])


EPISODES = episodes((900.0, 1900.0, 6.0), (4000.0, 4700.0, np.nan))


def trace(masked: list[tuple[float, float]], end_s: float = 7200.0):
    """A 1-s coverage trace with the given spans not observable."""
    t = np.arange(int(end_s))
    valid = np.ones(t.size, np.float32)
    for a, b in masked:
        valid[(t >= a) & (t < b)] = 0.0
    return SimpleNamespace(block_s=1.0, t0_s=0.0, valid_frac=valid)


def test_series_spans():
    spans = plm_series_spans(NIGHT)
    assert spans.to_dict("list") == {"series_id": [0, 1], "start_s": [1000.0, 5000.0],
                                     "end_s": [1102.0, 5092.0], "n_plm": [6, 4]}


def test_rates_inside_and_outside_episodes():
    ctx = rls_context(NIGHT, EPISODES, rules=W, window=WINDOW)
    assert ctx["n_episodes"] == 2 and ctx["episodes_h"] == round(1700 / 3600, 4)
    rate = pytest.approx(6 / (1700 / 3600))
    assert ctx["inside"] == {"observed_h": round(1700 / 3600, 4), "n_plm": 6, "n_clm": 6,
                             "plm_per_h": rate, "clm_per_h": rate}
    out = ctx["outside"]
    assert (out["n_plm"], out["n_clm"]) == (4, 7)
    assert out["plm_per_h"] == pytest.approx(4 / (5500 / 3600))
    assert out["clm_per_h"] == pytest.approx(7 / (5500 / 3600))


def test_per_episode_timing_against_series():
    e1, e2 = rls_context(NIGHT, EPISODES, rules=W, window=WINDOW)["episodes"]
    assert (e1["series_overlap"], e1["series_before"], e1["series_after"]) == (1, 0, 0)
    assert e1["gap_from_series_s"] is None and e1["gap_to_series_s"] == 3100.0  # 5000 - 1900
    assert e1["severity"] == 6.0 and e1["n_plm"] == 6
    assert (e2["series_overlap"], e2["series_before"], e2["series_after"]) == (0, 0, 1)
    assert e2["gap_from_series_s"] == 2898.0 and e2["gap_to_series_s"] == 300.0  # 4000 - 1102, 5000 - 4700
    assert e2["severity"] is None
    assert e2["plm_per_h"] == 0.0  # 700 s observed: enough for a rate


def test_timing_totals():
    t = rls_context(NIGHT, EPISODES, rules=W, window=WINDOW)["timing"]
    assert t == {"n_series": 2, "n_series_overlapping": 1, "n_episodes_with_overlap": 1,
                 "n_episodes_with_series_before": 0, "n_episodes_with_series_after": 1,
                 "n_episodes_isolated": 0}
    far = rls_context(NIGHT, episodes((3300.0, 3400.0, 2.0)), rules=W, window=WINDOW, near_s=600.0)
    assert far["timing"]["n_episodes_isolated"] == 1


def test_rates_are_per_observable_hour():
    # 900-1400 masked (e.g. pad use): the first episode has 500 s observable, too little for a rate
    ctx = rls_context(NIGHT, EPISODES, rules=W, window=WINDOW, trace=trace([(900.0, 1400.0)]))
    e1 = ctx["episodes"][0]
    assert e1["observed_h"] == round(500 / 3600, 4)
    assert e1["n_plm"] == 6 and e1["plm_per_h"] is None
    assert ctx["inside"]["observed_h"] == round(1200 / 3600, 4)
    assert ctx["inside"]["plm_per_h"] == pytest.approx(6 / (1200 / 3600))


def test_only_movements_in_the_window_count():
    ctx = rls_context(NIGHT, EPISODES, rules=W, window=(0.0, 1050.0))
    assert ctx["inside"]["n_plm"] == 3  # 1000, 1020, 1040
    assert ctx["inside"]["observed_h"] == round(150 / 3600, 4)  # 900-1050
    assert ctx["outside"]["n_clm"] == 0


def test_night_without_episodes():
    ctx = rls_context(NIGHT, episodes(), rules=W, window=WINDOW)
    assert ctx["n_episodes"] == 0 and ctx["episodes"] == []
    assert ctx["inside"]["observed_h"] == 0.0 and ctx["inside"]["plm_per_h"] is None
    assert ctx["outside"]["n_plm"] == 10 and ctx["outside"]["plm_per_h"] == pytest.approx(10 / 2)


def test_night_without_movements():
    empty = score_lms(empty_lm_table(), W)
    ctx = rls_context(empty, EPISODES, rules=W, window=WINDOW)
    assert ctx["inside"]["n_plm"] == 0 and ctx["inside"]["plm_per_h"] == 0.0
    assert ctx["timing"]["n_series"] == 0 and ctx["episodes"][0]["gap_to_series_s"] is None
    assert all(not isinstance(v, float) or math.isfinite(v) for v in ctx["inside"].values() if v is not None)
