"""The collector against a full disk, a kill in its first second, and a second collector on
the same file (the guarantees of docs/collector.md, "Full disk, early kill, file in use")."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import os

import numpy as np
import pytest

from lmdetect.collector.hostclock import HostClock
from lmdetect.collector.link import MemoryRadio
from lmdetect.errors import LmdetectError
from lmdetect.io import native
from lmdetect.io.native import read_lmr
from tests.collector.sim import FAST, assert_matches_truth, open_device, packet_seqs, record_async


class DiskFull:
    """``native._write_all`` raising ENOSPC between two host times of the radio's clock."""

    def __init__(self, radio: MemoryRadio, start_s: float, end_s: float) -> None:
        self.radio, self.start_s, self.end_s = radio, start_s, end_s
        self.failures = 0
        self._real = native._write_all

    def __call__(self, fd: int, data: bytes) -> None:
        if self.start_s <= self.radio.now_s() < self.end_s:
            self.failures += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._real(fd, data)


def full_disk_night(tmp_path, monkeypatch, *, full: tuple[float, float], duration_s: float, ring_s: float = 180.0,
                    memory_buffer_samples: int = 1_000_000):
    per = open_device(ring_s=ring_s)  # 50 Hz
    out = tmp_path / "night.lmr"
    # retries every host second (the flush interval is in wall seconds; the clock runs 100x)
    params = dataclasses.replace(FAST, memory_buffer_samples=memory_buffer_samples, flush_interval_s=0.01)

    async def go():
        async with MemoryRadio([per], HostClock(speed=100)) as radio:
            disk = DiskFull(radio, *full)
            monkeypatch.setattr(native, "_write_all", disk)
            s = await record_async(radio, out, duration_s=duration_s, params=params)
            return s, disk

    s, disk = asyncio.run(go())
    return per, out, s, disk


def test_a_full_disk_mid_night_loses_nothing_held_in_memory(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.WARNING)
    per, out, s, disk = full_disk_night(tmp_path, monkeypatch, full=(100.0, 250.0), duration_s=400)
    assert disk.failures > 20  # retried all along
    rec = read_lmr(out)  # the same file, continued, closed
    assert rec.meta["lmr.closed"] == "true" and not s.appended
    seqs = packet_seqs(rec)
    np.testing.assert_array_equal(seqs, np.arange(seqs.size))
    assert rec.gaps().empty and s.lost_samples == 0
    assert rec.duration_s == pytest.approx(400, abs=1)
    assert_matches_truth(rec, per.firmware)
    failed = [r for r in caplog.records if "writing failed" in r.getMessage()]
    assert len(failed) == 1  # logged once, not at every retry
    assert any("writing works again" in r.getMessage() for r in caplog.records)


def test_a_full_disk_beyond_memory_leaves_packets_in_the_sensor_and_backfills_them(tmp_path, monkeypatch):
    # memory holds 30 s (1500 samples at 50 Hz); the disk is full for 120 s; the ring holds 180 s
    per, out, s, _ = full_disk_night(tmp_path, monkeypatch, full=(100.0, 220.0), duration_s=400,
                                        memory_buffer_samples=1500)
    rec = read_lmr(out)
    seqs = packet_seqs(rec)
    np.testing.assert_array_equal(seqs, np.arange(seqs.size))
    assert rec.gaps().empty and s.lost_samples == 0
    assert s.backfilled_samples >= 80 * 50  # what memory could not hold came from the sensor
    assert rec.duration_s == pytest.approx(400, abs=1)
    assert_matches_truth(rec, per.firmware)


def test_a_full_disk_longer_than_memory_and_ring_records_the_true_gap(tmp_path, monkeypatch):
    # memory 30 s + ring 120 s cannot cover 300 s: what neither held is one lost range, a gap in the file
    per, out, s, _ = full_disk_night(tmp_path, monkeypatch, full=(100.0, 400.0), duration_s=600, ring_s=120.0,
                                        memory_buffer_samples=1500)
    rec = read_lmr(out)
    [lost] = s.lost
    seqs = packet_seqs(rec)
    missing = np.setdiff1d(np.arange(seqs[-1] + 1), seqs)
    np.testing.assert_array_equal(missing, np.arange(lost.first_seq, lost.last_seq + 1))
    # 300 s full minus ~30 s in memory minus 120 s in the ring: about 150 s lost (plus the
    # seconds the first retry and the backfill take), no more
    assert 145 * 50 <= lost.n_samples <= 170 * 50
    [gap] = rec.gaps().itertuples()
    assert gap.n_missing == lost.n_samples
    assert_matches_truth(rec, per.firmware)


