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
    parse_response,
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


# ---------------------------------------------------------------- the vendor's documented exchanges
# Polar's protocol documents in polar-ble-sdk/technical_documentation: SPEC_2019 is
# Polar_Measurement_Data_Specification.pdf as of November 2019, ONLINE_2024 is
# online_measurement.pdf (version 1.0, August 2024), section 5 (sequence diagrams).
H10_FEATURES = bytes.fromhex("0F 05" + "00" * 15)  # SPEC_2019 "Read Features": ECG and ACC
VERITY_FEATURES = bytes.fromhex("0F 6E" + "00" * 15)  # ONLINE_2024 figure 1
H10_ACC_SETTINGS = "F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00"  # both
H10_ACC_START = "02 02 00 01 C8 00 01 01 10 00 02 01 08 00"  # SPEC_2019: 200 Hz, 16 bit, 8 g
H10_ACC_START_REPLY = "F0 02 02 00 00 01"  # both documents: "00 = more_frames(false) 01 = reserved"
VERITY_ACC_SETTINGS = "F0 01 02 00 00 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03"  # ONLINE_2024 figure 2
VERITY_ACC_START = "02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03"  # ONLINE_2024 figure 3
VERITY_ACC_START_REPLY = "F0 02 02 00 00 05 01 40 DA 7F 39"  # factor 0x397FDA40 = 0.000244 g
ACC_STOP, ACC_STOP_REPLY = "03 02", "F0 03 02 00 00"  # both documents
# SPEC_2019 "Start Stream": replies to the ECG, PPG and PPI starts end in a reserved 00
OTHER_START_REPLIES = ["F0 02 00 00 00 00", "F0 02 01 00 00 00", "F0 02 03 00 00 00"]


class ScriptedLink:
    """A connected link whose control point answers requests with fixed, documented replies."""

    address = "A0:9E:1A:00:00:10"
    name = "Polar H10 0A1B2C3D"
    is_connected = True

    def __init__(self, features: bytes, replies: dict[str, str]):
        self.features = features
        self.replies = replies
        self.writes: list[str] = []
        self._indicate = None

    def has_characteristic(self, uuid: str) -> bool:
        return uuid.startswith("fb005c8")

    async def start_notify(self, uuid, callback):
        if uuid.endswith("5c81-02e7-f387-1cad-8acd2d8df0c8"):
            self._indicate = callback

    async def read(self, uuid):
        return self.features

    async def write(self, uuid, data, *, response=True):
        request = bytes(data).hex(" ").upper()
        self.writes.append(request)
        asyncio.get_running_loop().call_soon(self._indicate, bytes.fromhex(self.replies[request]))


def start_scripted(link: ScriptedLink, **kw) -> tuple[PolarAdapter, object]:
    adapter = PolarAdapter(command_timeout_s=1.0, **kw)
    info = asyncio.run(adapter.start(link, fresh=True))
    return adapter, info


def test_h10_start_answered_with_the_documented_reserved_byte_starts_the_stream():
    # failed before: "PMD settings truncated at byte 0" on the trailing reserved byte
    link = ScriptedLink(H10_FEATURES, {"01 02": H10_ACC_SETTINGS, H10_ACC_START: H10_ACC_START_REPLY})
    adapter, info = start_scripted(link, rate_hz=200)
    assert link.writes == ["01 02", H10_ACC_START]  # byte for byte the documented request
    assert (info.fs_hz, info.range_g, adapter.factor) == (200.0, 8.0, 1.0)
    link.replies[ACC_STOP] = ACC_STOP_REPLY
    asyncio.run(adapter.stop(link))
    assert link.writes[-1] == ACC_STOP


def test_verity_start_takes_the_documented_factor():
    link = ScriptedLink(VERITY_FEATURES, {"01 02": VERITY_ACC_SETTINGS, VERITY_ACC_START: VERITY_ACC_START_REPLY})
    adapter, info = start_scripted(link, rate_hz=52)
    assert link.writes == ["01 02", VERITY_ACC_START]
    assert info.fs_hz == 52.0 and adapter.factor == pytest.approx(0.000244)


@pytest.mark.parametrize("reply", [H10_ACC_START_REPLY, *OTHER_START_REPLIES, ACC_STOP_REPLY])
def test_documented_replies_carry_no_settings(reply):
    r = parse_response(bytes.fromhex(reply))
    assert r.status == 0 and not r.more
    assert parse_settings(r.parameters).values == {}


