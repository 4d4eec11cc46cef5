import numpy as np

from lmdetect.detect.lm import detect_lms, mask_intervals
from lmdetect.detect.vibration import detect_vibration
from lmdetect.preprocessing.clock import fit_clock
from lmdetect.preprocessing.grid import to_regular_grid
from tests.synth import add_burst, quiet, recording


def _pad(a, fs, onset_s, dur_s, motor_hz, amp_g):
    i0 = int(onset_s * fs)
    n = int(dur_s * fs)
    t = np.arange(n) / fs
    a[i0 : i0 + n, 1] += (amp_g * np.sin(2 * np.pi * motor_hz * t)).astype(np.float32)


def _grid(a, fs):
    rec = recording(a, fs)
    return to_regular_grid(rec, fit_clock(rec))


def test_aliased_pad_vibration_is_detected_at_low_rate():
    fs = 50.0
    a = quiet(3600, fs)
    _pad(a, fs, 600, 1800, 73.0, 0.02)  # 73 Hz motor sampled at 50 Hz aliases to 23 Hz
    vib = detect_vibration(_grid(a, fs))
    assert len(vib) == 1
    assert abs(vib["onset_s"].iloc[0] - 600) < 10 and abs(vib["duration_s"].iloc[0] - 1800) < 20
    assert abs(vib["freq_hz"].iloc[0] - 23.0) < 0.5


def test_periodic_leg_movements_are_not_vibration():
    fs = 50.0
    a = quiet(1800, fs)
    for o in np.arange(20, 1780, 25.0):
        add_burst(a, fs, o, 2.0, 0.05, freq_hz=3.0)
    assert len(detect_vibration(_grid(a, fs))) == 0


def test_masking_the_session_removes_false_lms():
    fs = 100.0
    a = quiet(3000, fs)
    _pad(a, fs, 300, 1800, 61.0, 0.08)
    reg = _grid(a, fs)
    vib = detect_vibration(reg)
    assert len(vib) == 1
    m = vib.assign(onset_s=vib.onset_s - 30, duration_s=vib.duration_s + 60)
    ev, _ = detect_lms(reg, mask=mask_intervals(reg.n, reg.fs, reg.t0_s, m))
    assert len(ev) == 0


def test_a_dense_run_of_restless_movements_is_not_vibration():
    # an RLS episode: a movement every 4-6 s of varying strength, each narrowband at ~1-2 Hz;
    # a detector that looks for lines among the slowest movements must not take it for a pad
    fs = 50.0
    a = quiet(1800, fs)
    rng = np.random.default_rng(3)
    t = 100.0
    while t < 1700:
        add_burst(a, fs, t, 2.5, float(rng.uniform(0.02, 0.15)), freq_hz=float(rng.uniform(1.0, 2.0)))
        t += float(rng.uniform(4.0, 6.0))
    assert len(detect_vibration(_grid(a, fs))) == 0
