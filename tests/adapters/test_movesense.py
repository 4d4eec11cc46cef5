"""Movesense GSP notifications, decoded from bytes laid out as GD-77 and the gatt_sensordata_app sample define them."""

from __future__ import annotations

import asyncio
import math
import struct

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from firmware_sim.bluez import MovesenseGspFirmware, MovesensePeripheral
from firmware_sim.sources import FunctionSource
from lmdetect.adapters import ADAPTERS, make_adapter
from lmdetect.adapters.movesense import (
    GSP_NOTIFY_UUID,
    TICK_HZ,
    TICKS_PER_MS,
    MovesenseAdapter,
    command_status,
    encode_command,
    parse_notification,
)
from lmdetect.collector.gaps import StreamTracker, Verdict, unwrap
from lmdetect.collector.hostclock import HostClock
from lmdetect.collector.link import MemoryConnector, MemoryRadio
from lmdetect.errors import ConfigError, ProtocolError

G = 9.80665
ONE_G = bytes.fromhex("0ae81c41")  # float32 9.80665 m/s², little-endian
MINUS_HALF_G = bytes.fromhex("0ae89cc0")  # -4.903325
TWO_G = bytes.fromhex("0ae89c41")  # 19.6133
ZERO = bytes(4)


def data(ts_ms: int, samples_ms2, ref: int = 99, kind: int = 2) -> bytes:
    """A data notification built with struct (type, reference, u32 ms, float32 x y z...)."""
    flat = np.asarray(samples_ms2, dtype=np.float64).reshape(-1)
    return bytes([kind, ref]) + struct.pack("<I", ts_ms) + struct.pack(f"<{flat.size}f", *flat)


def times_ms(p) -> np.ndarray:
    return p.sample_ticks / TICKS_PER_MS


# --------------------------------------------------------------------------- commands and headers
def test_commands_are_code_reference_and_ascii_path():
    # the sample client's subscription: 01 63 "/Meas/Acc/52"; UNSUBSCRIBE carries only the reference
    assert encode_command(1, 99, "/Meas/Acc/52") == bytes.fromhex("0163") + b"/Meas/Acc/52"
    assert encode_command(2, 99) == bytes.fromhex("0263")
    assert encode_command(0, 7) == bytes.fromhex("0007")
    with pytest.raises(ConfigError, match="0 is reserved"):
        encode_command(1, 0, "/Meas/Acc/52")
    with pytest.raises(ConfigError, match="not ASCII"):
        encode_command(1, 99, "/Meas/Acc/52µ")


def test_notification_header_and_status_byte_orders():
    n = parse_notification(bytes.fromhex("0163c800"))
    assert (n.type, n.reference, n.payload) == (1, 0x63, bytes.fromhex("c800"))
    assert command_status(bytes.fromhex("c800")) == 200  # little-endian, like every other field
    assert command_status(bytes.fromhex("9401")) == 404
    # the early sample firmware's hard-coded "no free slot" reply: 0x01, 0xFB = 507 high byte first
    assert command_status(bytes([0x01, 0xFB])) == 507


def test_rate_must_be_a_movesense_rate():
    assert ADAPTERS["movesense"] is MovesenseAdapter
    assert make_adapter("movesense", rate_hz=208).path == "/Meas/Acc/208"
    with pytest.raises(ConfigError, match="50 Hz is not a Movesense accelerometer rate.*13, 26, 52"):
        MovesenseAdapter(rate_hz=50)


# --------------------------------------------------------------------------- data
def test_hand_built_notification_byte_by_byte():
    # type 2, reference 0x63, timestamp 1000 ms, then two samples of x, y, z float32 in m/s²
    note = (
        bytes.fromhex("02" "63" "e8030000")
        + ZERO + ZERO + ONE_G  # (0, 0, 1 g)
        + MINUS_HALF_G + TWO_G + ZERO  # (-0.5 g, 2 g, 0)
    )
    a = MovesenseAdapter(rate_hz=52)
    [p] = a.decode(note)
    assert p.seq is None and p.n == 2 and p.flags == 0 and p.counts.dtype == np.int16
    # stored on a ±16 g scale: 2048 counts per g (9.80665 m/s² per g)
    np.testing.assert_array_equal(p.counts, [[0, 0, 2048], [-1024, 4096, 0]])
    # the timestamp is the first sample's, in ticks of 1/1024 ms; the next is one period later
    assert p.tick == 1000 * 1024 == p.sample_ticks[0]
    assert p.sample_ticks[1] == round((1000 + 1000 / 52) * 1024)
    assert TICK_HZ == 1_024_000 and 2**MovesenseAdapter.tick_bits == 2**32 * TICKS_PER_MS