def test_documented_settings_lists_parse():
    h10 = parse_settings(parse_response(bytes.fromhex(H10_ACC_SETTINGS)).parameters)
    assert h10.values == {"sample_rate": (25, 50, 100, 200), "resolution": (16,), "range": (2, 4, 8)}
    verity = parse_settings(parse_response(bytes.fromhex(VERITY_ACC_SETTINGS)).parameters)
    assert verity.values == {"sample_rate": (52,), "resolution": (16,), "range": (8,), "channels": (3,)}
    # SPEC_2019 and ONLINE_2024: H10 ECG (130 Hz, 14 bit) and OH1 PPG (130 Hz, 22 bit)
    ecg = parse_settings(parse_response(bytes.fromhex("F0 01 00 00 00 00 01 82 00 01 01 0E 00")).parameters)
    ppg = parse_settings(parse_response(bytes.fromhex("F0 01 01 00 00 00 01 82 00 01 01 16 00")).parameters)
    assert ecg.values == {"sample_rate": (130,), "resolution": (14,)}
    assert ppg.values == {"sample_rate": (130,), "resolution": (22,)}


def test_sdk_unit_test_settings_vectors():
    # polar-ble-sdk Android PmdSettingTest.testPmdSettingsWithRange: 52 Hz, 16 bit, 245-2000, 3 channels
    with_range = bytes.fromhex("00 01 34 00 01 01 10 00 02 04 F5 00 F4 01 E8 03 D0 07 04 01 03")
    assert parse_settings(with_range).values == {
        "sample_rate": (52,), "resolution": (16,), "range": (245, 500, 1000, 2000), "channels": (3,)
    }
    # testPmdSettingWithRangeMilliUnit: two u32 ranges (read here as unsigned), 14 bit
    milli = bytes.fromhex("03 02 FF FF FF FF FF 00 00 00 01 01 0E 00")
    assert parse_settings(milli).values == {"range_milliunit": (0xFFFFFFFF, 0xFF), "resolution": (14,)}


def test_sdk_unit_test_control_point_responses():
    # polar-ble-sdk Android BlePmdClientControlPointResponseTest
    ok = parse_response(bytes.fromhex("F0 01 02 00 00 FF FF FF"))
    assert (ok.op, ok.measurement_type, ok.status, ok.more, ok.parameters) == (1, 2, 0, False, b"\xff\xff\xff")
    refused = parse_response(bytes.fromhex("F0 01 06 07 00"))
    assert (refused.status, refused.more, refused.parameters) == (7, False, b"")
    with pytest.raises(ProtocolError, match="not a PMD control point response"):
        parse_response(bytes.fromhex("F0 01 02"))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("00 04 19 00 32 00", "sample_rate truncated"),  # a record cut inside its values
        ("07 01 00", "unknown PMD setting type 7"),
    ],
)
def test_broken_settings_are_protocol_errors(params, message):
    with pytest.raises(ProtocolError, match=message):
        parse_settings(bytes.fromhex(params))


@pytest.mark.parametrize(
    ("settings", "start_reply", "message"),
    [
        ("F0 01 02 00 00 00 02 00 00 32 00", None, "impossible ACC sample rate of 0 Hz"),
        ("F0 01 02 00 00 00 01 FF FF", None, "impossible ACC sample rate of 65535 Hz"),
        ("F0 01 02 00 00 00 01 32 00 02 01 00 00", None, "impossible ACC range of 0 g"),
        (None, "F0 02 02 00 00 05 01 00 00 C0 7F", "factor nan"),
        (None, "F0 02 02 00 00 05 01 00 00 80 7F", "factor inf"),
        (None, "F0 02 02 00 00 05 01 00 00 00 00", "factor 0.0"),
        (None, "F0 02 02 00 00 05 01 40 DA", "factor truncated"),
    ],
)
def test_impossible_settings_refuse_the_start(settings, start_reply, message):
    start = "02 02 00 01 32 00 01 01 10 00 02 01 08 00"
    link = ScriptedLink(H10_FEATURES, {"01 02": settings or H10_ACC_SETTINGS, start: start_reply or H10_ACC_START_REPLY})
    with pytest.raises(ProtocolError, match=message):
        start_scripted(link, rate_hz=50)


def test_documented_data_frames_decode():
    # SPEC_2019 / ONLINE_2024 "Start Stream", H10: the first two samples of the documented frame
    h10 = bytes.fromhex("02 EA 54 A2 42 8B 45 52 08 01 45 FF E4 FF B5 03 45 FF E4 FF B8 03")
    f = parse_frame(h10)
    assert (f.timestamp_ns, f.frame_type, f.compressed) == (599618164814402794, 1, False)
    # (the documents annotate x as -184 mG; the bytes 45 FF are 0xFF45 = -187)
    np.testing.assert_array_equal(decode_acc_samples(f), [[-187, -28, 949], [-187, -28, 952]])
    # ONLINE_2024 figure 3, Verity Sense: a type-0 delta frame (8-bit deltas, 29 samples), shown up
    # to its 17th delta byte; kept here with its first five samples, the count set to 5
    verity = bytes.fromhex("02 64 6C 76 C4 3C C6 7F 07 80 D0 FF 65 01 E4 0F 08 05 FC 07 FF 0C 13 F2 11 F1 1A F9 EE F8 EF 0C 03")
    f = parse_frame(verity)
    assert (f.timestamp_ns, f.frame_type, f.compressed) == (540368444604181604, 0, True)
    counts = decode_delta_frames(f.payload)
    np.testing.assert_array_equal(counts[:3], [[-48, 357, 4068], [-52, 364, 4067], [-40, 383, 4053]])
    factor = struct.unpack("<f", bytes.fromhex("40 DA 7F 39"))[0]
    np.testing.assert_allclose(decode_acc_samples(f, factor)[0], np.array([-48, 357, 4068]) * factor * 1000)


