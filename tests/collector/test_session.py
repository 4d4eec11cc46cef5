"""Whole nights through the collector session on the in-memory radio, against the reference firmware."""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import pytest

from firmware_sim.bluez import PolarPeripheral, PolarPmdFirmware
from firmware_sim.faults import FaultPlan
from firmware_sim.sources import FunctionSource
from lmdetect.adapters.polar import PolarAdapter
from lmdetect.collector.hostclock import HostClock
from lmdetect.collector.link import LinkError, LinkFaults, MemoryRadio
from lmdetect.errors import DeviceNotFoundError, LmdetectError
from lmdetect.io.native import read_lmr
from tests.collector.sim import (
    ADDRESS,
    FAST,
    NAME,
    assert_matches_truth,
    leg,
    open_device,
    packet_seqs,
    record,
    record_async,
)


def test_a_clean_night_arrives_complete_in_order_and_closed(tmp_path):
    per = open_device(faults=FaultPlan(drift_ppm=30))
    out = tmp_path / "night.lmr"
    statuses: list = []
    s = record([per], out, duration_s=1800, side="left", statuses=statuses)
    rec = read_lmr(out)
    assert s.stopped_by == "duration reached" and rec.meta["lmr.closed"] == "true"
    assert rec.side == "left" and rec.device_id == ADDRESS and rec.fs == 50
    assert rec.duration_s == pytest.approx(1800, abs=1.0)
    seqs = packet_seqs(rec)
    np.testing.assert_array_equal(seqs, np.arange(seqs.size))
    assert rec.gaps().empty and s.lost_packets == 0 and s.garbage == 0 and s.implausible == 0
    assert_matches_truth(rec, per.firmware)
    assert not per.firmware.streaming  # the end of the night stops the sensor
    last = statuses[-1]
    assert last.samples == rec.n_samples and last.battery_pct is not None and last.rssi_dbm == -60


def test_link_drops_and_packet_loss_lose_no_sample(tmp_path):
    # 30-s drops every 10 min and 1 % loss on the air, for an hour
    faults = FaultPlan(loss_prob=0.01, drop_every_s=600, drop_for_s=30, seed=11)
    per = open_device(faults=faults)
    out = tmp_path / "night.lmr"
    s = record([per], out, duration_s=3600)
    rec = read_lmr(out)
    fw = per.firmware
    assert s.reconnects >= 5 and fw.stats["lost"] > 0 and fw.stats["undelivered"] > 0
    assert s.lost_packets == 0 and s.lost_samples == 0
    seqs = packet_seqs(rec)
    np.testing.assert_array_equal(seqs, np.arange(seqs.size))
    assert rec.gaps().empty
    # every packet the air or a drop took was backfilled
    lost_on_air = sum(faults.lost(int(q)) for q in seqs)
    assert rec.n_backfilled == s.backfilled_samples >= (lost_on_air + 5 * 55) * 25
    assert_matches_truth(rec, fw)


def test_an_outage_longer_than_the_ring_buffer_records_the_exact_gap(tmp_path):
    faults = FaultPlan(outages=((600.0, 300.0),))  # 5 min, the ring holds 2 min
    per = open_device(faults=faults, ring_s=120.0)
    out = tmp_path / "night.lmr"
    s = record([per], out, duration_s=1500)
    rec = read_lmr(out)
    seqs = packet_seqs(rec)
    missing = np.setdiff1d(np.arange(seqs[-1] + 1), seqs)
    [lost] = s.lost
    # exactly one contiguous range is missing, and it is what the session reported
    assert missing.size == lost.n_packets == s.lost_packets
    np.testing.assert_array_equal(missing, np.arange(lost.first_seq, lost.last_seq + 1))
    # the outage (600 packets of 0.5 s) minus what the ring still held (240 packets, 2 min),
    # plus the few seconds the reconnect took: nothing else is missing
    assert 360 <= lost.n_packets <= 380
    [gap] = rec.gaps().itertuples()
    assert gap.n_missing == lost.n_samples == lost.n_packets * 25
    assert gap.duration_s == pytest.approx(lost.n_packets * 0.5, abs=0.02)
    assert rec.n_backfilled > 0
    assert_matches_truth(rec, per.firmware)


