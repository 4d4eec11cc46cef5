"""One hand-built case per AASM v2.x rule, each next to what WASM 2016 does with the same input."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lmdetect.scoring import AASM, WASM2016, score_lms

A = AASM()
W = WASM2016()


def table(*rows: tuple) -> pd.DataFrame:
    """Rows (onset_s, duration_s[, side[, kind]])."""
    out = [
        dict(
            zip(
                ("onset_s", "duration_s", "side", "kind"),
                (list(r) + ["left", "lm"][len(r) - 2 :])[:4],
                strict=True,
            )
        )
        for r in rows
    ]
    return pd.DataFrame(out, columns=["onset_s", "duration_s", "side", "kind"])


def train(onsets, duration=2.0, side="left"):
    return [(float(t), duration, side) for t in onsets]


def series_of(scored: pd.DataFrame) -> list[list[float]]:
    s = scored[scored["series_id"] >= 0]
    return [list(g["onset_s"]) for _, g in s.groupby("series_id", sort=True)]


def test_aasm_imi_lower_bound_5_s_inclusive():
    out = score_lms(table(*train([0, 5, 10, 15])), A)
    assert series_of(out) == [[0, 5, 10, 15]]
    # WASM needs 10 s
    assert series_of(score_lms(table(*train([0, 5, 10, 15])), W)) == []


def test_aasm_imi_upper_bound_90_s_inclusive():
    assert series_of(score_lms(table(*train([0, 90, 180, 270])), A)) == [[0, 90, 180, 270]]
    assert series_of(score_lms(table(*train([0, 90, 180, 270.01])), A)) == []


def test_aasm_short_imi_lm_is_skipped_and_the_run_survives():
    lms = table(*train([0, 20, 40, 43, 60, 80]))
    out = score_lms(lms, A)
    assert series_of(out) == [[0, 20, 40, 60, 80]]
    row = out.set_index("onset_s")
    assert row.loc[43.0, "is_clm"] and not row.loc[43.0, "in_plm_series"]
    # imi_s stays the plain interval to the previous CLM
    assert row.loc[43.0, "imi_s"] == 3.0 and row.loc[60.0, "imi_s"] == 17.0
    # WASM: the short interval ends the run (0-40: 3 CLMs) and 43 starts a new one (43, 60, 80: 3)
    assert series_of(score_lms(lms, W)) == []


def test_aasm_several_short_imis_in_a_row_are_all_skipped():
    out = score_lms(table(*train([0, 20, 40, 42, 44, 60, 80])), A)
    assert series_of(out) == [[0, 20, 40, 60, 80]]


def test_aasm_bilateral_onsets_less_than_5_s_apart():
    merged = score_lms(table((0, 1.0, "left"), (4.99, 1.0, "right")), A)
    assert list(merged["side"]) == ["both"] and merged["duration_s"].iloc[0] == 5.99
    apart = score_lms(table((0, 1.0, "left"), (5.0, 1.0, "right")), A)
    assert list(apart["side"]) == ["left", "right"]
    # WASM merges only overlap or < 0.5 s offset-to-onset
    assert list(score_lms(table((0, 1.0, "left"), (4.99, 1.0, "right")), W)["side"]) == ["left", "right"]


def test_aasm_same_leg_lms_are_not_merged_by_the_5_s_rule():
    out = score_lms(table((0, 1.0, "left"), (3.0, 1.0, "left")), A)
    assert list(out["side"]) == ["left", "left"]


def test_aasm_has_no_bilateral_duration_or_count_limit():
    chain = [(0, 5.0, "left"), (4, 5.0, "right"), (6, 5.0, "left"), (10, 5.0, "right"), (14, 5.0, "left")]
    a = score_lms(table(*chain), A)
    assert len(a) == 1 and a["n_mono"].iloc[0] == 5 and a["duration_s"].iloc[0] == 19.0
    assert a["is_clm"].iloc[0]
    w = score_lms(table(*chain), W)
    assert len(w) == 1 and not w["is_clm"].iloc[0]  # > 15 s and > 4 monolateral LMs


def test_aasm_mono_lm_over_10_s_is_not_an_lm_and_breaks_the_series():
    out = score_lms(table(*train([0, 20, 40]), (60, 10.5), *train([80, 100, 120])), A)
    assert series_of(out) == []
    assert not out.set_index("onset_s").loc[60.0, "is_clm"]


def test_aasm_min_series_length_4():
    assert series_of(score_lms(table(*train([0, 20, 40])), A)) == []
    assert series_of(score_lms(table(*train([0, 20, 40, 60])), A)) == [[0, 20, 40, 60]]


def test_aasm_imi_of_skipped_lm_does_not_enter_the_series_interval():
    # 40 -> 44 is short (skipped); the next interval is measured from 40, and 40 -> 131 > 90 s
    out = score_lms(table(*train([0, 20, 40, 44, 131, 150, 170, 190])), A)
    assert series_of(out) == [[131, 150, 170, 190]]
    assert not out.set_index("onset_s")["in_plm_series"][[0.0, 20.0, 40.0, 44.0]].any()
    assert np.isnan(out["imi_s"].iloc[0])
