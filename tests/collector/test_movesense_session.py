"""Movesense (GSP) nights through the collector session: bleak's real BlueZ backend on the virtual
BlueZ, and the in-memory link for fuzzing and a refused subscription.

Every sample in a file is traced back to the simulated device: its device time gives the sample's
number in its subscription, which must run without a hole, and its value must be what the device
measured then.
"""

from __future__ import annotations

import asyncio
import logging
import struct

import numpy as np
import pytest

from firmware_sim.bluez import MovesenseGspFirmware, MovesensePeripheral, VirtualBlueZ
from firmware_sim.faults import FaultPlan
from firmware_sim.sources import FunctionSource
from lmdetect.adapters.movesense import GSP_NOTIFY_UUID, MovesenseAdapter
from lmdetect.cli import main
from lmdetect.collector.ble import BleakConnector
from lmdetect.collector.hostclock import HostClock
from lmdetect.collector.link import LinkFaults, MemoryConnector, MemoryRadio
from lmdetect.collector.session import CollectorParams, NightPlan, RecordSession, SessionSummary
from lmdetect.commands.collect import adapter_options
from lmdetect.io.native import read_lmr
from lmdetect.model import Recording
from tests.collector.sim import FAST, leg, record

NAME, ADDRESS = "Movesense 220330000122", "C0:FF:EE:00:00:03"

BLE = CollectorParams(
    watchdog_s=30.0,
    backoff_initial_s=1.0,
    backoff_max_s=8.0,
    scan_timeout_s=5.0,
    flush_interval_s=0.5,
    fsync_interval_s=2.0,
)


def movesense(**kw) -> MovesensePeripheral:
    return MovesensePeripheral(MovesenseGspFirmware(FunctionSource(leg), **kw), NAME, ADDRESS)


def shared_clock(vbz: VirtualBlueZ) -> HostClock:
    """The collector's host clock on the simulator's time line."""
    c = vbz.clock
    return HostClock(speed=c.speed, origin_ns=round(c.unix0 * 1e9), anchor_monotonic_ns=round(c.mono0 * 1e9))


async def collect(vbz: VirtualBlueZ, out, adapter: MovesenseAdapter, *, duration_s: float) -> SessionSummary:
    session = RecordSession(
        NightPlan(NAME, out, duration_s=duration_s),
        adapter,
        BleakConnector(service_uuid=adapter.service_uuid),
        params=BLE,
        clock=shared_clock(vbz),
    )
    return await session.run()


def trace(rec: Recording, fw: MovesenseGspFirmware) -> list[np.ndarray]:
    """Sample numbers, per subscription, of every sample in ``rec`` (checked against the device)."""
    ms = (int(rec.meta["lmr.first_tick"]) + np.rint(rec.time_s * float(rec.meta["lmr.tick_hz"])).astype(np.int64)) / 1024
    dev_ms = np.mod(ms - fw.clock_ms0, 2.0**32)  # device ms since power-on
    which = np.zeros(rec.n_samples, dtype=np.int64)
    for i, sub in enumerate(fw.subscriptions[1:], start=1):
        which[dev_ms >= sub.first_ms - 0.5 * sub.period_ms] = i
    out = []
    for i, sub in enumerate(fw.subscriptions):
        sel = dev_ms[which == i]
        k = np.rint((sel - sub.first_ms) / sub.period_ms).astype(np.int64)
        # each sample is where the device took it, to the whole-ms timestamps (and, for the first
        # notifications of a subscription, an accelerometer rate not yet measured)
        assert np.abs(sel - sub.sample_ms(k)).max() < 2.0
        out.append(k)
    t = fw.true_time_s(ms) - fw.source_origin_s
    np.testing.assert_allclose(rec.accel_g, np.clip(leg(t), -fw.range_g, fw.range_g), atol=1.0 / 2048)
    return out