def test_a_disk_still_full_at_the_end_is_one_clear_error_and_the_file_reads(tmp_path, monkeypatch):
    with pytest.raises(LmdetectError, match="samples could not be written"):
        full_disk_night(tmp_path, monkeypatch, full=(100.0, 1e9), duration_s=200)
    rec = read_lmr(tmp_path / "night.lmr")  # everything written before the disk filled is there
    assert 95 <= rec.duration_s <= 100


def _killed_writer_close(self):
    """What SIGKILL leaves: the descriptor goes, nothing pending is written, no end marker."""
    self._stop.set()
    self._wake.set()
    self._thread.join()
    os.close(self._fd)
    self._fd = None


@pytest.mark.parametrize("restart_s, ring_s", [(30.0, 180.0), (200.0, 120.0)], ids=["ring-holds-it", "true-gap"])
def test_a_collector_killed_in_its_first_second_is_continued_with_backfill(tmp_path, monkeypatch, restart_s, ring_s):
    per = open_device(ring_s=ring_s)  # 50 Hz
    out = tmp_path / "night.lmr"
    slow_flush = dataclasses.replace(FAST, flush_interval_s=60.0)  # nothing flushed in the first second

    async def go():
        async with MemoryRadio([per], HostClock(speed=100)) as radio:
            with monkeypatch.context() as m:
                m.setattr(native.LmrWriter, "close", _killed_writer_close)
                first = asyncio.create_task(record_async(radio, out, duration_s=600, params=slow_flush))
                while not out.exists():
                    await asyncio.sleep(0.0005)
                created = radio.now_s()
                while radio.now_s() < created + 0.5:
                    await asyncio.sleep(0.0005)
                first.cancel()  # half a second into the night
                assert radio.now_s() < created + 1.0
                with pytest.raises(asyncio.CancelledError):
                    await first
            assert per.firmware.streaming
            header_only = read_lmr(out)
            assert header_only.n_samples == 0
            while radio.now_s() < restart_s:
                await asyncio.sleep(0.01)
            return header_only, await record_async(radio, out, duration_s=600)

    header_only, s = asyncio.run(go())
    rec = read_lmr(out)
    assert s.appended and rec.meta["lmr.closed"] == "true"
    seqs = packet_seqs(rec)
    assert_matches_truth(rec, per.firmware)
    if ring_s * 1.0 > restart_s:  # the sensor still held the night's beginning: nothing lost
        np.testing.assert_array_equal(seqs, np.arange(seqs.size))
        assert s.lost_samples == 0 and s.backfilled_samples >= (restart_s - 5) * rec.fs
        # the night begins where it began (two host-time estimates of the same sensor tick)
        assert abs((rec.start - header_only.start).total_seconds()) < 2.5
        assert rec.duration_s == pytest.approx(600, abs=1)
    else:  # what the ring no longer held is reported lost, exactly
        [lost] = s.lost
        assert lost.first_seq == 0 and seqs[0] == lost.last_seq + 1
        # the time the ring no longer covered, plus the seconds the reconnect and the backfill took
        assert restart_s - ring_s <= lost.n_packets * 0.5 <= restart_s - ring_s + 15  # 0.5-s packets
        # the file begins with the oldest packet the sensor still held
        assert abs((rec.start - header_only.start).total_seconds() - lost.n_packets * 0.5) < 2.5
    # and the file processes
    from lmdetect.pipeline import process_night

    process_night(rec)


def test_a_second_collector_on_the_same_file_fails_before_connecting(tmp_path):
    per = open_device()
    out = tmp_path / "night.lmr"

    async def go():
        async with MemoryRadio([per], HostClock(speed=100)) as radio:
            first = asyncio.create_task(record_async(radio, out, duration_s=300))
            while radio.now_s() < 60:
                await asyncio.sleep(0.01)
            with pytest.raises(LmdetectError, match="file in use"):
                await record_async(radio, out, duration_s=300)
            return await first

    s = asyncio.run(go())
    # the running collector was never knocked off the link
    assert s.reconnects == 0 and s.lost_samples == 0
    rec = read_lmr(out)
    seqs = packet_seqs(rec)
    np.testing.assert_array_equal(seqs, np.arange(seqs.size))
    assert rec.duration_s == pytest.approx(300, abs=1)
