"""Clock alignment from onset trains alone."""

import numpy as np
import pytest

from lmdetect.agreement.align import MIN_PAIRS, AgreementError, align_onsets, user_alignment


def _plm_like_train(rng, hours=8.0):
    """Runs of movements about 25 s apart, separated by quiet stretches of 1-10 min."""
    t, x = [], 300.0
    while x < hours * 3600:
        if rng.random() < 0.3:
            x += rng.uniform(60, 600)
        x += rng.normal(25, 3)
        t.append(x)
    return np.array(t)


def test_offset_and_drift_recovered_from_incomplete_jittered_trains():
    rng = np.random.default_rng(1)
    truth = _plm_like_train(rng)
    sensor = truth[rng.random(truth.size) < 0.9]
    ref_all = truth + 37.0 + 20e-6 * truth + rng.normal(0, 0.2, truth.size)
    ref = ref_all[rng.random(truth.size) < 0.9]
    a = align_onsets(sensor, ref)
    assert a.method == "estimated" and a.drift_fitted
    assert abs(a.offset_s - 37.0) < 0.2
    assert abs(a.drift_ppm - 20.0) < 8.0
    assert a.offset_se_s is not None and 0 < a.offset_se_s < 0.1
    assert a.drift_se_ppm is not None and abs(a.drift_ppm - 20.0) < 4 * a.drift_se_ppm
    assert a.n_pairs > 0.7 * truth.size
    # the mapping puts the sensor's onsets on the reference clock
    assert np.allclose(a.to_reference(truth), truth + a.offset_s + a.drift_ppm * 1e-6 * truth)


def test_nominal_offset_from_file_starts_is_added():
    rng = np.random.default_rng(2)
    s = _plm_like_train(rng, 3)
    r = s - 3600.0 + 12.0 + rng.normal(0, 0.1, s.size)  # reference file starts 1 h later; clocks 12 s apart
    a = align_onsets(s, r, nominal_s=-3600.0)
    assert abs(a.offset_s - 12.0) < 0.1


def test_short_night_fixes_the_drift_at_zero():
    rng = np.random.default_rng(3)
    s = _plm_like_train(rng, 1.0)
    s = s[s < 3000]
    a = align_onsets(s, s + 5.0 + rng.normal(0, 0.1, s.size))
    assert not a.drift_fitted and a.drift_ppm == 0.0
    assert abs(a.offset_s - 5.0) < 0.1


def test_strictly_periodic_train_is_ambiguous():
    s = np.arange(100.0, 3000.0, 25.0)
    with pytest.raises(AgreementError, match="ambiguous"):
        align_onsets(s, s + 37.0)


def test_trains_far_apart_do_not_overlap():
    rng = np.random.default_rng(4)
    s = _plm_like_train(rng, 2)
    with pytest.raises(AgreementError, match="do not overlap"):
        align_onsets(s, s + 40000.0)


def test_too_few_matches_refused():
    s = np.array([100.0, 190.0, 230.0, 400.0, 433.0])
    with pytest.raises(AgreementError, match=f"too few .* < {MIN_PAIRS}"):
        align_onsets(s, s + 3.0)


def test_user_alignment_has_no_uncertainty():
    a = user_alignment(-4.5, nominal_s=10.0)
    assert a.to_reference(100.0) == pytest.approx(105.5)
    assert a.offset_se_s is None and a.n_pairs is None and a.method == "user"


def test_unknown_file_starts_search_every_overlap():
    rng = np.random.default_rng(5)
    s = _plm_like_train(rng, 4)
    r = s - 2000.0 + rng.normal(0, 0.1, s.size)  # 33 min apart: beyond the +-10 min search
    with pytest.raises(AgreementError):
        align_onsets(s, r)
    a = align_onsets(s, r, search_s=None)
    assert abs(a.offset_s + 2000.0) < 0.1