# --------------------------------------------------------------------------- bleak, virtual BlueZ
@pytest.mark.ble
async def test_a_night_at_208_hz_arrives_complete_and_in_order_across_the_clock_wrap(virtual_bluez, tmp_path):
    pytest.importorskip("bleak")
    # 16 samples a notification: every one in two parts; the u32 ms clock wraps 30 s into the night
    per = movesense(faults=FaultPlan(drift_ppm=40.0), clock_ms0=2**32 - 30_000, rate_error=0.015)
    fw = per.firmware
    vbz = await virtual_bluez([per], speed=10)
    out = tmp_path / "movesense.lmr"
    s = await collect(vbz, out, MovesenseAdapter(rate_hz=208), duration_s=60)
    rec = read_lmr(out)
    assert rec.fs == 208 and rec.meta["sensor"] == "Movesense (simulated)" and rec.device_id == ADDRESS
    assert rec.meta["lmr.closed"] == "true" and not fw.streaming  # UNSUBSCRIBE at the end of the night
    assert s.garbage == 0 and s.implausible == 0 and s.duplicates == 0 and s.lost_samples == 0
    assert rec.gaps().empty and np.all(np.diff(rec.time_s) > 0)
    [k] = trace(rec, fw)
    np.testing.assert_array_equal(k, np.arange(k.size))  # every sample from the first, none twice
    assert rec.duration_s == pytest.approx(60, abs=0.05) and k.size == pytest.approx(60 * 208 * 1.015, abs=20)
    # the night crossed the wrap of the device clock
    assert fw.subscriptions[0].first_ms < 30_000 < fw.subscriptions[0].sample_ms(k[-1:])[0]


@pytest.mark.ble
async def test_a_link_drop_is_a_gap_measured_from_the_device_clock(virtual_bluez, tmp_path):
    pytest.importorskip("bleak")
    per = movesense(faults=FaultPlan(outages=((45.0, 12.0),), drift_ppm=-25.0), rate_error=-0.01)
    fw = per.firmware
    vbz = await virtual_bluez([per], speed=20)
    out = tmp_path / "movesense.lmr"
    s = await collect(vbz, out, MovesenseAdapter(rate_hz=52), duration_s=90)
    rec = read_lmr(out)
    assert s.reconnects >= 1 and s.garbage == 0 and s.implausible == 0
    first, second = fw.subscriptions  # the device dropped its subscription; the collector renewed it
    k1, k2 = trace(rec, fw)
    np.testing.assert_array_equal(k1, np.arange(k1.size))
    np.testing.assert_array_equal(k2, np.arange(k2.size))
    # the gap is exactly the device time between the last sample before and the first after
    [gap] = rec.gaps().itertuples()
    period_s = 1 / 52
    device_gap_s = (second.first_ms - first.sample_ms(k1[-1:])[0]) / 1000 - period_s
    assert gap.duration_s == pytest.approx(device_gap_s * (1 - 25e-6), abs=0.002)
    # it opens when the link went down (simulated second 45) and lasts the outage plus the reconnect
    assert fw.clock.time_at(first.sample_ms(k1[-1:]))[0] == pytest.approx(45, abs=0.5)
    assert 12 <= gap.duration_s <= 20
    assert s.lost_samples == gap.n_missing == pytest.approx(gap.duration_s * 52, abs=1)


