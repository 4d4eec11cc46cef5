import pandas as pd

from lmdetect.evaluation import evaluate_events, match_events


def _ev(rows):
    return pd.DataFrame(rows, columns=["onset_s", "duration_s", "in_plm_series", "amplitude_mg"])


def test_match_requires_overlap_and_onset_within_tolerance():
    ref = _ev([(10.0, 2.0, True, 50), (40.0, 2.0, True, 50), (70.0, 0.6, False, 20)])
    det = _ev([(10.8, 2.0, True, 0), (41.5, 2.0, True, 0), (70.9, 1.0, False, 0)])
    di, ri = match_events(det, ref)
    # 10.8 matches (0.8 s); 41.5 is 1.5 s late; 70.9 does not overlap [70, 70.6]
    assert list(di) == [0] and list(ri) == [0]


def test_one_to_one_and_scores():
    ref = _ev([(10.0, 2.0, True, 50), (11.0, 2.0, True, 5)])
    det = _ev([(10.2, 2.0, True, 0), (100.0, 1.0, False, 0)])
    r = evaluate_events(det, ref, min_amplitude_mg=30)
    assert r["lm"]["tp"] == 1 and r["lm"]["precision"] == 0.5 and r["lm"]["recall"] == 0.5
    big = r["lm_min_amplitude"]
    assert big["recall"] == 1.0 and big["precision"] == 0.5
    assert r["lm_recall_by_amplitude"]["0-10"]["recall"] == 0.0
