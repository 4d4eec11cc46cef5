"""LM-arousal association (WASM 2016 and AASM): overlap, or < 0.5 s from the end of one event to
the onset of the other, whichever comes first."""

from __future__ import annotations

import pandas as pd
import pytest

from lmdetect.errors import LmdetectError
from lmdetect.scoring import AASM, WASM2016, score_lms

# one arousal from 100 to 105 s
AROUSAL = pd.DataFrame({"onset_s": [100.0], "duration_s": [5.0]})


def with_arousal(onset_s: float, duration_s: float, rules=WASM2016(), arousals=AROUSAL) -> bool:
    lm = pd.DataFrame({"onset_s": [onset_s], "duration_s": [duration_s], "side": ["left"], "kind": ["lm"]})
    return bool(score_lms(lm, rules, arousals=arousals)["with_arousal"].iloc[0])


@pytest.mark.parametrize("rules", [WASM2016(), AASM()], ids=["wasm2016", "aasm"])
def test_arousal_association_overlap_or_less_than_half_a_second_either_way(rules):
    assert with_arousal(99.0, 2.0, rules)  # overlaps the arousal onset
    assert with_arousal(101.0, 1.0, rules)  # inside the arousal
    assert with_arousal(97.6, 2.0, rules)  # LM ends 0.4 s before the arousal starts
    assert with_arousal(105.4, 1.0, rules)  # LM starts 0.4 s after the arousal ends
    assert not with_arousal(97.5, 2.0, rules)  # exactly 0.5 s: not < 0.5 s
    assert not with_arousal(105.5, 1.0, rules)
    assert not with_arousal(90.0, 2.0, rules)


def test_no_arousal_table_means_no_association():
    lm = pd.DataFrame({"onset_s": [100.0], "duration_s": [2.0], "side": ["left"], "kind": ["lm"]})
    out = score_lms(lm)
    assert not out["with_arousal"].any() and out.attrs["arousals"] is False


def test_the_association_is_per_scored_movement_after_the_bilateral_merge():
    # left 96-98 and right 98.2-99.2 merge into one bilateral LM 96-99.2, which ends 0.8 s before
    # the arousal: not associated, although the right-leg part alone would be
    lms = pd.DataFrame(
        {"onset_s": [96.0, 98.2], "duration_s": [2.0, 1.0], "side": ["left", "right"], "kind": ["lm", "lm"]}
    )
    out = score_lms(lms, WASM2016(), arousals=AROUSAL)
    assert len(out) == 1 and not out["with_arousal"].iloc[0]


def test_bad_arousal_table_is_an_error():
    with pytest.raises(LmdetectError, match="arousal table lacks"):
        with_arousal(100.0, 1.0, arousals=pd.DataFrame({"onset_s": [1.0]}))
    with pytest.raises(LmdetectError, match="finite"):
        with_arousal(100.0, 1.0, arousals=pd.DataFrame({"onset_s": [1.0], "duration_s": [-1.0]}))