def test_unit_conversion_and_clipping_at_16_g():
    a = MovesenseAdapter(rate_hz=13)
    [p] = a.decode(data(5, [[0.25 * G, -3.5 * G, 15.9 * G]]))
    np.testing.assert_array_equal(p.counts, [[512, -7168, round(15.9 * 2048)]])
    [q] = a.decode(data(82, [[16 * G, -16 * G, 0.0]]))
    assert q.counts.tolist() == [[32767, -32768, 0]] and q.flags & 0x04  # +16 g is one count too far


def test_several_samples_per_notification_and_the_period_from_the_timestamps():
    # 104 Hz nominal, but the accelerometer runs 3 % fast; timestamps are whole ms (truncated)
    rate, spp = 104 * 1.03, 8
    a = MovesenseAdapter(rate_hz=104)
    t0 = 123_456.3
    packets = []
    for k in range(40):
        first = t0 + k * spp * 1000 / rate
        packets += a.decode(data(math.floor(first), np.zeros((spp, 3))))
    assert all(p.n == spp for p in packets)
    t = np.concatenate([times_ms(p) for p in packets])
    truth = t0 + np.arange(t.size) * 1000 / rate
    # after 100 ms of stream the period is measured, not the nominal 9.615 ms
    late = slice(t.size // 2, None)
    inside = np.concatenate([np.diff(times_ms(p)) for p in packets[20:]])
    np.testing.assert_allclose(inside, 1000 / rate, atol=0.01)
    # from one notification to the next the fit moves by less than 1 % of a period
    np.testing.assert_allclose(np.diff(t[late]), 1000 / rate, rtol=0.01)
    # times are the device clock as it reports it (whole ms, here truncated: 0.5 ms early on average)
    assert np.abs(t[late] - truth[late] + 0.5).max() < 0.2
    # never two samples closer than half a period, never a gap of more than one and a half
    assert np.diff(t).min() > 0.5 * 1000 / rate and np.diff(t).max() < 1.5 * 1000 / rate


def test_a_lost_notification_leaves_a_gap_of_its_samples():
    a = MovesenseAdapter(rate_hz=52)
    period = 1000 / 52
    firsts = [10_000 + k * 4 * period for k in range(12)]
    del firsts[6]  # lost on the air
    packets = [a.decode(data(math.floor(f), np.zeros((4, 3))))[0] for f in firsts]
    t = np.concatenate([times_ms(p) for p in packets])
    steps = np.diff(t) / period
    assert np.count_nonzero(steps > 1.5) == 1
    assert steps.max() == pytest.approx(5, abs=0.06)  # the 4 missing samples, to the timestamps' 1 ms


def test_part_2_continues_the_bytes_of_part_1():
    # 16 samples do not fit one notification: part 1 ends 8 bytes into sample 13, part 2 (type 3)
    # carries the rest; the sample client joins them as part1 + part2[2:]
    samples = np.arange(48, dtype=np.float64).reshape(16, 3) * 0.1
    whole = data(77_000, samples)
    cut = 2 + 4 + 12 * 12 + 8
    part1, part2 = whole[:cut], bytes([3, 99]) + whole[cut:]
    a = MovesenseAdapter(rate_hz=208)
    [p1] = a.decode(part1)
    [p2] = a.decode(part2)
    assert (p1.n, p2.n) == (12, 4)
    b = MovesenseAdapter(rate_hz=208)
    [joined] = b.decode(whole)
    np.testing.assert_array_equal(np.concatenate([p1.counts, p2.counts]), joined.counts)
    np.testing.assert_array_equal(np.concatenate([p1.sample_ticks, p2.sample_ticks]), joined.sample_ticks)
    np.testing.assert_array_equal(joined.counts, np.rint(samples / G * 2048))
    # a second part 2, or a part 2 with no part 1 before it, cannot be placed in time
    with pytest.raises(ProtocolError, match="part 2 without the part before it"):
        a.decode(part2)
    with pytest.raises(ProtocolError, match="part 2 without the part before it"):
        MovesenseAdapter(rate_hz=208).decode(part2)


def test_part_3_and_a_sample_split_over_three_notifications():
    samples = (np.arange(30, dtype=np.float64).reshape(10, 3) - 15) * 0.5
    whole = data(3_000, samples)
    # 2 + 4 + 120 bytes cut after 50 and 100 bytes: a sample is split at both boundaries
    parts = [whole[:50], bytes([3, 99]) + whole[50:100], bytes([4, 99]) + whole[100:]]
    a = MovesenseAdapter(rate_hz=104)
    got = [p for part in parts for p in a.decode(part)]
    assert [p.n for p in got] == [3, 4, 3]
    np.testing.assert_array_equal(np.concatenate([p.counts for p in got]), np.rint(samples / G * 2048))
    ticks = np.concatenate([p.sample_ticks for p in got])
    np.testing.assert_array_equal(ticks, np.rint((3000 + np.arange(10) * 1000 / 104) * 1024).astype(np.int64))
    with pytest.raises(ProtocolError, match="part 3 without"):
        a.decode(parts[2])


def test_the_u32_millisecond_clock_wraps_without_a_jump():
    a = MovesenseAdapter(rate_hz=52)
    period = 1000 / 52
    start = 2**32 - 200.0  # 200 ms before the counter wraps

    def note(k: int) -> bytes:
        return data(math.floor(start + k * 4 * period) % 2**32, np.zeros((4, 3)))

    # within one run of notifications the times simply go on past the wrap ...
    run = [a.decode(note(k))[0] for k in range(6)]
    ticks = np.concatenate([p.sample_ticks for p in run])
    assert np.all(np.diff(ticks) > 0) and ticks[-1] > 2**42
    # ... and a run that starts after it (a new connection) starts from the wrapped clock
    a.on_connection()
    after = [a.decode(note(k))[0] for k in range(6, 10)]
    assert after[0].tick < 2**20
    tracker = StreamTracker(
        seq_bits=None, tick_bits=a.tick_bits, tick_hz=TICK_HZ, fs_hz=52, max_samples_per_packet=a.max_samples_per_packet
    )
    verdicts = [v for p in run + after for v, _ in tracker.offer(p, host_ns=0)]
    assert verdicts == [Verdict.NEW] * 10 and tracker.stats.lost_samples == 0 and not tracker.lost
    # the collector unwraps the 42-bit ticks: 39 sample periods from the first to the last sample
    last = unwrap(after[-1].sample_ticks[-1], run[0].tick, a.tick_bits)
    assert (last - run[0].tick) / TICKS_PER_MS == pytest.approx(39 * period, abs=1.0)


def test_a_repeated_notification_is_a_duplicate_and_keeps_the_continuation():
    samples = np.ones((16, 3))
    whole = data(500, samples)
    cut = 150
    a = MovesenseAdapter(rate_hz=208)
    [p1] = a.decode(whole[:cut])
    [again] = a.decode(whole[: cut - 20])  # a truncated copy of the same notification
    assert again.tick == p1.tick and again.n < p1.n
    [p2] = a.decode(bytes([3, 99]) + whole[cut:])  # part 2 still continues the original
    assert p1.n + p2.n == 16 and p2.sample_ticks[0] - p1.sample_ticks[-1] == round(1000 / 208 * 1024)


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (b"", "no header"),
        (b"\x02", "no header"),
        (bytes([2, 99]) + b"\x00" * 3, "no whole sample"),
        (bytes([2, 99]) + b"\x00" * 15, "no whole sample"),
        (data(0, [[0, 0, G]], ref=98), "reference 98"),
        (data(0, [[0, 0, G]], kind=7), "unknown GSP notification type 7"),
        (data(0, [[0, 0, float("nan")]]), "not a finite number"),
        (data(0, [[0, 0, 17 * G]]), "17 g, beyond"),
        (data(0, [[0, 0, G]], kind=3), "part 2 without"),
        (bytes([1, 99]), "has no status"),
        (bytes([1, 42, 0xC8, 0x00]), "reference 42, which this collector did not use"),
        (data(0, np.zeros((43, 3))), "exceeds the 512-byte"),
    ],
)
def test_malformed_notifications_raise_protocol_errors(note, message):
    with pytest.raises(ProtocolError, match=message):
        MovesenseAdapter().decode(note)


