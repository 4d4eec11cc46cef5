"""Fault plans and sample sources of the reference firmware."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from firmware_sim.faults import FaultPlan, packet_lost
from firmware_sim.sources import ConstantSource, FunctionSource, RecordingSource, replay_source
from lmdetect.errors import ConfigError, LmdetectError
from lmdetect.model import Recording


def test_periodic_drops_and_outages():
    plan = FaultPlan(drop_every_s=600.0, drop_for_s=30.0, outages=((2000.0, 300.0),))
    up = np.array([plan.link_up(t) for t in np.arange(0.0, 3000.0, 1.0)])
    down = np.flatnonzero(~up)
    drops = [*range(600, 630), *range(1200, 1230), *range(1800, 1830), *range(2400, 2430)]
    assert down.tolist() == sorted(drops + [*range(2000, 2300)])
    early = FaultPlan(drop_every_s=600.0, drop_for_s=30.0, drop_first_at_s=10.0)
    assert not early.link_up(15.0) and early.link_up(45.0) and not early.link_up(615.0)


def test_bluez_restart_windows():
    plan = FaultPlan(bluez_restarts=[(100, 5)])
    assert plan.bluez_restarts == ((100.0, 5.0),)
    assert plan.bluez_down(102.0) and not plan.bluez_down(105.0) and not plan.bluez_down(99.9)


def test_loss_is_a_function_of_seed_and_seq_only():
    lost = [s for s in range(20_000) if packet_lost(3, s, 0.01)]
    assert 150 < len(lost) < 250
    assert lost == [s for s in range(20_000) if packet_lost(3, s, 0.01)]
    assert not any(packet_lost(3, s, 0.0) for s in range(1000))
    assert all(packet_lost(3, s, 1.0) for s in range(1000))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"loss_prob": 1.5},
        {"drop_every_s": 0.0},
        {"drop_every_s": 60.0, "drop_for_s": 60.0},
        {"outages": [(10.0,)]},
        {"outages": [(10.0, -1.0)]},
        {"drift_ppm": 1e6},
    ],
)
def test_bad_plans_are_refused(kwargs):
    with pytest.raises(ConfigError):
        FaultPlan(**kwargs)


def test_plan_round_trips_through_a_dict():
    plan = FaultPlan(loss_prob=0.01, drop_every_s=600.0, drop_for_s=30.0, outages=((100.0, 400.0),), seed=4)
    assert FaultPlan.from_dict(plan.to_dict()) == plan


def _recording(t, accel):
    return Recording(
        accel_g=np.asarray(accel, dtype=np.float32),
        time_s=np.asarray(t, dtype=np.float64),
        fs=10.0,
        start=dt.datetime(2026, 3, 14, 22, 0, tzinfo=dt.UTC),
    )


def test_recording_source_interpolates_across_a_gap_and_loops():
    t = np.r_[np.arange(0, 1.0, 0.1), np.arange(2.0, 3.0, 0.1)]  # 1 s missing
    x = np.c_[t, -t, np.ones_like(t)]
    src = RecordingSource(_recording(t + 5.0, x))  # timeline is relative to the first sample
    assert src.duration_s == pytest.approx(3.0)
    got = src.samples_at(np.array([0.05, 1.45, 2.5]))
    np.testing.assert_allclose(got[:, 0], [0.05, 1.45, 2.5], atol=1e-6)
    np.testing.assert_allclose(got[:, 2], 1.0)
    looped = RecordingSource(_recording(t, x), loop=True)
    assert looped.duration_s is None
    np.testing.assert_allclose(looped.samples_at(np.array([3.05])), looped.samples_at(np.array([0.05])))


def test_simple_sources():
    assert ConstantSource().samples_at(np.zeros(4)).tolist() == [[0.0, 0.0, 1.0]] * 4
    with pytest.raises(LmdetectError, match="shape"):
        FunctionSource(lambda t: np.zeros(len(t))).samples_at(np.zeros(3))


def test_replay_source_names_a_missing_file(tmp_path):
    with pytest.raises(LmdetectError, match="missing.lmr"):
        replay_source(tmp_path / "missing.lmr")
