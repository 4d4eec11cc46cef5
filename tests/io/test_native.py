"""The .lmr format: round trips, truncation, version checks, append, flushing, compaction."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import zoneinfo
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from lmdetect.errors import ConfigError, FormatError, LmdetectError
from lmdetect.io import read_recording, write_recording
from lmdetect.io._lmr_format import header_to_metadata, make_schema
from lmdetect.io.native import (
    FORMAT_VERSION,
    LmrHeader,
    LmrWriter,
    compact_lmr,
    read_lmr,
    read_lmr_header,
    write_lmr,
)
from lmdetect.model import Recording
from lmdetect.protocol import Flags

CET = dt.timezone(dt.timedelta(hours=1))
EST = dt.timezone(dt.timedelta(hours=-5))
HOST0_NS = 1_709_330_400_000_000_000  # 2024-03-01T22:00:00Z


def make_header(**kw: object) -> LmrHeader:
    base: dict[str, object] = dict(
        fs=50.0,
        start=dt.datetime(2024, 3, 1, 23, 0, 0, 250000, tzinfo=CET),
        tick_hz=32768.0,
        scale_g=8 / 32768,
        range_g=8.0,
        device_id="LM-0042",
        side="left",
        sensor="reference",
        firmware="1.2.3",
        meta={"subject": "s01", "note": "ünïcode ok"},
    )
    base.update(kw)
    return LmrHeader(**base)  # type: ignore[arg-type]


def packet_counts(seq: int, n: int = 10) -> np.ndarray:
    """Deterministic counts that encode seq and sample index, so a mix-up is visible."""
    i = np.arange(n)
    cols = [(seq * 7 + i) % 30000, -((seq + i) % 2000), np.full(n, 4096) + i]
    return np.stack(cols, axis=1).astype(np.int16)


def pkt_tick(seq: int, header: LmrHeader, n: int = 10, tick0: int = 5_000) -> int:
    return tick0 + round(seq * n * header.tick_hz / header.fs)


def stream_file(
    path: Path, header: LmrHeader, n_packets: int, *, flush_every: int = 0, host: bool = True
) -> None:
    with LmrWriter(path, header, flush_interval_s=3600, fsync_interval_s=3600) as w:
        for s in range(n_packets):
            w.write_packet(
                s,
                pkt_tick(s, header),
                packet_counts(s),
                host_ns=HOST0_NS + s * 200_000_000 + 12_345 if host else None,
            )
            if flush_every and (s + 1) % flush_every == 0:
                w.flush()


# ------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("tz", [CET, EST, zoneinfo.ZoneInfo("America/New_York")])
def test_stream_round_trip_exact(tmp_path: Path, tz: dt.tzinfo) -> None:
    header = make_header(start=dt.datetime(2024, 3, 1, 23, 0, 0, 250000, tzinfo=tz))
    path = tmp_path / "night.lmr"
    stream_file(path, header, 40, flush_every=7)
    rec = read_lmr(path)

    assert rec.n_samples == 400
    counts = np.rint(rec.accel_g / header.scale_g).astype(np.int64)
    expected = np.concatenate([packet_counts(s) for s in range(40)])
    np.testing.assert_array_equal(counts, expected)
    assert rec.accel_g.dtype == np.float32
    within = np.floor(np.arange(10) * 32768 / 50 + 0.5)
    ticks = np.concatenate([pkt_tick(s, header) + within for s in range(40)])
    np.testing.assert_array_equal(rec.time_s, (ticks - ticks[0]) / 32768)
    np.testing.assert_array_equal(rec.seq, np.repeat(np.arange(40), 10))
    host_expected = (np.repeat(HOST0_NS + np.arange(40) * 200_000_000 + 12_345, 10) - _ns(rec.start)) / 1e9
    np.testing.assert_allclose(rec.host_time_s, host_expected, atol=1e-9, rtol=0)
    assert not rec.backfilled.any()
    assert rec.start == header.start and rec.start.utcoffset() == header.start.utcoffset()
    assert rec.start.tzinfo == tz or rec.start.tzinfo.utcoffset(rec.start) == tz.utcoffset(rec.start)
    assert (rec.fs, rec.device_id, rec.side, rec.range_g) == (50.0, "LM-0042", "left", 8.0)
    assert rec.meta["subject"] == "s01" and rec.meta["note"] == "ünïcode ok"
    assert rec.meta["sensor"] == "reference" and rec.meta["firmware"] == "1.2.3"
    assert rec.meta["lmr.closed"] == "true" and rec.meta["lmr.truncated"] == "false"
    assert rec.meta["lmr.tick_hz"] == "32768.0"


def _ns(t: dt.datetime) -> int:
    d = t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (d.days * 86400 + d.seconds) * 10**9 + d.microseconds * 1000


def test_zoneinfo_start_kept(tmp_path: Path) -> None:
    zone = zoneinfo.ZoneInfo("Europe/Berlin")
    header = make_header(start=dt.datetime(2024, 3, 30, 23, 0, tzinfo=zone))  # night of a DST change
    stream_file(tmp_path / "a.lmr", header, 3)
    start = read_lmr(tmp_path / "a.lmr").start
    assert start.tzinfo == zone and start == header.start


def test_write_lmr_round_trip_without_packet_info(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 5000
    accel = rng.normal(0, 0.5, (n, 3)).astype(np.float32)
    accel[:, 2] += 1.0
    t = np.arange(n) / 100.0
    t[3000:] += 12.5  # a gap
    start = dt.datetime(2023, 11, 5, 22, 30, tzinfo=EST)
    rec = Recording(accel, t, 100.0, start, device_id="csv", range_g=4.0, meta={"origin": "test"})
    path = tmp_path / "r.lmr"
    write_lmr(rec, path)
    back = read_lmr(path)
    assert back.n_samples == n
    np.testing.assert_allclose(back.accel_g, accel, atol=4 / 32768 / 2 + 1e-7, rtol=0)
    np.testing.assert_allclose(back.time_s, t, atol=1e-6, rtol=0)  # within one tick of 1 us
    assert back.seq is None and back.host_time_s is None and back.backfilled is None
    assert back.start == rec.start and back.start.utcoffset() == dt.timedelta(hours=-5)
    assert back.meta["origin"] == "test" and back.range_g == 4.0
    assert len(back.gaps()) == 1


def test_write_lmr_round_trip_with_packet_info(tmp_path: Path) -> None:
    n = 640
    accel = (np.arange(n * 3).reshape(n, 3) % 97 - 48).astype(np.float32) / 4096
    t = np.arange(n) / 50.0
    seq = np.arange(n) // 32 + 1000
    host = t + 0.05
    host[100:140] = np.nan
    backfilled = np.zeros(n, bool)
    backfilled[200:232] = True
    rec = Recording(accel, t, 50.0, dt.datetime(2024, 1, 1, 22, tzinfo=CET), seq=seq, host_time_s=host,
                    backfilled=backfilled)
    path = tmp_path / "p.lmr"
    write_lmr(rec, path)
    back = read_lmr(path)
    np.testing.assert_array_equal(back.accel_g, accel)  # 1/4096 g resolution holds these exactly
    np.testing.assert_array_equal(back.seq, seq)
    np.testing.assert_array_equal(back.backfilled, backfilled)
    np.testing.assert_allclose(back.host_time_s, host, atol=1e-9, equal_nan=True)
    assert np.isnan(back.host_time_s[100:140]).all()


def test_read_write_read_is_exact(tmp_path: Path) -> None:
    header = make_header()
    stream_file(tmp_path / "a.lmr", header, 25, flush_every=4)
    first = read_lmr(tmp_path / "a.lmr")
    write_lmr(first, tmp_path / "b.lmr", batch_s=1.0)
    second = read_lmr(tmp_path / "b.lmr")
    np.testing.assert_array_equal(second.accel_g, first.accel_g)
    np.testing.assert_array_equal(second.time_s, first.time_s)  # 32768 Hz ticks kept exact
    np.testing.assert_array_equal(second.seq, first.seq)
    np.testing.assert_array_equal(second.host_time_s, first.host_time_s)
    assert second.meta["lmr.first_tick"] == first.meta["lmr.first_tick"] == "5000"
    assert read_lmr_header(tmp_path / "b.lmr") == read_lmr_header(tmp_path / "a.lmr")


def test_time_origin_shift_preserves_absolute_times(tmp_path: Path) -> None:
    rec = Recording(np.zeros((10, 3), np.float32), 5.0 + np.arange(10) / 10, 10.0,
                    dt.datetime(2024, 1, 1, 22, tzinfo=CET))
    write_lmr(rec, tmp_path / "s.lmr")
    back = read_lmr(tmp_path / "s.lmr")
    assert back.time_s[0] == 0.0
    assert list(back.timestamps()) == list(rec.timestamps())


def test_clipping_on_quantisation(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    accel = np.array([[0.5, -9.0, 1.0], [8.5, 0.0, 1.0]], np.float32)
    rec = Recording(accel, np.array([0.0, 0.02]), 50.0, dt.datetime(2024, 1, 1, tzinfo=CET))
    with caplog.at_level(logging.WARNING):
        write_lmr(rec, tmp_path / "c.lmr")  # unknown range: 1/4096 g, +-8 g
    assert "clipped" in caplog.text
    back = read_lmr(tmp_path / "c.lmr")
    assert back.accel_g[0, 1] == pytest.approx(-8.0) and back.accel_g[1, 0] == pytest.approx(32767 / 4096)
    flags = ipc.open_stream(tmp_path / "c.lmr").read_all().column("flags").to_pylist()
    assert flags == [int(Flags.CLIPPED)] * 2


def test_empty_recording_round_trip(tmp_path: Path) -> None:
    rec = Recording(np.zeros((0, 3), np.float32), np.zeros(0), 50.0, dt.datetime(2024, 1, 1, tzinfo=CET))
    write_lmr(rec, tmp_path / "e.lmr")
    back = read_lmr(tmp_path / "e.lmr")
    assert back.n_samples == 0 and back.meta["lmr.closed"] == "true"


def test_registry_dispatch(tmp_path: Path) -> None:
    start = dt.datetime(2024, 1, 1, tzinfo=EST)
    rec = Recording(np.ones((20, 3), np.float32), np.arange(20) / 25, 25.0, start)
    write_recording(rec, tmp_path / "x.lmr")
    back = read_recording(tmp_path / "x.lmr")
    np.testing.assert_array_equal(back.accel_g, rec.accel_g)
    with pytest.raises(LmdetectError, match="no read options"):
        read_recording(tmp_path / "x.lmr", start="2024-01-01T00:00:00+00:00")


def test_plain_pyarrow_can_open(tmp_path: Path) -> None:
    stream_file(tmp_path / "a.lmr", make_header(), 5)
    table = pa.ipc.open_stream(tmp_path / "a.lmr").read_all()
    md = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert table.column_names == ["x", "y", "z", "seq", "tick", "host_ns", "flags"]
    assert md["lmr.format"] == "lmdetect-recording" and md["lmr.version"] == str(FORMAT_VERSION)
    assert md["lmr.start"] == "2024-03-01T23:00:00.250000+01:00"
    # first tick of each packet is stored; the rest follow the nominal spacing
    assert table.column("tick").null_count == 5 * 9


# ------------------------------------------------------------------ duplicates and ordering
def test_duplicates_dropped_first_copy_kept(tmp_path: Path) -> None:
    header = make_header()
    path = tmp_path / "d.lmr"
    with LmrWriter(path, header) as w:
        for s in (0, 1, 2, 4, 5):  # packet 3 lost on the live link
            w.write_packet(s, pkt_tick(s, header), packet_counts(s), host_ns=HOST0_NS + s)
        # resend of 2 (already received: a duplicate, with other values to tell copies apart) and 3
        w.write_packet(2, pkt_tick(2, header), packet_counts(2) + 1, flags=int(Flags.RESENT))
        w.write_packet(3, pkt_tick(3, header), packet_counts(3), flags=int(Flags.RESENT))
    rec = read_lmr(path)
    assert rec.n_samples == 60
    assert rec.meta["lmr.duplicates_dropped"] == "10"
    np.testing.assert_array_equal(rec.seq, np.repeat(np.arange(6), 10))
    assert np.all(np.diff(rec.time_s) > 0)
    first_copy = np.rint(rec.accel_g[20:30] / header.scale_g)
    np.testing.assert_array_equal(first_copy, packet_counts(2))
    np.testing.assert_array_equal(rec.backfilled, np.repeat([0, 0, 0, 1, 0, 0], 10).astype(bool))
    assert np.isnan(rec.host_time_s[30:40]).all() and not np.isnan(rec.host_time_s[:30]).any()


def test_irregular_sample_ticks_exact(tmp_path: Path) -> None:
    header = make_header()
    rng = np.random.default_rng(3)
    path = tmp_path / "i.lmr"
    all_ticks = []
    with LmrWriter(path, header) as w:
        tick = 1000
        for s in range(20):
            st = tick + np.cumsum(rng.integers(600, 700, 10))
            w.write_packet(s, int(st[0]), packet_counts(s), sample_ticks=st)
            all_ticks.append(st)
            tick = int(st[-1])
    ticks = np.concatenate(all_ticks)
    rec = read_lmr(path)
    np.testing.assert_array_equal(np.rint(rec.time_s * 32768).astype(np.int64), ticks - ticks[0])


# ----------------------------------------------------------------------------- truncation
def test_truncation_at_every_byte(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    header = make_header(meta={})
    full = tmp_path / "full.lmr"
    stream_file(full, header, 6, flush_every=2)  # three batches of 20 samples
    data = full.read_bytes()
    reference = read_lmr(full)
    schema_len = len(make_schema(header_to_metadata(header)).serialize())
    cut_path = tmp_path / "cut.lmr"
    seen_sizes = set()
    caplog.set_level(logging.ERROR)
    for cut in range(len(data) + 1):
        cut_path.write_bytes(data[:cut])
        if cut < schema_len:
            with pytest.raises(FormatError) as err:
                read_lmr(cut_path)
            assert str(cut_path) in str(err.value)
            continue
        rec = read_lmr(cut_path)
        seen_sizes.add(rec.n_samples)
        assert rec.n_samples in (0, 20, 40, 60)
        np.testing.assert_array_equal(rec.accel_g, reference.accel_g[: rec.n_samples])
        np.testing.assert_array_equal(rec.time_s, reference.time_s[: rec.n_samples])
        if cut == len(data):
            assert rec.meta["lmr.truncated"] == "false" and rec.meta["lmr.dropped_bytes"] == "0"
        else:
            assert rec.meta["lmr.truncated"] == "true" and rec.meta["lmr.closed"] == "false"
            assert int(rec.meta["lmr.dropped_bytes"]) < cut
    assert seen_sizes == {0, 20, 40, 60}


def test_truncated_read_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    stream_file(tmp_path / "a.lmr", make_header(), 4, flush_every=2)
    data = (tmp_path / "a.lmr").read_bytes()
    (tmp_path / "a.lmr").write_bytes(data[:-30])
    with caplog.at_level(logging.WARNING):
        rec = read_lmr(tmp_path / "a.lmr")
    assert "no end-of-stream marker" in caplog.text and rec.n_samples == 20
    assert int(rec.meta["lmr.dropped_bytes"]) > 0


def test_zero_filled_tail_is_not_a_clean_close(tmp_path: Path) -> None:
    # what a power loss can leave: the size grew but the data blocks are zeros
    stream_file(tmp_path / "a.lmr", make_header(), 4, flush_every=2)
    data = (tmp_path / "a.lmr").read_bytes()
    (tmp_path / "a.lmr").write_bytes(data[:-8] + bytes(64))
    rec = read_lmr(tmp_path / "a.lmr")
    assert rec.n_samples == 40
    assert rec.meta["lmr.closed"] == "false" and rec.meta["lmr.dropped_bytes"] == "64"


# ------------------------------------------------------------------------- bad files
def _stream_with_metadata(path: Path, metadata: dict[str, str]) -> None:
    schema = make_schema(metadata)
    with ipc.new_stream(path, schema) as w:
        w.write_batch(pa.record_batch([pa.array([1], pa.int16())] * 3 + [pa.array([0], pa.int64()),
                                       pa.array([0], pa.int64()), pa.array([None], pa.int64()),
                                       pa.array([0], pa.uint8())], schema=schema))


def test_newer_major_version_refused(tmp_path: Path) -> None:
    md = header_to_metadata(make_header())
    md["lmr.version"] = str(FORMAT_VERSION + 1)
    _stream_with_metadata(tmp_path / "v.lmr", md)
    with pytest.raises(FormatError, match="newer") as err:
        read_lmr(tmp_path / "v.lmr")
    assert "v.lmr" in str(err.value)
    with pytest.raises(FormatError, match="newer"):
        read_lmr_header(tmp_path / "v.lmr")


def test_newer_minor_version_accepted(tmp_path: Path) -> None:
    md = header_to_metadata(make_header())
    md["lmr.version"] = f"{FORMAT_VERSION}.7"
    md["lmr.some_future_key"] = "x"
    _stream_with_metadata(tmp_path / "m.lmr", md)
    assert read_lmr(tmp_path / "m.lmr").n_samples == 1


def test_other_arrow_stream_refused(tmp_path: Path) -> None:
    md = header_to_metadata(make_header())
    md["lmr.format"] = "something-else"
    _stream_with_metadata(tmp_path / "o.lmr", md)
    with pytest.raises(FormatError, match="not an lmdetect recording"):
        read_lmr(tmp_path / "o.lmr")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"x,y,z\n1,2,3\n" * 20, "not an lmdetect recording"),
        (bytes(range(256)) * 4, "not an lmdetect recording"),
        (b"\xff\xff\xff\xff\x10\x00\x00\x00" + b"\x01" * 16 + b"\x00" * 8, "unreadable header"),
    ],
)
def test_garbage_file_names_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "garbage.lmr"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=message) as err:
        read_lmr(path)
    assert str(path) in str(err.value)


def test_arrow_file_format_gets_a_hint(tmp_path: Path) -> None:
    table = pa.table({"x": [1]})
    with ipc.new_file(tmp_path / "f.lmr", table.schema) as w:
        w.write_table(table)
    with pytest.raises(FormatError, match="Arrow IPC \\*file\\*"):
        read_lmr(tmp_path / "f.lmr")


def test_header_validation() -> None:
    with pytest.raises(ConfigError, match="reserved"):
        make_header(meta={"lmr.start": "x"})
    with pytest.raises(ConfigError, match="timezone-aware"):
        make_header(start=dt.datetime(2024, 1, 1))
    with pytest.raises(ConfigError, match="side"):
        make_header(side="middle")
    with pytest.raises(ConfigError, match="fs"):
        make_header(fs=0)


def test_write_packet_validation(tmp_path: Path) -> None:
    with LmrWriter(tmp_path / "w.lmr", make_header()) as w:
        with pytest.raises(LmdetectError, match="shape"):
            w.write_packet(0, 0, np.zeros((10, 2), np.int16))
        with pytest.raises(LmdetectError, match="int16"):
            w.write_packet(0, 0, np.full((1, 3), 40000))
        with pytest.raises(LmdetectError, match="sample_ticks"):
            w.write_packet(0, 0, np.zeros((2, 3), np.int16), sample_ticks=np.arange(3))
        w.write_packet(0, 0, np.zeros((2, 3), np.int64))  # integer counts in range are accepted
        assert w.samples_written == 2
    with pytest.raises(LmdetectError, match="closed"):
        w.write_packet(1, 10, np.zeros((2, 3), np.int16))


# -------------------------------------------------------------------------------- append
def test_existing_file_needs_append(tmp_path: Path) -> None:
    stream_file(tmp_path / "a.lmr", make_header(), 2)
    with pytest.raises(LmdetectError, match="append=True"):
        LmrWriter(tmp_path / "a.lmr", make_header())


def test_append_after_clean_close(tmp_path: Path) -> None:
    header = make_header()
    path = tmp_path / "a.lmr"
    stream_file(path, header, 5)
    later = make_header(start=header.start + dt.timedelta(hours=1), meta={"other": "x"})
    with LmrWriter(path, later, append=True) as w:
        assert (w.existing_samples, w.last_seq) == (50, 4)
        assert w.last_tick == pkt_tick(4, header) + 5898  # floor(9 * 32768 / 50 + 0.5)
        assert w.header == header  # the file's header is kept
        for s in range(5, 9):
            w.write_packet(s, pkt_tick(s, header), packet_counts(s))
    rec = read_lmr(path)
    assert rec.meta["lmr.closed"] == "true"
    np.testing.assert_array_equal(rec.seq, np.repeat(np.arange(9), 10))
    assert rec.meta["subject"] == "s01" and "other" not in rec.meta
    # one stream: plain pyarrow reads it as well
    assert pa.ipc.open_stream(path).read_all().num_rows == 90


def test_append_header_mismatch(tmp_path: Path) -> None:
    stream_file(tmp_path / "a.lmr", make_header(), 2)
    with pytest.raises(FormatError, match="fs: file 50.0, new 100.0") as err:
        LmrWriter(tmp_path / "a.lmr", make_header(fs=100.0), append=True)
    assert "a.lmr" in str(err.value)


def test_append_drops_partial_tail(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    header = make_header()
    path = tmp_path / "a.lmr"
    stream_file(path, header, 6, flush_every=2)
    data = path.read_bytes()
    path.write_bytes(data[:-50])  # the last batch (packets 4, 5) is cut
    with caplog.at_level(logging.WARNING):
        w = LmrWriter(path, header, append=True)
    assert "partial batch" in caplog.text
    with w:
        assert w.last_seq == 3
        for s in range(4, 8):
            w.write_packet(s, pkt_tick(s, header), packet_counts(s))
    rec = read_lmr(path)
    assert rec.meta["lmr.truncated"] == "false" and rec.meta["lmr.bad_batches"] == "0"
    np.testing.assert_array_equal(rec.seq, np.repeat(np.arange(8), 10))
    expected = np.concatenate([packet_counts(s) for s in range(8)])
    np.testing.assert_array_equal(np.rint(rec.accel_g / header.scale_g), expected)


def test_append_to_missing_file_creates_it(tmp_path: Path) -> None:
    with LmrWriter(tmp_path / "new.lmr", make_header(), append=True) as w:
        assert w.existing_samples == 0 and w.last_seq is None
        w.write_packet(0, 0, packet_counts(0))
    assert read_lmr(tmp_path / "new.lmr").n_samples == 10


def test_second_writer_is_refused(tmp_path: Path) -> None:
    header = make_header()
    path = tmp_path / "a.lmr"
    with LmrWriter(path, header) as first:
        first.write_packet(0, pkt_tick(0, header), packet_counts(0))
        first.flush()
        size = path.stat().st_size
        with pytest.raises(LmdetectError, match="another writer"):
            LmrWriter(path, header, append=True)
        assert path.stat().st_size == size  # the live file was not touched
        first.write_packet(1, pkt_tick(1, header), packet_counts(1))
    rec = read_lmr(path)
    assert rec.meta["lmr.closed"] == "true" and rec.n_samples == 20


# ------------------------------------------------------------------- flushing and fsync
def test_background_flush_without_new_packets(tmp_path: Path) -> None:
    path = tmp_path / "live.lmr"
    header = make_header()
    with LmrWriter(path, header, flush_interval_s=0.2) as w:
        assert read_lmr(path).n_samples == 0  # the header is on disk from the start
        w.write_packet(0, 0, packet_counts(0))
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and w.samples_flushed == 0:
            time.sleep(0.05)
        live = read_lmr(path)  # no further packet arrived: the thread flushed on its own
        assert live.n_samples == 10
        assert live.meta["lmr.closed"] == "false" and live.meta["lmr.truncated"] == "true"
        assert read_lmr_header(path) == header


def test_flush_due_on_write_packet(tmp_path: Path) -> None:
    path = tmp_path / "due.lmr"
    with LmrWriter(path, make_header(), flush_interval_s=0.3) as w:
        w.write_packet(0, 0, packet_counts(0))
        time.sleep(0.35)
        w.write_packet(1, 6554, packet_counts(1))  # due: this call triggers the batch
        deadline = time.monotonic() + 2.0
        while w.samples_flushed < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert read_lmr(path).n_samples == 20


def test_fsync_periodic_and_on_close(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    w = LmrWriter(tmp_path / "f.lmr", make_header(), flush_interval_s=0.05, fsync_interval_s=0.1)
    created = len(calls)
    assert created >= 1  # the new file's header is fsynced before it appears
    for s in range(8):
        w.write_packet(s, s * 6554, packet_counts(s))
        time.sleep(0.06)
    periodic = len(calls) - created
    w.close()
    assert periodic >= 2
    assert len(calls) > created + periodic  # close fsyncs


# ------------------------------------------------------------------------------- compact
def test_compact_keeps_rows_and_shrinks(tmp_path: Path) -> None:
    header = make_header()
    path = tmp_path / "c.lmr"
    with LmrWriter(path, header) as w:
        for s in range(300):
            w.write_packet(s, pkt_tick(s, header), packet_counts(s), host_ns=HOST0_NS + s * 10**8)
            if s == 100:
                w.write_packet(50, pkt_tick(50, header), packet_counts(50), flags=int(Flags.RESENT))
            w.flush()  # one tiny batch per packet, as a live collector would write
    before_bytes = path.stat().st_size
    before_rows = pa.ipc.open_stream(path).read_all()
    before = read_lmr(path)
    compact_lmr(path, batch_s=20.0)
    after_rows = pa.ipc.open_stream(path).read_all()
    after = read_lmr(path)
    assert path.stat().st_size < before_bytes / 3
    assert after_rows.num_rows == before_rows.num_rows == 3010  # the duplicate row is kept in the file
    assert after_rows.schema.metadata == before_rows.schema.metadata
    np.testing.assert_array_equal(after.accel_g, before.accel_g)
    np.testing.assert_array_equal(after.time_s, before.time_s)
    np.testing.assert_array_equal(after.host_time_s, before.host_time_s)
    assert after.meta["lmr.duplicates_dropped"] == "10"


def test_compact_refuses_unclosed(tmp_path: Path) -> None:
    stream_file(tmp_path / "u.lmr", make_header(), 4, flush_every=2)
    data = (tmp_path / "u.lmr").read_bytes()
    (tmp_path / "u.lmr").write_bytes(data[:-8])
    with pytest.raises(LmdetectError, match="not closed cleanly"):
        compact_lmr(tmp_path / "u.lmr")


def test_failed_write_leaves_no_half_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    header = make_header()
    path = tmp_path / "full_disk.lmr"
    w = LmrWriter(path, header, flush_interval_s=3600)
    real_write = os.write
    failing = {"on": True}

    def half_then_enospc(fd: int, data: bytes) -> int:
        if fd == w._fd and failing["on"]:
            real_write(fd, bytes(data)[: len(data) // 2])
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", half_then_enospc)
    w.write_packet(0, pkt_tick(0, header), packet_counts(0))
    size_before = path.stat().st_size
    with pytest.raises(OSError, match="No space"):
        w.flush()
    assert path.stat().st_size == size_before  # the half-written batch was cut off again
    failing["on"] = False
    w.write_packet(1, pkt_tick(1, header), packet_counts(1))
    w.close()  # the queued samples are still there and get written now
    rec = read_lmr(path)
    assert rec.meta["lmr.closed"] == "true" and rec.meta["lmr.bad_batches"] == "0"
    np.testing.assert_array_equal(rec.seq, np.repeat([0, 1], 10))


def test_a_background_write_failure_is_retried_and_never_raised_mid_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = make_header()
    path = tmp_path / "bg.lmr"
    w = LmrWriter(path, header, flush_interval_s=0.05)
    real_write = os.write
    failing = {"on": True}

    def enospc(fd: int, data: bytes) -> int:
        if fd == w._fd and failing["on"]:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", enospc)
    w.write_packet(0, pkt_tick(0, header), packet_counts(0))
    deadline = time.monotonic() + 3.0
    while w.write_error is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert isinstance(w.write_error, OSError) and w.write_error.errno == 28
    assert w.samples_flushed == 0 and w.pending_samples == 10  # packet 0 is still queued
    failing["on"] = False
    deadline = time.monotonic() + 3.0
    while w.samples_flushed < 10 and time.monotonic() < deadline:
        time.sleep(0.02)  # the background thread retries on its own
    assert w.samples_flushed == 10 and w.write_error is None
    w.write_packet(1, pkt_tick(1, header), packet_counts(1))
    w.close()
    np.testing.assert_array_equal(read_lmr(path).seq, np.repeat([0, 1], 10))


def test_batchwise_tick_expansion_matches_whole_column():
    # a null tick at the start of a batch continues the last stored tick of the previous batch
    import pyarrow as pa

    from lmdetect.io._lmr_format import expand_ticks
    from lmdetect.io.native import _expand_ticks_into, _NominalOffsets

    ticks = np.array([1000, 0, 0, 0, 0, 51000, 0, 0, 0, 0, 0], dtype=np.int64)
    valid = np.array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0], dtype=bool)
    for tick_hz, fs in ((1e6, 100.0), (32768.0, 104.0)):
        expected = expand_ticks(ticks, valid, tick_hz, fs)
        for cuts in (((0, 3), (3, 7), (7, 11)), ((0, 5), (5, 11)), ((0, 11),)):
            out = np.empty(ticks.size, dtype=np.int64)
            anchor = -1
            table = _NominalOffsets(tick_hz, fs)
            for s, e in cuts:
                col = pa.array(ticks[s:e], mask=~valid[s:e], type=pa.int64())
                anchor = _expand_ticks_into("x.lmr", out, s, col, anchor, table)
            np.testing.assert_array_equal(out, expected)
            assert anchor == 5
