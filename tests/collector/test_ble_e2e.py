"""The collector end to end through bleak's real BlueZ backend, on the virtual BlueZ (no hardware).

Nights run accelerated (x60: an hour a minute) on one simulated clock shared by the virtual
sensor and the collector's host clock, so every sample's true time is known.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import numpy as np
import pytest

from firmware_sim.bluez import PolarPeripheral, PolarPmdFirmware, VirtualBlueZ
from firmware_sim.faults import FaultPlan
from firmware_sim.sources import FunctionSource
from lmdetect.adapters.open_profile import OpenProfileAdapter
from lmdetect.adapters.polar import PolarAdapter
from lmdetect.collector.ble import BleakConnector
from lmdetect.collector.hostclock import HostClock
from lmdetect.collector.session import CollectorParams, NightPlan, RecordSession, SessionSummary
from lmdetect.io.native import read_lmr
from tests.collector.sim import (
    ADDRESS,
    NAME,
    assert_matches_truth,
    leg,
    open_device,
    packet_seqs,
    sample_ticks,
)

pytest.importorskip("bleak")
pytestmark = pytest.mark.ble

BLE = CollectorParams(
    watchdog_s=30.0,
    backoff_initial_s=1.0,
    backoff_max_s=8.0,
    resend_retry_s=5.0,
    final_backfill_s=30.0,
    scan_timeout_s=5.0,
    flush_interval_s=0.5,
    fsync_interval_s=2.0,
)


def shared_clock(vbz: VirtualBlueZ) -> HostClock:
    """The collector's host clock on the simulator's time line: host = unix0 + simulated time."""
    c = vbz.clock
    return HostClock(speed=c.speed, origin_ns=round(c.unix0 * 1e9), anchor_monotonic_ns=round(c.mono0 * 1e9))


async def collect(vbz: VirtualBlueZ, out, *, duration_s: float, adapter=None, device: str = NAME, params=BLE) -> SessionSummary:
    session = RecordSession(
        NightPlan(device, out, duration_s=duration_s),
        adapter or OpenProfileAdapter(),
        BleakConnector(service_uuid=(adapter or OpenProfileAdapter()).service_uuid),
        params=params,
        clock=shared_clock(vbz),
    )
    return await session.run()


@pytest.mark.slow
async def test_an_hour_at_x60_arrives_complete_in_order_and_on_time(virtual_bluez, tmp_path):
    per = open_device(faults=FaultPlan(drift_ppm=50.0))
    vbz = await virtual_bluez([per], speed=60)
    out = tmp_path / "night.lmr"
    s = await collect(vbz, out, duration_s=3600)
    rec = read_lmr(out)
    fw = per.firmware
    assert rec.duration_s == pytest.approx(3600, abs=1.0) and rec.n_samples == pytest.approx(180_000, abs=50)
    seqs = packet_seqs(rec)
    np.testing.assert_array_equal(seqs, np.arange(seqs.size))  # complete
    assert np.all(np.diff(rec.seq) >= 0) and rec.gaps().empty  # in order
    assert s.lost_packets == 0 and s.garbage == 0 and s.implausible == 0 and s.reconnects == 0
    assert_matches_truth(rec, fw)
    # drift correction with the collector's own online fit (lmdetect.collector.timesync)
    fit = s.clock
    assert fit is not None and fit.n_exchanges >= 50
    assert fit.drift_ppm == pytest.approx(50.0, abs=2.0)
    ticks = sample_ticks(rec)
    corrected_s = np.array([fit.host_ns(t) for t in ticks[::50]]) / 1e9
    truth_s = vbz.clock.unix0 + fw.true_time_s(ticks[::50].astype(np.float64))
    err_ms = (corrected_s - truth_s) * 1e3
    assert np.abs(err_ms).max() < 20.0, f"max error {np.abs(err_ms).max():.1f} ms"
    # without the correction, counting sensor seconds from the first sample is 180 ms off by the end
    naive_s = truth_s[0] + (ticks[::50] - ticks[0]) / 32768
    assert (naive_s - truth_s)[-1] == pytest.approx(0.18, abs=0.01)


@pytest.mark.slow
async def test_drops_every_10_min_and_1_percent_loss_lose_nothing_through_bleak(virtual_bluez, tmp_path):
    faults = FaultPlan(loss_prob=0.01, drop_every_s=600.0, drop_for_s=30.0, seed=4, drift_ppm=-20.0)
    per = open_device(faults=faults)
    vbz = await virtual_bluez([per], speed=60)
    out = tmp_path / "night.lmr"
    s = await collect(vbz, out, duration_s=3600)
    rec = read_lmr(out)
    assert s.reconnects >= 5 and per.firmware.stats["lost"] > 0
    assert s.lost_packets == 0 and rec.gaps().empty
    seqs = packet_seqs(rec)
    np.testing.assert_array_equal(seqs, np.arange(seqs.size))
    lost_on_air = sum(faults.lost(int(q)) for q in seqs)
    assert rec.n_backfilled >= (lost_on_air + 5 * 55) * 25
    assert_matches_truth(rec, per.firmware)


async def test_an_outage_longer_than_the_ring_records_the_exact_gap_through_bleak(virtual_bluez, tmp_path):
    per = open_device(faults=FaultPlan(outages=((300.0, 300.0),)), ring_s=120.0)
    vbz = await virtual_bluez([per], speed=60)
    out = tmp_path / "night.lmr"
    s = await collect(vbz, out, duration_s=900)
    rec = read_lmr(out)
    seqs = packet_seqs(rec)
    missing = np.setdiff1d(np.arange(seqs[-1] + 1), seqs)
    [lost] = s.lost
    np.testing.assert_array_equal(missing, np.arange(lost.first_seq, lost.last_seq + 1))
    assert 360 <= lost.n_packets <= 400  # 600 packets of outage, 240 still in the ring
    [gap] = rec.gaps().itertuples()
    assert gap.n_missing == lost.n_samples
    assert_matches_truth(rec, per.firmware)


async def test_a_bluetoothd_restart_is_caught_by_the_watchdog(virtual_bluez, tmp_path):
    per = open_device()
    vbz = await virtual_bluez([per], speed=60, restarts=[(120.0, 30.0)])
    out = tmp_path / "night.lmr"
    s = await collect(vbz, out, duration_s=420, params=BLE.replace(watchdog_s=15.0))
    rec = read_lmr(out)
    assert vbz.stats["bluez_restarts"] == 1
    assert s.watchdog_trips >= 1 and s.lost_packets == 0 and rec.gaps().empty
    assert_matches_truth(rec, per.firmware)


@pytest.mark.parametrize(("model", "fmt"), [("h10", "raw"), ("verity", "delta")])
async def test_polar_stream_through_bleak(virtual_bluez, tmp_path, model, fmt):
    fw = PolarPmdFirmware(FunctionSource(leg), model=model, frame_format=fmt, faults=FaultPlan(drift_ppm=30.0))
    per = PolarPeripheral(fw, "Polar Sense 0B1C2D3E", "A0:9E:1A:00:00:02")
    vbz = await virtual_bluez([per], speed=20)
    out = tmp_path / "polar.lmr"
    s = await collect(vbz, out, duration_s=120, adapter=PolarAdapter(), device="A0:9E:1A:00:00:02")
    rec = read_lmr(out)
    assert s.garbage == 0 and s.implausible == 0 and s.lost_samples == 0 and rec.gaps().empty
    assert rec.duration_s == pytest.approx(120, abs=1.5)
    t = fw.true_time_s(sample_ticks(rec)) - fw.source_origin_s
    np.testing.assert_allclose(rec.accel_g, np.rint(leg(t) * 1000) / 1000, atol=0.0011)


async def _run_cli(*args: str, kill_after_s: float | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lmdetect", "collect", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(os.environ),
    )
    if kill_after_s is not None:
        try:
            await asyncio.wait_for(proc.wait(), kill_after_s)
        except TimeoutError:
            proc.send_signal(signal.SIGKILL)
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode, err.decode()


@pytest.mark.slow
async def test_sigkill_leaves_a_readable_file_and_a_restart_continues_the_night(virtual_bluez, tmp_path):
    per = open_device(faults=FaultPlan(loss_prob=0.01, seed=9))
    await virtual_bluez([per], speed=1)
    out = tmp_path / "night.lmr"
    args = ("--device", NAME, "--out", str(out), "--duration", "30s", "--side", "left", "--quiet", "--scan-timeout", "5")
    code, err = await _run_cli(*args, kill_after_s=12.0)
    assert code == -signal.SIGKILL, err
    killed = read_lmr(out)  # readable: everything up to the last flushed batch
    assert killed.n_samples > 200 and killed.meta["lmr.closed"] == "false"
    assert per.firmware.streaming  # nobody stopped the sensor
    await asyncio.sleep(2.0)
    code, err = await _run_cli(*args)
    assert code == 0, err
    assert "samples written" in err
    rec = read_lmr(out)
    assert rec.meta["lmr.closed"] == "true" and rec.side == "left" and rec.device_id == ADDRESS
    assert rec.duration_s == pytest.approx(30, abs=1.0)
    seqs = packet_seqs(rec)
    np.testing.assert_array_equal(seqs, np.arange(seqs.size))  # the pause was backfilled
    assert rec.gaps().empty and rec.n_backfilled > 0
    assert_matches_truth(rec, per.firmware)


@pytest.mark.slow
async def test_a_cli_killed_in_its_first_second_is_continued_from_the_nights_first_packet(virtual_bluez, tmp_path):
    per = open_device()
    await virtual_bluez([per], speed=1)
    out = tmp_path / "night.lmr"
    args = ("--device", NAME, "--out", str(out), "--duration", "30s", "--quiet", "--scan-timeout", "5")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lmdetect", "collect", *args, stderr=asyncio.subprocess.PIPE, env=dict(os.environ)
    )
    for _ in range(3000):  # the file appears with the first packet
        if out.exists():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    await asyncio.wait_for(proc.communicate(), 30)
    killed = read_lmr(out)
    assert killed.n_samples == 0 and per.firmware.streaming  # a header, no sample
    await asyncio.sleep(8.0)
    code, err = await _run_cli(*args)
    assert code == 0, err
    rec = read_lmr(out)
    seqs = packet_seqs(rec)
    np.testing.assert_array_equal(seqs, np.arange(seqs.size))  # from the night's first packet on
    assert rec.n_backfilled >= 8 * 50 and rec.gaps().empty
    assert rec.duration_s == pytest.approx(30, abs=1.0)
    assert_matches_truth(rec, per.firmware)


@pytest.mark.slow
async def test_a_second_cli_on_the_same_file_says_file_in_use_and_leaves_the_first_alone(virtual_bluez, tmp_path):
    per = open_device()
    await virtual_bluez([per], speed=1)
    out = tmp_path / "night.lmr"
    args = ("--device", NAME, "--out", str(out), "--duration", "20s", "--quiet", "--scan-timeout", "5")
    first = asyncio.ensure_future(_run_cli(*args))
    for _ in range(3000):
        if out.exists():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(3.0)
    code, err = await _run_cli(*args)
    assert code == 2 and "file in use" in err and "Traceback" not in err
    code, err = await first
    assert code == 0, err
    rec = read_lmr(out)
    seqs = packet_seqs(rec)
    np.testing.assert_array_equal(seqs, np.arange(seqs.size))
    assert rec.n_backfilled == 0  # never knocked off the link, nothing to fill in
    assert rec.duration_s == pytest.approx(20, abs=1.0)


async def test_cli_refuses_a_missing_device_with_a_clear_error(virtual_bluez, tmp_path):
    await virtual_bluez([open_device()], speed=1)
    out = tmp_path / "x.lmr"
    code, err = await _run_cli("--device", "NO-SUCH-SENSOR", "--out", str(out), "--scan-timeout", "1", "--quiet")
    assert code == 2 and "lmdetect collect: error: device 'NO-SUCH-SENSOR' not found" in err
    assert not out.exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_cli_stops_cleanly_on_a_signal(virtual_bluez, tmp_path, sig):
    per = open_device()
    await virtual_bluez([per], speed=1)
    out = tmp_path / "night.lmr"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lmdetect", "collect", "--device", NAME, "--out", str(out), "--quiet",
        stderr=asyncio.subprocess.PIPE, env=dict(os.environ),
    )
    for _ in range(200):  # until the first batch is on disk
        await asyncio.sleep(0.1)
        if out.exists() and read_lmr(out).n_samples >= 100:
            break
    proc.send_signal(sig)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert f"stopped: signal {sig.name}" in err.decode()
    rec = read_lmr(out)
    assert rec.meta["lmr.closed"] == "true" and rec.gaps().empty
    assert not per.firmware.streaming  # the stream was stopped before disconnecting


async def test_the_scan_matches_exact_names_only_and_refuses_twins(virtual_bluez, tmp_path):
    ours = open_device()
    longer = open_device(name=NAME + "2", address="C0:FF:EE:00:00:12")  # a name that starts like ours
    vbz = await virtual_bluez([longer, ours], speed=20)
    s = await collect(vbz, tmp_path / "a.lmr", duration_s=20)
    assert read_lmr(tmp_path / "a.lmr").device_id == ADDRESS and s.samples > 0
    assert longer.firmware.stats["connects"] == 0
    await vbz.stop()

    from lmdetect.collector.link import LinkError

    twin = open_device(address="C0:FF:EE:00:00:13")
    vbz2 = await virtual_bluez([open_device(), twin], speed=20)
    with pytest.raises(LinkError, match="C0:FF:EE:00:00:01, C0:FF:EE:00:00:13"):
        await collect(vbz2, tmp_path / "b.lmr", duration_s=20)
    assert not (tmp_path / "b.lmr").exists()
