import numpy as np

from lmdetect.sleepwake.actigraphy import _webster, score_sleep_wake, sleep_period
from lmdetect.sleepwake.params import SleepWakeParams


def test_still_epochs_are_sleep_and_restless_epochs_wake():
    p = SleepWakeParams()
    act = np.r_[np.full(20, 0.5), np.zeros(100), np.full(20, 0.5)]
    s = score_sleep_wake(act, p)
    assert not s[:19].any() and s[27:115].all() and not s[-19:].any()  # Webster: +6 epochs


def test_periodic_leg_movements_alone_do_not_make_wake():
    # one 2-s PLM every 25 s moves the leg ~8% of each epoch
    p = SleepWakeParams()
    act = np.full(200, 0.08)
    assert score_sleep_wake(act, p).all()


def test_webster_rescoring_after_long_wake():
    wake = np.r_[np.ones(20, bool), np.zeros(20, bool)]  # 10 min wake, then sleep
    out = _webster(wake, 30.0)
    assert out[:26].all() and not out[26:].any()  # 3 min (6 epochs) rescored


def test_sleep_period_needs_a_sustained_run():
    p = SleepWakeParams(min_sleep_onset_min=5)
    s = np.zeros(100, bool)
    s[10:14] = True  # 2 min: too short
    s[30:80] = True
    assert sleep_period(s, p) == (30, 80)
    assert sleep_period(np.zeros(50, bool), p) is None
