"""Property tests of score_lms on random nights (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmdetect.scoring import AASM, WASM2016, score_lms

EPS = 1e-6
RULES = st.sampled_from([WASM2016(), AASM()])

# intervals mix bilateral-merge range, short IMIs, long gaps and (most often) periodic IMIs, so
# that series, short intervals inside runs and breakers all occur often
periodic = st.floats(8.0, 95.0)
gap = st.one_of(
    st.floats(0.0, 3.0), st.floats(3.0, 12.0), periodic, periodic, periodic, st.floats(85.0, 200.0)
).map(lambda x: round(x, 2))
short = st.floats(0.1, 4.0)
movement = st.tuples(
    gap,
    st.one_of(short, short, short, st.floats(4.0, 16.0)).map(lambda x: round(x, 2)),
    st.sampled_from(["left", "right", "left", "right", "unknown"]),
    st.sampled_from(["lm"] * 8 + ["voluntary", "long", "posture", "gross"]),
)


@st.composite
def nights(draw):
    rows = draw(st.lists(movement, max_size=60))
    t = np.cumsum([r[0] for r in rows]) if rows else np.zeros(0)
    lms = pd.DataFrame(
        {
            "onset_s": np.round(t, 2),
            "duration_s": [r[1] for r in rows],
            "side": [r[2] for r in rows],
            "kind": [r[3] for r in rows],
            "amplitude_mg": draw(st.lists(st.floats(1, 500), min_size=len(rows), max_size=len(rows))),
        }
    )
    resp = None
    if rows and draw(st.booleans()):
        k = draw(st.integers(1, 5))
        on = draw(st.lists(st.floats(0, float(t[-1]) + 10), min_size=k, max_size=k))
        du = draw(st.lists(st.floats(5, 40), min_size=k, max_size=k))
        resp = pd.DataFrame({"onset_s": on, "duration_s": du, "kind": "apnea"})
    return lms, resp


SETTINGS = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(nights(), RULES)
def test_series_have_enough_members_with_intervals_in_bounds(night, rules):
    lms, resp = night
    out = score_lms(lms, rules, respiratory=resp)
    ids = out["series_id"].to_numpy()
    k = ids.max(initial=-1) + 1
    assert set(ids[ids >= 0]) == set(range(k))  # numbered 0..k-1
    first_onsets = []
    for sid in range(k):
        members = out[out["series_id"] == sid]
        assert len(members) >= rules.min_series_length
        assert members["is_clm"].all() and members["in_plm_series"].all()
        if rules.respiratory_excludes:
            assert not members["is_clmr"].any()
        d = np.diff(members["onset_s"].to_numpy())
        assert ((d >= rules.imi_min_s - EPS) & (d <= rules.imi_max_s + EPS)).all()
        first_onsets.append(members["onset_s"].iloc[0])
    assert first_onsets == sorted(first_onsets)
    assert (out["in_plm_series"] == (out["series_id"] >= 0)).all()


@SETTINGS
@given(nights(), RULES)
def test_output_is_sorted_and_every_movement_is_long_enough(night, rules):
    lms, resp = night
    out = score_lms(lms, rules, respiratory=resp)
    assert out["onset_s"].is_monotonic_increasing
    assert (out["duration_s"] >= rules.lm_min_duration_s - EPS).all()
    assert (out["n_mono"] >= 1).all()
    assert not (out["is_plms"] & out["is_plmw"]).any()
    assert not ((out["is_plms"] | out["is_plmw"]) & ~out["in_plm_series"]).any()
    # no two movements of one leg are closer than the same-leg merge gap
    for side, g in out[out["side"] != "both"].groupby("side"):
        on = g["onset_s"].to_numpy()
        off = on + g["duration_s"].to_numpy()
        assert (on[1:] - off[:-1] >= rules.same_leg_merge_gap_s - EPS).all(), side
    if rules.bilateral_reference == "offset":
        # WASM: after the iterative merge every movement starts >= 0.5 s after all earlier ones end
        on = out["onset_s"].to_numpy()
        end = np.maximum.accumulate((out["onset_s"] + out["duration_s"]).to_numpy())
        assert (on[1:] - end[:-1] >= rules.bilateral_gap_s - EPS).all()


@SETTINGS
@given(nights(), RULES, st.randoms(use_true_random=False))
def test_result_does_not_depend_on_input_order(night, rules, rnd):
    lms, resp = night
    idx = list(range(len(lms)))
    rnd.shuffle(idx)
    a = score_lms(lms, rules, respiratory=resp)
    b = score_lms(lms.iloc[idx].reset_index(drop=True), rules, respiratory=resp)
    pd.testing.assert_frame_equal(a, b)


@SETTINGS
@given(nights())
def test_wasm_every_qualifying_run_of_four_is_found(night):
    # completeness: 4 consecutive CLMs with no breaker between and every IMI in [10, 90] s are
    # one series
    lms, _ = night
    rules = WASM2016()
    out = score_lms(lms, rules)
    clm = out["is_clm"].to_numpy()
    imi = out["imi_s"].to_numpy()
    ids = out["series_id"].to_numpy()
    ok = clm & (imi >= rules.imi_min_s - EPS) & (imi <= rules.imi_max_s + EPS)
    for i in range(len(out) - 3):
        if clm[i] and ok[i + 1 : i + 4].all():
            assert ids[i] >= 0 and (ids[i : i + 4] == ids[i]).all()


@SETTINGS
@given(nights())
def test_wasm_rescoring_its_own_output_changes_nothing(night):
    lms, _ = night
    rules = WASM2016()
    first = score_lms(lms, rules)
    again = score_lms(first[["onset_s", "duration_s", "side", "kind", "amplitude_mg", "n_mono"]], rules)
    for col in ("onset_s", "duration_s", "side", "is_clm", "series_id", "n_mono", "kind"):
        assert list(first[col]) == list(again[col]), col