def test_a_bad_notification_leaves_the_stream_state_alone():
    a = MovesenseAdapter(rate_hz=52)
    [p] = a.decode(data(1000, np.zeros((4, 3))))
    with pytest.raises(ProtocolError):
        a.decode(data(1077, [[0, 0, 40 * G]] * 4))
    [q] = a.decode(data(1076, np.zeros((4, 3))))
    assert (q.tick - p.tick) / TICKS_PER_MS == pytest.approx(4 * 1000 / 52, abs=1)


def test_command_results_ok_is_silent_and_a_refusal_names_path_and_status():
    a = MovesenseAdapter(rate_hz=52)
    a.last_command = ("SUBSCRIBE", "/Meas/Acc/52")
    assert a.decode(bytes.fromhex("0163c800")) == [] and a.refusal is None
    with pytest.raises(ProtocolError, match=r"SUBSCRIBE /Meas/Acc/52 refused by the sensor: status 404 Not Found"):
        a.decode(bytes.fromhex("01639401"))
    assert "404" in a.refusal


# --------------------------------------------------------------------------- control flow
def test_adapter_subscribes_decodes_and_unsubscribes_a_simulated_device():
    def accel(t):
        return np.stack([0.5 * np.sin(2 * np.pi * 0.3 * t), 0.25 + 0 * t, 1.0 + 0.1 * np.cos(t)], axis=1)

    fw = MovesenseGspFirmware(FunctionSource(accel), clock_ms0=2**32 - 1_000)
    per = MovesensePeripheral(fw, "Movesense 220330000122", "C0:FF:EE:00:00:03")

    async def go():
        async with MemoryRadio([per], HostClock(speed=20.0)) as radio:
            link = await MemoryConnector(radio).find("Movesense 220330000122", timeout_s=2)
            notes: list[bytes] = []
            await link.connect(lambda: None)
            await link.start_notify(GSP_NOTIFY_UUID, notes.append)
            adapter = MovesenseAdapter(rate_hz=208)
            info = await adapter.start(link, fresh=True)
            await asyncio.sleep(0.3)
            await adapter.stop(link)
            await asyncio.sleep(0.05)
            await link.disconnect()
            return adapter, info, notes

    adapter, info, notes = asyncio.run(go())
    assert info.fs_hz == 208 and info.tick_hz == TICK_HZ and info.scale_g == 1 / 2048 and info.range_g == 16
    assert info.sensor == "Movesense (simulated)" and info.firmware == "sim-gsp-1" and not info.resumed
    assert not fw.streaming  # UNSUBSCRIBE ended the subscription
    assert notes[0] == bytes.fromhex("0163c800")  # SUBSCRIBE answered with 200
    assert {n[0] for n in notes[1:-1]} == {2, 3}  # 16 samples per notification need two parts
    packets = [p for n in notes for p in adapter.decode(n)]
    sub = fw.subscriptions[0]
    assert sum(p.n for p in packets) == sub.samples >= 100
    # sample k of the subscription: its value to half a count, its time to the whole-ms timestamps
    k = np.arange(sub.samples)
    t_true = fw.clock.time_at(sub.sample_ms(k)) - fw.source_origin_s
    g = np.concatenate([p.counts for p in packets]) / 2048
    np.testing.assert_allclose(g, accel(t_true), atol=0.5 / 2048 + 1e-6)
    ms = np.concatenate([p.sample_ticks for p in packets]) / TICKS_PER_MS
    dev_ms = np.mod(ms - fw.clock_ms0, 2.0**32)
    assert np.abs(dev_ms - sub.sample_ms(k)).max() < 2.0