def test_a_silent_stack_trips_the_watchdog_and_the_night_goes_on(tmp_path):
    # like a bluetoothd restart: the link claims to be up, nothing arrives, nothing is reported
    per = open_device()
    out = tmp_path / "night.lmr"
    s = record([per], out, duration_s=900, faults=LinkFaults(stalls=((300.0, 120.0),)))
    rec = read_lmr(out)
    assert s.watchdog_trips >= 1 and s.reconnects >= 1
    assert s.lost_packets == 0 and rec.gaps().empty
    assert_matches_truth(rec, per.firmware)


class Fuzzer:
    """Adds malformed, truncated, shifted and repeated notifications to the data stream."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.counts = dict(random=0, truncated=0, wrong_length=0, seq_jump=0, tick_jump=0, duplicate=0)

    def __call__(self, uuid: str, data: bytes) -> list[bytes]:
        from lmdetect import protocol as p

        if uuid != p.DATA_UUID:
            return [data]
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
            self.counts["wrong_length"] += 1
        elif r < 0.12:
            b = bytearray(data)  # a valid packet from the future: far ahead in sequence only
            seq = struct.unpack_from("<I", b, 2)[0]
            struct.pack_into("<I", b, 2, (seq + int(self.rng.integers(2, 10**6))) & 0xFFFFFFFF)
            out.append(bytes(b))
            self.counts["seq_jump"] += 1
        elif r < 0.15:
            b = bytearray(data)  # next sequence number, random tick
            seq = struct.unpack_from("<I", b, 2)[0]
            struct.pack_into("<II", b, 2, (seq + 1) & 0xFFFFFFFF, int(self.rng.integers(0, 2**32)))
            out.append(bytes(b))
            self.counts["tick_jump"] += 1
        elif r < 0.20:
            out.append(data)
            self.counts["duplicate"] += 1
        return out


def test_fuzzed_notifications_never_crash_and_never_reach_the_file(tmp_path, caplog):
    per = open_device(faults=FaultPlan(loss_prob=0.01, seed=3))
    fuzz = Fuzzer(seed=7)
    out = tmp_path / "night.lmr"
    s = record([per], out, duration_s=1200, faults=LinkFaults(inject=fuzz))
    rec = read_lmr(out)
    c = fuzz.counts
    assert min(c.values()) > 5
    # each injected notification is counted once: as garbage (does not decode), implausible
    # (decodes, but contradicts the stream) or duplicate
    assert s.garbage >= c["truncated"] + c["wrong_length"]
    assert s.garbage + s.implausible + s.duplicates == sum(c.values())
    assert s.lost_packets == 0 and rec.gaps().empty
    seqs = packet_seqs(rec)
    np.testing.assert_array_equal(seqs, np.arange(seqs.size))
    assert_matches_truth(rec, per.firmware)
    assert "malformed notification" in caplog.text and "rejected packet" in caplog.text


def test_only_the_named_device_is_used(tmp_path):
    ours = open_device()
    other = open_device(name="LMD-ANKLE-02", address="C0:FF:EE:00:00:02")
    s = record([other, ours], tmp_path / "a.lmr", duration_s=60)
    assert read_lmr(tmp_path / "a.lmr").device_id == ADDRESS and s.samples > 0
    assert other.firmware.stats["connects"] == 0 and not other.firmware.streaming
    # by address, even when the names are the same
    twin = open_device(address="C0:FF:EE:00:00:03")
    record([open_device(), twin], tmp_path / "b.lmr", device="c0-ff-ee-00-00-03", duration_s=60)
    assert read_lmr(tmp_path / "b.lmr").device_id == "C0:FF:EE:00:00:03"


def test_a_name_shared_by_two_devices_is_refused(tmp_path):
    with pytest.raises(LinkError, match="C0:FF:EE:00:00:01, C0:FF:EE:00:00:09"):
        record([open_device(), open_device(address="C0:FF:EE:00:00:09")], tmp_path / "n.lmr", duration_s=60)
    assert not (tmp_path / "n.lmr").exists()


def test_reconnects_stay_with_the_first_device_even_if_a_twin_appears(tmp_path):
    ours = open_device(faults=FaultPlan(outages=((120.0, 60.0),)))
    twin = open_device(address="C0:FF:EE:00:00:07")
    twin.advertising = False

    async def go():
        async with MemoryRadio([ours, twin], HostClock(speed=300)) as radio:
            task = asyncio.create_task(record_async(radio, tmp_path / "t.lmr", duration_s=300))
            while radio.now_s() < 125:
                await asyncio.sleep(0.01)
            twin.advertising = True  # same name, shows up while ours is out of range
            return await task

    s = asyncio.run(go())
    assert s.reconnects >= 1 and s.lost_packets == 0
    assert twin.firmware.stats["connects"] == 0


def test_device_not_found_is_an_error_and_writes_nothing(tmp_path):
    with pytest.raises(DeviceNotFoundError, match="NOPE"):
        record([open_device()], tmp_path / "x.lmr", device="NOPE", duration_s=60)
    assert list(tmp_path.iterdir()) == []


def test_stop_request_stops_the_sensor_and_closes_the_file(tmp_path):
    per = open_device()
    out = tmp_path / "night.lmr"

    async def go():
        async with MemoryRadio([per], HostClock(speed=300)) as radio:
            from lmdetect.adapters.open_profile import OpenProfileAdapter
            from lmdetect.collector.link import MemoryConnector
            from lmdetect.collector.session import NightPlan, RecordSession

            session = RecordSession(NightPlan(NAME, out), OpenProfileAdapter(), MemoryConnector(radio), params=FAST, clock=radio.clock)
            task = asyncio.create_task(session.run())
            while radio.now_s() < 120:
                await asyncio.sleep(0.01)
            session.request_stop(reason="signal SIGINT")
            return await task

    s = asyncio.run(go())
    rec = read_lmr(out)
    assert s.stopped_by == "signal SIGINT" and rec.meta["lmr.closed"] == "true"
    assert not per.firmware.streaming
    assert rec.duration_s == pytest.approx(120, abs=5)


def test_a_restarted_collector_continues_the_night_and_backfills_the_pause(tmp_path):
    per = open_device(faults=FaultPlan(loss_prob=0.01, seed=2))
    out = tmp_path / "night.lmr"

    async def go():
        async with MemoryRadio([per], HostClock(speed=300)) as radio:
            first = asyncio.create_task(record_async(radio, out, duration_s=900, side="right"))
            while radio.now_s() < 300:
                await asyncio.sleep(0.01)
            first.cancel()  # dies without stopping the sensor (like a killed process)
            with pytest.raises(asyncio.CancelledError):
                await first
            assert per.firmware.streaming
            while radio.now_s() < 330:  # 30 s later it is started again with the same command
                await asyncio.sleep(0.01)
            return await record_async(radio, out, duration_s=900)

    s = asyncio.run(go())
    rec = read_lmr(out)
    assert s.appended and s.lost_packets == 0
    assert rec.side == "right" and rec.meta["lmr.closed"] == "true"
    # the night ends 900 s after its first sample, not 900 s after the restart
    assert rec.duration_s == pytest.approx(900, abs=1.0)
    seqs = packet_seqs(rec)
    np.testing.assert_array_equal(seqs, np.arange(seqs.size))
    assert rec.gaps().empty and s.backfilled_samples >= 60 * 25
    assert_matches_truth(rec, per.firmware)


def test_a_stopped_sensor_is_restarted_and_the_file_continues_after_a_gap(tmp_path):
    per = open_device()
    out = tmp_path / "night.lmr"

    async def go():
        async with MemoryRadio([per], HostClock(speed=300)) as radio:
            await record_async(radio, out, duration_s=200)  # ends: the sensor is stopped
            while radio.now_s() < 300:
                await asyncio.sleep(0.01)
            return await record_async(radio, out, duration_s=500)

    s = asyncio.run(go())
    rec = read_lmr(out)
    assert s.appended
    seqs = packet_seqs(rec)
    np.testing.assert_array_equal(seqs, np.arange(seqs.size))  # numbering continues
    [gap] = rec.gaps().itertuples()
    # the second part starts when the collector is started again (100 s later, plus the scan)
    assert gap.onset_s == pytest.approx(200, abs=1) and 100 <= gap.duration_s <= 110
    assert rec.duration_s == pytest.approx(500, abs=1)
    assert_matches_truth(rec, per.firmware)


def test_continuing_a_file_of_another_device_or_side_is_refused(tmp_path):
    out = tmp_path / "night.lmr"
    record([open_device()], out, duration_s=30, side="left")
    size = out.stat().st_size
    other = open_device(name="LMD-ANKLE-02", address="C0:FF:EE:00:00:02")
    with pytest.raises(DeviceNotFoundError, match="C0:FF:EE:00:00:01"):
        record([other], out, device="LMD-ANKLE-02", duration_s=60)
    with pytest.raises(LmdetectError, match="left side, not right"):
        record([open_device()], out, duration_s=60, side="right")
    assert out.stat().st_size == size


@pytest.mark.parametrize(("model", "fmt", "fs"), [("h10", "raw", 50.0), ("verity", "delta", 52.0)])
def test_polar_nights_record_and_report_gaps_from_timestamps(tmp_path, model, fmt, fs):
    faults = FaultPlan(outages=((200.0, 30.0),), drift_ppm=-20)
    fw = PolarPmdFirmware(FunctionSource(leg), model=model, frame_format=fmt, faults=faults)
    per = PolarPeripheral(fw, "Polar H10 0A1B2C3D", "A0:9E:1A:00:00:01")
    out = tmp_path / "polar.lmr"
    s = record(
        [per], out, speed=100, device="Polar H10 0A1B2C3D", duration_s=600, adapter=PolarAdapter(rate_hz=50)
    )
    rec = read_lmr(out)
    assert rec.fs == fs and rec.meta["sensor"].startswith("Polar")
    # PMD cannot resend: the 30-s outage (and the reconnect) is a recorded gap, nothing else is
    [gap] = rec.gaps(min_gap_s=1.0).itertuples()
    assert gap.onset_s == pytest.approx(200, abs=3) and 30 <= gap.duration_s <= 36
    assert s.lost_samples == pytest.approx(gap.n_missing, abs=2)
    assert s.garbage == 0 and s.implausible == 0
    # each sample is what the device measured at its time stamp
    ns = int(rec.meta["lmr.first_tick"]) + np.rint(rec.time_s * 1e9).astype(np.int64)
    t = fw.true_time_s(ns) - fw.source_origin_s
    np.testing.assert_allclose(rec.accel_g, np.rint(leg(t) * 1000) / 1000, atol=0.0011)


def test_a_file_that_cannot_be_written_ends_the_night_with_the_error(tmp_path, monkeypatch):
    from lmdetect.io import native

    real = native.LmrWriter.write_packet
    calls = {"n": 0}

    def failing(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] > 100:
            raise LmdetectError(f"{self.path}: writing failed: [Errno 28] No space left on device")
        return real(self, *a, **kw)

    monkeypatch.setattr(native.LmrWriter, "write_packet", failing)
    out = tmp_path / "night.lmr"
    with pytest.raises(LmdetectError, match="No space left"):
        record([open_device()], out, duration_s=3600)
    rec = read_lmr(out)  # what was written before is intact and the file is closed
    assert rec.n_samples == 100 * 25 and rec.meta["lmr.closed"] == "true"
