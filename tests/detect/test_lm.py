import dataclasses

import numpy as np

from lmdetect.detect.lm import detect_lms
from lmdetect.detect.params import DetectParams
from lmdetect.preprocessing.clock import fit_clock
from lmdetect.preprocessing.grid import to_regular_grid
from tests.synth import add_burst, quiet, recording


def _grid(a, fs=50.0):
    rec = recording(a, fs)
    return to_regular_grid(rec, fit_clock(rec))


def test_bursts_are_found_with_onset_and_duration():
    fs = 50.0
    a = quiet(600, fs)
    onsets = np.arange(30.0, 570.0, 25.0)
    for o in onsets:
        add_burst(a, fs, o, 2.0, 0.05)
    ev, _ = detect_lms(_grid(a, fs))
    assert len(ev) == len(onsets)
    assert np.all(np.abs(ev["onset_s"].to_numpy() - onsets) < 0.5)
    # the offset threshold sits at the sensor's noise, so the LM follows the burst's taper to its
    # end; a noise bump within the 0.5-s quiet time can carry it a little further
    err = np.abs(ev["duration_s"].to_numpy() - 2.0)
    assert np.median(err) < 0.15 and err.max() < 0.8
    assert (ev["kind"] == "lm").all()


def test_movements_shorter_than_half_a_second_are_not_lms():
    fs = 100.0
    a = quiet(120, fs)
    add_burst(a, fs, 30.0, 0.25, 0.2, freq_hz=8.0)
    add_burst(a, fs, 60.0, 1.5, 0.2, freq_hz=3.0)
    ev, _ = detect_lms(_grid(a, fs))
    assert len(ev) == 1 and abs(ev["onset_s"].iloc[0] - 60.0) < 0.5


def test_two_bursts_less_than_half_a_second_apart_merge():
    fs = 50.0
    a = quiet(120, fs)
    add_burst(a, fs, 30.0, 1.0, 0.08)
    add_burst(a, fs, 31.2, 1.0, 0.08)  # 0.2 s after the first ends
    add_burst(a, fs, 60.0, 1.0, 0.08)
    add_burst(a, fs, 62.5, 1.0, 0.08)  # 1.5 s later: separate
    ev, _ = detect_lms(_grid(a, fs))
    assert len(ev) == 3


def test_noise_alone_gives_no_events_and_the_floor_adapts():
    fs = 50.0
    a = quiet(1200, fs, noise_g=0.006, seed=4)  # a noisy sensor
    ev, trace = detect_lms(_grid(a, fs))
    assert len(ev) == 0
    assert np.nanmedian(trace.on_mg) > DetectParams().on_min_mg


def test_posture_change_is_classified_and_not_an_lm():
    fs = 50.0
    a = quiet(120, fs)
    i0, i1 = int(60 * fs), int(63 * fs)
    ang = np.linspace(0, np.pi / 2, i1 - i0)
    a[i0:i1, 1] += np.sin(ang).astype(np.float32)
    a[i0:i1, 2] += (np.cos(ang) - 1).astype(np.float32)
    a[i1:, 1] += 1.0
    a[i1:, 2] -= 1.0
    ev, _ = detect_lms(_grid(a, fs))
    assert len(ev) == 1 and ev["kind"].iloc[0] == "posture"


def test_no_events_inside_gaps_or_masks():
    fs = 50.0
    a = quiet(300, fs)
    add_burst(a, fs, 100.0, 2.0, 0.1)
    add_burst(a, fs, 200.0, 2.0, 0.1)
    reg = _grid(a, fs)
    mask = np.zeros(reg.n, bool)
    mask[int(190 * fs) : int(210 * fs)] = True
    ev, _ = detect_lms(reg, mask=mask)
    assert len(ev) == 1 and abs(ev["onset_s"].iloc[0] - 100.0) < 0.5


def test_a_fully_masked_night_gives_no_events():
    fs = 50.0
    a = quiet(300, fs)
    add_burst(a, fs, 100.0, 2.0, 0.1)
    reg = _grid(a, fs)
    ev, trace = detect_lms(reg, mask=np.ones(reg.n, bool))
    assert len(ev) == 0 and np.all(trace.valid_frac == 0)


def test_a_slow_small_movement_gets_its_onset_where_it_left_rest():
    fs = 50.0
    a = quiet(120, fs)
    # a 3-s movement whose envelope rises slowly: sin^3 of a half cycle, 25 mg peak
    i0, m = int(60 * fs), int(3 * fs)
    k = np.arange(m)
    a[i0 : i0 + m, 0] += (0.025 * np.sin(np.pi * k / m) ** 3).astype(np.float32)
    reg = _grid(a, fs)
    late = detect_lms(reg, DetectParams(onset_backtrack_s=0.0))[0]["onset_s"].iloc[0]
    refined = detect_lms(reg)[0]["onset_s"].iloc[0]
    assert refined < late and abs(refined - 60.0) < abs(late - 60.0)