# polar-ble-sdk Android AccDataTest "process acc compressed data type 0": 57 samples of 10-bit deltas,
# factor 2.44e-4 (g per count), range 8 g
SDK_COMPRESSED_TYPE0 = bytes.fromhex(
    "71 07 F0 6A 9E 8D 0A 38 BE 5C BE BA 2F 96 B3 EE 4B E5 AD FB 42 B9 EB BE 4C FE BA 2F 92 BF EE 4B"
    " E4 B1 FB 12 B9 EC BD 3C 3E BB 2F 8F D3 DE 4B E3 B5 F7 D2 B8 ED BD 30 7E 7B 2F 8B E3 CE 8B E2 BA"
    " F7 A2 B8 EE BC 20 BE 7B 2F 88 F3 CE CB E1 BD EF 52 F8 EF BC 18 FE 3B 2F 84 03 BF CB E0 C2 EF 32"
    " B8 F0 BB 04 4E BC 2E 81 13 AF 0B E0 C6 EF F2 F7 F1 B9 FC 7D BC 2E 7D 27 9F 4B DF CA EB C2 F7 F2"
    " B8 EC CD 7C 2E 7B 37 8F 4B DE CE E3 92 F7 F3 B8 E0 0D FD 2D 77 4B 7F CB DD D2 DF 62 37 F5 B7 D4"
    " 4D BD 2D 74 5B 6F CB DC D7 D7 32 37 F6 B5 C8 8D 7D 2D 71 6B 4F 4B DC DC D3 F2 36 F7 B4 BC DD FD"
    " 2C 6F 7B 3F 4B DB E0 CF D2 36 F8 B2 B0 2D BE 2C 6C 8F 1F CB DA E3 C7 A2 76 F9"
)


def test_sdk_compressed_type_0_frame_decodes_within_the_range():
    a = PolarAdapter(rate_hz=52, range_g=8)
    a.fs_hz, a.factor = 52.0, 2.44e-4
    [p] = a.decode(frame(0x80, SDK_COMPRESSED_TYPE0, ts=2_000_000_000))
    assert p.n == 57 and p.flags == 0 and p.sample_ticks[-1] == 2_000_000_000
    first = np.array([[1905, 27376, -29282], [1905 + 190, 27376 - 105, -29282 - 85]])
    np.testing.assert_array_equal(p.counts[:2], np.rint(first * 2.44e-4 * 1000))
    assert np.abs(p.counts).max() <= 8000


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


def test_values_beyond_the_full_scale_are_clipped_and_flagged_beyond_twice_it_rejected():
    a = PolarAdapter(range_g=8)
    counts = np.array([[0, 0, 1000], [0, -8500, 9000]])
    [p] = a.decode(frame(0x81, pack_deltas_bitwise(counts, 16)))
    assert p.counts[1].tolist() == [0, -8000, 8000] and p.flags & 0x04
    [p] = a.decode(frame(0x01, np.array([[0, -8000, 8000]], "<i2").tobytes(), ts=3_000_000_000))
    assert p.flags == 0
    with pytest.raises(ProtocolError, match="40 g, beyond the ±8 g range"):
        a.decode(frame(0x81, pack_deltas_bitwise(np.array([[0, 0, 1000], [0, 0, 40000]]), 16)))


def test_impossible_timestamps_and_factors_are_protocol_errors():
    a = PolarAdapter()
    body = np.zeros((2, 3), "<i2").tobytes()
    with pytest.raises(ProtocolError, match="beyond the device clock"):
        a.decode(frame(0x01, body, ts=2**63))  # was an OverflowError
    a.decode(frame(0x01, body, ts=2**63 - 1))
    for bad in (float("nan"), float("inf"), 0.0, -1.0):
        a.factor = bad
        with pytest.raises(ProtocolError, match="conversion factor"):
            a.decode(frame(0x80, pack_deltas_bitwise(np.array([[0, 0, 4096], [1, 1, 4096]]), 16)))


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
