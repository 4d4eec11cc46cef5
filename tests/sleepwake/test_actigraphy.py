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


def _events(rows):
    import pandas as pd

    return pd.DataFrame(rows, columns=["onset_s", "duration_s", "amplitude_mg", "in_plm_series"])


def test_movement_load_leaves_out_plm_series_and_splits_across_epochs():
    from lmdetect.sleepwake.actigraphy import epoch_movement_load

    ev = _events([(10.0, 2.0, 50.0, True), (28.0, 4.0, 100.0, False), (95.0, 1.0, 40.0, False)])
    load = epoch_movement_load(ev, 30.0, 4)
    assert np.allclose(load, [200.0, 200.0, 0.0, 40.0])  # 2 s + 2 s of the 100-mg move, PLM left out


def test_irregular_movements_make_wake_but_a_plm_series_or_one_twitch_does_not():
    from lmdetect.sleepwake.actigraphy import epoch_movement_load

    p = SleepWakeParams()
    n = 60
    # RLS-like restlessness in epochs 20-30: a 2-s, 80-mg movement every 7 s (not periodic)
    restless = [(t, 2.0, 80.0, False) for t in np.arange(600.0, 930.0, 7.0)]
    # a PLM series (periodic, in series) and one isolated twitch during sleep
    plms = [(t, 2.0, 80.0, True) for t in np.arange(1200.0, 1700.0, 25.0)]
    twitch = [(300.0, 1.0, 60.0, False)]
    ev = _events(restless + plms + twitch)
    load = epoch_movement_load(ev, 30.0, n)
    act = np.zeros(n)  # moving fraction alone stays below its threshold
    s = score_sleep_wake(act, p, load)
    assert not s[21:30].any()  # restless epochs: wake
    assert s[40:57].all()  # the PLM series: sleep
    assert s[5:15].all()  # the twitch: sleep
    assert score_sleep_wake(act, SleepWakeParams(load_threshold_mg_s=0.0), load).all()  # rule off


def test_a_gap_neither_wakes_its_neighbours_nor_starts_webster_rescoring():
    p = SleepWakeParams()
    act = np.full(60, 0.02)
    act[20:30] = np.nan  # 5 min without signal
    s = score_sleep_wake(act, p)
    assert s.all()  # the gap epochs carry no evidence; their neighbours stay sleep
    act[40:50] = 0.6  # real restlessness still scores wake, and Webster rescoring follows it
    s = score_sleep_wake(act, p)
    assert not s[40:50].any() and not s[50:52].any() and s[:40].all()


def test_nights_with_fewer_epochs_than_the_load_window_are_scored():
    # a night shorter than the load window (2k + 1 epochs) must be scored epoch by epoch, as the
    # same epochs are at the start of a long night (mode="same" returned the window's length)
    p = SleepWakeParams(load_window_epochs=2, rescore=False)
    long_load = np.zeros(40)
    long_load[0] = 2 * p.load_threshold_mg_s
    long = score_sleep_wake(np.zeros(40), p, long_load)
    for n in range(1, 6):
        short = score_sleep_wake(np.zeros(n), p, long_load[:n])
        assert short.shape == (n,)
        np.testing.assert_array_equal(short, long[:n])