def _held(a, fs, onset_s, duration_s, dev_g, axis=0):
    """A held deviation (a sustained dorsiflexion) with 0.3-s smooth edges."""
    i0, m = int(round(onset_s * fs)), int(round(duration_s * fs))
    env = np.ones(m)
    r = int(0.3 * fs)
    env[:r] = np.sin(np.linspace(0, np.pi / 2, r)) ** 2
    env[-r:] = env[:r][::-1]
    a[i0 : i0 + m, axis] += (dev_g * env).astype(np.float32)


def test_a_movement_across_a_lost_packet_stays_one_lm():
    from lmdetect.model import Recording
    from tests.synth import START

    fs = 50.0
    a = quiet(180, fs)
    _held(a, fs, 60.0, 3.0, 0.06)
    keep = np.ones(a.shape[0], bool)
    keep[int(61.2 * fs) : int(61.5 * fs)] = False  # one lost packet in the middle of the movement
    t = np.arange(a.shape[0]) / fs
    rec = Recording(a[keep], t[keep], fs, START)
    reg = to_regular_grid(rec, fit_clock(rec))
    ev, _ = detect_lms(reg)
    assert len(ev) == 1
    assert abs(ev["onset_s"].iloc[0] - 60.0) < 0.5 and abs(ev["duration_s"].iloc[0] - 3.0) < 0.8
    split, _ = detect_lms(reg, DetectParams(bridge_gap_s=0.0))
    assert len(split) != 1 or abs(split["duration_s"].iloc[0] - 3.0) >= 0.8  # what bridging fixes


def test_movements_before_a_posture_change_do_not_shift_the_resting_orientation():
    fs = 50.0
    a = quiet(240, fs)
    # four movements part of the way towards the new posture (3-s half-sine excursions), then
    # the leg turns at 120 s
    m = int(3 * fs)
    for o in (100.0, 104.0, 108.0, 112.0):
        i = int(o * fs)
        a[i : i + m, 1] += (0.05 * np.sin(np.pi * np.arange(m) / m)).astype(np.float32)
    i0, i1 = int(120 * fs), int(123 * fs)
    ang = np.linspace(0, np.pi / 2, i1 - i0)
    a[i0:i1, 1] += np.sin(ang).astype(np.float32)
    a[i0:i1, 2] += (np.cos(ang) - 1).astype(np.float32)
    a[i1:, 1] += 1.0
    a[i1:, 2] -= 1.0
    reg = _grid(a, fs)
    ev, _ = detect_lms(reg)
    post = ev[ev["kind"] == "posture"]
    assert len(post) == 1 and abs(post["onset_s"].iloc[0] - 120.0) < 0.5
    assert len(ev) == 5  # the four movements are found on their own
    # with every block in the median, the baseline moves onto the movements' values first
    early = detect_lms(reg, DetectParams(baseline_quiet_factor=0.0))[0]
    assert early["onset_s"].iloc[-1] < 119.0


def test_a_movement_resuming_after_a_masked_stretch_gets_its_onset_inside_it_or_none():
    fs = 50.0
    a = quiet(300, fs)
    add_burst(a, fs, 100.0, 2.0, 0.1)  # starts 1 s before the mask ends: traced back into it
    add_burst(a, fs, 190.0, 12.0, 0.1)  # under way for 10 s when the mask ends: onset unseen
    reg = _grid(a, fs)
    mask = np.zeros(reg.n, bool)
    mask[int(95 * fs) : int(101 * fs)] = True
    mask[int(185 * fs) : int(200 * fs)] = True
    ev, trace = detect_lms(reg, mask=mask)
    # before: one LM with its onset at the mask's end (1 s late: a false LM next to a missed
    # true one) and one 8 s into a movement
    assert len(ev) == 1 and abs(ev["onset_s"].iloc[0] - 100.0) < 0.5
    assert trace.unseen_onsets == 1
    ev, _ = detect_lms(reg, dataclasses.replace(DetectParams(), drop_unseen_onsets=False), mask=mask)
    assert len(ev) == 2


def test_window_counts_and_last_stops_match_their_definitions():
    from lmdetect.detect.lm import _best_window, _last_true_at

    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(1, 300))
        b = rng.random(n) < rng.choice([0.0, 0.05, 0.5, 0.95, 1.0])
        p = rng.integers(0, n, size=20)
        want = np.array([max((j for j in range(q + 1) if b[j]), default=-1) for q in p])
        assert np.array_equal(_last_true_at(b, p), want)
        w = int(rng.integers(1, n + 1))
        a = int(rng.integers(0, n - w + 1))
        e = int(rng.integers(a + 1, n - w + 2))
        assert _best_window(b, a, e, w) == max(int(b[j : j + w].sum()) for j in range(a, e))
