"""Polar PMD accelerometer frames, decoded from bytes laid out as the polar-ble-sdk publishes them."""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_sim.bluez import PolarPeripheral, PolarPmdFirmware
from firmware_sim.sources import FunctionSource
from lmdetect.adapters.polar import (
    MEASUREMENT_ACC,
    PMD_DATA_UUID,
    PolarAdapter,
    decode_acc_samples,
    decode_delta_frames,
    encode_settings,
    parse_frame,
    parse_settings,
)
from lmdetect.collector.hostclock import HostClock
from lmdetect.collector.link import MemoryConnector, MemoryRadio
from lmdetect.errors import ProtocolError


def frame(frame_type: int, payload: bytes, ts: int = 2_000_000_000, mtype: int = MEASUREMENT_ACC) -> bytes:
    return struct.pack("<BQB", mtype, ts, frame_type) + payload


# --------------------------------------------------------------------------- published examples
def test_h10_raw_frame_type_1_example():
    # polar-ble-sdk AccDataTest "process acc raw data frame type 1": timestamp 2e9 ns, int16 mG
    data = bytes.fromhex("02" "0094357700000000" "01") + bytes.fromhex("F7FFFFFFE703" "F8FFFEFFE503")
    f = parse_frame(data)
    assert (f.measurement_type, f.timestamp_ns, f.frame_type, f.compressed) == (2, 2_000_000_000, 1, False)
    np.testing.assert_array_equal(decode_acc_samples(f), [[-9, -1, 999], [-8, -2, 997]])


def test_verity_compressed_frame_type_1_example():
    # polar-ble-sdk AccDataTest "process acc compressed data type 1": reference sample, then one
    # block of 6-bit deltas (-5, -3, 0) packed least significant bit first
    data = frame(0x81, bytes.fromhex("F1FF" "1400" "F003" "06" "01" "7B0F08"), ts=0x65)
    np.testing.assert_array_equal(decode_acc_samples(parse_frame(data)), [[-15, 20, 1008], [-20, 17, 1008]])


def test_start_request_settings_match_the_documented_h10_example():
    # documented H10 start: 02 02 | 00 01 C8 00 | 01 01 10 00 | 02 01 08 00 (200 Hz, 16 bit, 8 g)
    body = encode_settings({"sample_rate": 200, "resolution": 16, "range": 8})
    assert bytes([2, 2]) + body == bytes.fromhex("0202" "0001C800" "01011000" "02010800")
    parsed = parse_settings(body + bytes([4, 1, 3]) + bytes([5, 1]) + struct.pack("<f", 2.44e-4))
    assert parsed.get("sample_rate") == (200,) and parsed.get("channels") == (3,)
    assert parsed.get("factor")[0] == pytest.approx(2.44e-4)
    assert parse_settings(bytes([0, 4]) + struct.pack("<4H", 25, 50, 100, 200)).get("sample_rate") == (25, 50, 100, 200)


# --------------------------------------------------------------------------- delta frames
def pack_deltas_bitwise(samples: np.ndarray, block: int) -> bytes:
    """A deliberately plain encoder: one bit at a time, for checking the vectorised decoder."""
    out = bytearray(struct.pack("<3h", *samples[0]))
    deltas = np.diff(samples.astype(np.int64), axis=0)
    for start in range(0, len(deltas), block):
        chunk = deltas[start : start + block]
        width = max(1, max(int(v).bit_length() + 1 for v in chunk.ravel()))
        bits: list[int] = []
        for v in chunk.ravel():
            u = int(v) & ((1 << width) - 1)
            bits.extend((u >> i) & 1 for i in range(width))
        bits += [0] * (-len(bits) % 8)
        packed = bytes(sum(bits[i + j] << j for j in range(8)) for i in range(0, len(bits), 8))
        out += bytes([width, len(chunk)]) + packed
    return bytes(out)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 60),
    block=st.integers(1, 40),
    scale=st.sampled_from([1, 7, 300, 16000]),
    seed=st.integers(0, 2**31),
)
def test_delta_frames_round_trip_any_block_layout(n, block, scale, seed):
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.integers(-scale, scale + 1, size=(n, 3)), axis=0)
    samples = np.clip(walk, -32768, 32767).astype(np.int64)
    decoded = decode_delta_frames(pack_deltas_bitwise(samples, block))
    np.testing.assert_array_equal(decoded, samples)


def test_compressed_type_0_values_times_the_factor_are_g():
    counts = np.array([[0, 0, 4096], [10, -10, 4100]])
    f = parse_frame(frame(0x80, pack_deltas_bitwise(counts, 16)))
    np.testing.assert_allclose(decode_acc_samples(f, factor=1 / 4096), counts * 1000 / 4096)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x02\x00\x00", "no samples"),
        (frame(0x01, b"\x01\x00\x02\x00"), "whole number"),
        (frame(0x05, b"\x00" * 6), "unsupported ACC frame type"),
        (frame(0x85, b"\x00" * 6), "unsupported compressed"),
        (frame(0x01, b"\x00" * 6, mtype=0), "measurement type 0"),
        (frame(0x81, b"\x00\x00\x00\x00"), "reference sample"),
        (frame(0x81, b"\x00" * 6 + b"\x06"), "block header"),
        (frame(0x81, b"\x00" * 6 + b"\x06\x05\x00"), "truncated"),
        (frame(0x81, b"\x00" * 6 + b"\x00\x01\x00"), "bit width 0"),
        (frame(0x81, b"\x00" * 6 + b"\x21\x01" + b"\x00" * 13), "bit width 33"),
    ],
)
def test_malformed_frames_raise_protocol_errors(data, message):
    with pytest.raises(ProtocolError, match=message):
        decode_acc_samples(parse_frame(data))


