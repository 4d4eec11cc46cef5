import datetime as dt

import numpy as np
import pytest

from lmdetect.errors import LmdetectError
from lmdetect.model import Recording
from tests.synth import START, quiet


def test_gaps_and_effective_rate():
    fs = 50.0
    a = quiet(100, fs)
    t = np.arange(a.shape[0]) / fs
    keep = np.ones(a.shape[0], bool)
    keep[500:750] = False
    rec = Recording(a[keep], t[keep], fs, START)
    g = rec.gaps()
    assert len(g) == 1 and g["n_missing"].iloc[0] == 250 and abs(g["duration_s"].iloc[0] - 5.0) < 1e-9
    assert abs(rec.fs_effective - fs) < 1e-9
    assert rec.describe()["n_gaps"] == 1


def test_recording_validates_its_inputs():
    a = quiet(1)
    with pytest.raises(LmdetectError, match="timezone-aware"):
        Recording(a, np.arange(len(a)) / 50.0, 50.0, dt.datetime(2026, 1, 1))
    with pytest.raises(LmdetectError, match="strictly increasing"):
        Recording(a, np.zeros(len(a)), 50.0, START)
    with pytest.raises(LmdetectError, match="side"):
        Recording(a, np.arange(len(a)) / 50.0, 50.0, START, side="middle")  # type: ignore[arg-type]


def test_between_rebases_time_and_start():
    a = quiet(10)
    rec = Recording(a, np.arange(len(a)) / 50.0, 50.0, START)
    sub = rec.between(2.0, 4.0)
    assert sub.n_samples == 100 and sub.time_s[0] == 0.0
    assert sub.start == START + dt.timedelta(seconds=2)