def test_a_refused_subscription_is_a_clear_error():
    fw = MovesenseGspFirmware(FunctionSource(lambda t: np.zeros((t.size, 3))), rates_hz=(13, 26))
    per = MovesensePeripheral(fw, "Movesense 220330000122", "C0:FF:EE:00:00:03")

    async def go():
        async with MemoryRadio([per], HostClock(speed=20.0)) as radio:
            link = await MemoryConnector(radio).find("Movesense 220330000122", timeout_s=2)
            notes: list[bytes] = []
            await link.connect(lambda: None)
            await link.start_notify(GSP_NOTIFY_UUID, notes.append)
            adapter = MovesenseAdapter(rate_hz=52)
            await adapter.start(link, fresh=True)
            await asyncio.sleep(0.1)
            await link.disconnect()
            return adapter, notes

    adapter, notes = asyncio.run(go())
    assert notes == [bytes.fromhex("01639401")]
    with pytest.raises(ProtocolError, match=r"SUBSCRIBE /Meas/Acc/52 refused by the sensor: status 404 Not Found"):
        adapter.decode(notes[0])


@settings(max_examples=500, deadline=None)
@given(payload=st.binary(max_size=300), kind=st.sampled_from([1, 2, 3, 4, 0, 9]), ref=st.sampled_from([99, 98]))
@example(payload=bytes(14) + b"\x81\x7f", kind=2, ref=99)  # a signalling NaN must not reach a float cast
def test_any_bytes_decode_or_raise_a_protocol_error(payload, kind, ref):
    a = MovesenseAdapter(rate_hz=104)
    a.decode(data(0, np.zeros((5, 3))))  # a data notification that could be continued
    for note in (payload, bytes([kind, ref]) + payload):
        try:
            packets = a.decode(note)
        except ProtocolError:
            continue
        for p in packets:
            assert p.counts.dtype == np.int16 and p.counts.shape == (p.n, 3) and p.n >= 1
            assert p.sample_ticks.shape == (p.n,) and np.all(np.diff(p.sample_ticks) > 0)