# --------------------------------------------------------------------------- in-memory link
class GspFuzzer:
    """Adds random, truncated, extended, repeated, misaddressed and mistimed notifications."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.last_data = b""
        self.counts = dict(random=0, truncated=0, extended=0, duplicate=0, wrong_reference=0, stray=0)

    def __call__(self, uuid: str, data: bytes) -> list[bytes]:
        if uuid != GSP_NOTIFY_UUID or data[0] not in (2, 3):
            return [data]
        if data[0] == 2:
            self.last_data = data
        out = [data]
        r = self.rng.random()
        if r < 0.03:
            out.append(self.rng.bytes(int(self.rng.integers(0, 80))))
            self.counts["random"] += 1
        elif r < 0.06:
            out.append(data[: int(self.rng.integers(0, len(data)))])
            self.counts["truncated"] += 1
        elif r < 0.09:
            out.append(data + self.rng.bytes(int(self.rng.integers(1, 7))))
            self.counts["extended"] += 1
        elif r < 0.12:
            out.append(data)
            self.counts["duplicate"] += 1
        elif r < 0.15:
            out.append(bytes([data[0], data[1] ^ 0x40]) + data[2:])
            self.counts["wrong_reference"] += 1
        elif r < 0.18 and data[0] == 3:
            # a whole data notification at a random time, once the previous one is complete
            stray = bytearray(self.last_data[: 6 + 12 * 5])
            struct.pack_into("<I", stray, 2, int(self.rng.integers(0, 2**32)))
            out.append(bytes(stray))
            self.counts["stray"] += 1
        return out


def test_fuzzed_notifications_never_crash_and_never_reach_the_file(tmp_path, caplog):
    per = movesense(faults=FaultPlan(drift_ppm=15.0), rate_error=0.01)
    fuzz = GspFuzzer(seed=4)
    out = tmp_path / "movesense.lmr"
    s = record(
        [per], out, speed=100, device=NAME, duration_s=300, adapter=MovesenseAdapter(rate_hz=208),
        faults=LinkFaults(inject=fuzz),
    )
    rec = read_lmr(out)
    c = fuzz.counts
    assert min(c.values()) > 5
    # each injected notification is counted once: garbage (does not decode), implausible
    # (decodes, but contradicts the stream) or duplicate (a repeat of a written packet)
    assert s.garbage + s.implausible + s.duplicates == sum(c.values())
    assert s.implausible >= c["stray"] and s.duplicates >= c["duplicate"] // 2
    assert s.lost_samples == 0 and rec.gaps().empty
    [k] = trace(rec, per.firmware)
    np.testing.assert_array_equal(k, np.arange(k.size))
    assert "malformed notification" in caplog.text and "rejected packet" in caplog.text


def test_a_refused_subscription_is_logged_with_path_and_status_and_retried(tmp_path, caplog):
    per = movesense(rates_hz=(13, 26))  # no 52 Hz on this device
    out = tmp_path / "movesense.lmr"

    async def go() -> SessionSummary:
        async with MemoryRadio([per], HostClock(speed=300)) as radio:
            session = RecordSession(
                NightPlan(NAME, out, duration_s=600), MovesenseAdapter(rate_hz=52), MemoryConnector(radio),
                params=FAST, clock=radio.clock,
            )
            task = asyncio.create_task(session.run())
            while radio.now_s() < 200:  # three watchdog periods
                await asyncio.sleep(0.01)
            session.request_stop(reason="signal SIGINT")
            return await task

    with caplog.at_level(logging.WARNING):
        s = asyncio.run(go())
    assert "SUBSCRIBE /Meas/Acc/52 refused by the sensor: status 404 Not Found" in caplog.text
    assert s.watchdog_trips >= 2 and s.garbage >= 2 and s.samples == 0  # each try is refused again
    assert per.firmware.stats["commands"] >= 3 and not out.exists()


# --------------------------------------------------------------------------- command line
def test_collect_options_for_movesense(tmp_path, capsys):
    assert adapter_options("movesense", None, None) == {"rate_hz": 52.0}
    assert adapter_options("movesense", 1666.0, None) == {"rate_hz": 1666.0}
    assert adapter_options("polar", None, None) == {"rate_hz": 50.0, "range_g": 8.0}
    out = tmp_path / "n.lmr"
    base = ["collect", "--device", NAME, "--out", str(out), "--sensor", "movesense"]
    assert main([*base, "--rate", "50"]) == 2
    assert "--rate 50 is not a Movesense accelerometer rate; choose one of 13, 26, 52" in capsys.readouterr().err
    assert main([*base, "--range", "8"]) == 2
    assert "--range cannot be used with --sensor movesense" in capsys.readouterr().err
    assert not out.exists()
