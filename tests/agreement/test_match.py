"""Event matching helpers of the agreement."""

import numpy as np
import pandas as pd
import pytest

from lmdetect.agreement.match import DURATION_BANDS_S, by_group, error_stats, match_tables, rates


def _t(rows):
    return pd.DataFrame(rows, columns=["onset_s", "duration_s"])


def test_match_needs_overlap_and_tolerance_one_to_one():
    ref = _t([(10.0, 2.0), (30.0, 0.6), (50.0, 2.0), (51.0, 2.0)])
    sens = _t([(10.9, 2.0), (30.8, 1.0), (50.2, 2.0), (120.0, 1.0)])
    si, ri = match_tables(sens, ref, 1.0)
    # 30.8 does not overlap [30, 30.6]; 50.2 takes the closer 50.0, not also 51.0
    assert sorted(zip(si.tolist(), ri.tolist(), strict=True)) == [(0, 0), (2, 2)]
    r = rates(si.size, len(sens), len(ref))
    assert r["sensitivity"] == 0.5 and r["ppv"] == 0.5
    assert rates(0, 0, 0)["sensitivity"] is None


def test_groups_and_bands():
    matched = np.array([True, False, True, True])
    g = by_group(matched, np.array(["N2", "N2", "W", None], dtype=object))
    assert g == {"N2": {"n": 2, "share_matched": 0.5}, "W": {"n": 1, "share_matched": 1.0},
                 "none": {"n": 1, "share_matched": 1.0}}  # fmt: skip
    b = by_group(matched, np.array([0.7, 1.5, 1.2, 12.0]), DURATION_BANDS_S)
    assert (
        b["1-2"] == {"n": 2, "share_matched": 0.5}
        and b[">=10"]["n"] == 1
        and b["5-10"]["share_matched"] is None
    )


def test_error_stats():
    e = error_stats(np.array([-0.2, 0.0, 0.4]))
    assert e["n"] == 3 and e["mean_s"] == pytest.approx(0.2 / 3) and e["median_s"] == 0.0
    assert e["mae_s"] == pytest.approx(0.2)
    assert error_stats(np.array([]))["mean_s"] is None