# --------------------------------------------------------------------------- timestamps
def test_samples_spread_between_frame_timestamps_and_nominal_after_a_loss():
    a = PolarAdapter(rate_hz=52)
    a.fs_hz = 52.0
    period = 1e9 / 52
    t0 = 800_000_000 * 10**9

    def raw(ts: int, n: int = 4) -> bytes:
        return frame(0x01, np.zeros((n, 3), "<i2").tobytes(), ts=ts)

    [p1] = a.decode(raw(t0))
    np.testing.assert_allclose(p1.sample_ticks - t0, -period * np.arange(3, -1, -1), atol=1)
    # the device's real rate is 1 % fast: the next frame's samples spread over (t0, t1]
    t1 = t0 + int(4 * period * 0.99)
    [p2] = a.decode(raw(t1))
    np.testing.assert_allclose(np.diff(p2.sample_ticks), (t1 - t0) / 4, atol=1)
    assert p2.sample_ticks[-1] == t1 and p2.tick == p2.sample_ticks[0]
    # two frames lost: the even spread would stretch samples 3x, so the nominal rate is used
    t4 = t1 + int(12 * period)
    [p3] = a.decode(raw(t4))
    np.testing.assert_allclose(np.diff(p3.sample_ticks), period, atol=1)
    # a stray frame with an old timestamp does not make later frames fail
    assert a.decode(raw(t0 - 10**9))[0].sample_ticks[-1] == t0 - 10**9
    assert a.decode(raw(t4 + int(4 * period)))[0].sample_ticks[-1] == t4 + int(4 * period)


def test_values_beyond_int16_are_clipped_and_flagged():
    a = PolarAdapter()
    a.factor = 1.0
    counts = np.array([[0, 0, 1000], [0, 0, 40000]])
    [p] = a.decode(frame(0x81, pack_deltas_bitwise(counts, 16)))
    assert p.counts[1, 2] == 32767 and p.flags & 0x04


# --------------------------------------------------------------------------- control flow
@pytest.mark.parametrize(
    ("model", "fmt", "rate", "fs"),
    [("h10", "raw", 50, 50.0), ("verity", "delta", 50, 52.0), ("verity", "delta-counts", 52, 52.0)],
)
def test_adapter_negotiates_and_decodes_a_simulated_device(model, fmt, rate, fs):
    def accel(t):
        return np.stack([0.5 * np.sin(2 * np.pi * 0.3 * t), 0.25 + 0 * t, 1.0 + 0 * t], axis=1)

    fw = PolarPmdFirmware(FunctionSource(accel), model=model, frame_format=fmt)
    per = PolarPeripheral(fw, "Polar H10 0A1B2C3D", "A0:9E:1A:00:00:01")

    async def go():
        clock = HostClock(speed=20.0)
        async with MemoryRadio([per], clock) as radio:
            link = await MemoryConnector(radio).find("Polar H10 0A1B2C3D", timeout_s=2)
            frames: list[bytes] = []
            await link.connect(lambda: None)
            await link.start_notify(PMD_DATA_UUID, frames.append)
            adapter = PolarAdapter(rate_hz=rate)
            info = await adapter.start(link, fresh=True)
            await asyncio.sleep(0.3)
            await adapter.stop(link)
            await link.disconnect()
            return adapter, info, frames

    adapter, info, frames = asyncio.run(go())
    assert info.fs_hz == fs and info.tick_hz == 10**9 and info.scale_g == 0.001
    assert info.sensor.startswith("Polar")
    assert len(frames) >= 5
    for data in frames:
        [p] = adapter.decode(data)
        t = fw.true_time_s(p.sample_ticks) - fw.source_origin_s
        want_mg = accel(t) * 1000
        # raw and delta frames carry whole mG; delta-counts 1/4096 g, rounded to mG here
        np.testing.assert_allclose(p.counts, want_mg, atol=1.01)


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=300), ftype=st.sampled_from([0x00, 0x01, 0x02, 0x80, 0x81, 0x03, 0xFF]))
def test_any_bytes_decode_or_raise_a_protocol_error(data, ftype):
    a = PolarAdapter()
    for payload in (data, frame(ftype, data)):
        try:
            packets = a.decode(payload)
        except ProtocolError:
            continue
        for p in packets:
            assert p.counts.dtype == np.int16 and p.counts.shape == (p.n, 3) and p.sample_ticks.shape == (p.n,)
