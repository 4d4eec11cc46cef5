"""Fuzzing every adapter decoder: malformed notifications raise the package's error, nothing else.

Each adapter gets a stream of notifications built from valid frames (the simulated sensors'
encoders and the vendor's published examples) in which most are mutated: truncated, bit-flipped,
spliced with another frame, padded, or with a header field set to an extreme value. The seeds
are fixed, so every run sees the same inputs. For every notification the decoder must either
return packets that the collector can account for (int16 counts of 1..max samples within the
declared range, ticks within the wire width, sample times in order) or raise an
:class:`~lmdetect.errors.LmdetectError`; the decoded packets then go through the collector's
stream accounting (:class:`~lmdetect.collector.gaps.StreamTracker`), which must not fail either.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_sim.bluez.pmd import encode_acc_frame
from lmdetect import protocol
from lmdetect.adapters import MovesenseAdapter, OpenProfileAdapter, PolarAdapter, SensorAdapter
from lmdetect.adapters.base import DecodedPacket
from lmdetect.adapters.movesense import STANDARD_GRAVITY
from lmdetect.collector.gaps import StreamTracker
from lmdetect.errors import LmdetectError
from tests.adapters.test_polar import SDK_COMPRESSED_TYPE0

#: Notifications per adapter and seed (about 85 % mutated): a few thousand per adapter in all,
#: a few seconds. LMDETECT_FUZZ_PACKETS sets another budget for a long campaign.
BUDGET = int(os.environ.get("LMDETECT_FUZZ_PACKETS", "2000"))
SEEDS = (1, 2)

_EXTREME_U8 = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
_EXTREME_U16 = (0, 1, 0x7FFF, 0x8000, 0xFFFF)
_EXTREME_U32 = (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
_EXTREME_U64 = (0, 1, 2**63 - 1, 2**63, 2**64 - 1)
_EXTREME_F32 = (float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 3.4e38, -3.4e38, 1e-45, 1e30)


# --------------------------------------------------------------------------- seeds
def polar_seeds() -> tuple[list[bytes], list[tuple[int, str]]]:
    """Valid PMD frames and the header fields (offset, struct format) worth setting to extremes."""
    rng = np.random.default_rng(7)
    frames = []
    for ftype in (0x01, 0x81, 0x80):
        for k in range(4):
            walk = np.cumsum(rng.integers(-300, 301, size=(20, 3)), axis=0) + np.array([0, 0, 1000])
            walk = np.clip(walk, -7900, 7900) if ftype != 0x80 else np.clip(walk * 4, -32000, 32000)
            frames.append(encode_acc_frame(800_000_000 * 10**9 + k * 400_000_000, ftype, walk))
    # the vendor's examples (tests/adapters/test_polar.py cites them)
    frames.append(bytes.fromhex("02 EA 54 A2 42 8B 45 52 08 01 45 FF E4 FF B5 03 45 FF E4 FF B8 03"))
    frames.append(struct.pack("<BQB", 2, 2_000_000_000, 0x80) + SDK_COMPRESSED_TYPE0)
    fields = [(0, "<B"), (1, "<Q"), (9, "<B"), (10, "<h"), (16, "<B"), (17, "<B")]
    return frames, fields


def movesense_seeds() -> tuple[list[bytes], list[tuple[int, str]]]:
    """Valid GSP notifications (data, data in three parts, command results) for reference 99."""
    rng = np.random.default_rng(8)
    notes = []
    for k in range(6):
        g = rng.normal(0, 0.3, size=(8, 3)) + np.array([0, 0, 1.0])
        payload = struct.pack("<I", 1000 + 154 * k) + (g * STANDARD_GRAVITY).astype("<f4").tobytes()
        notes.append(bytes([2, 99]) + payload)
    big = struct.pack("<I", 5000) + (rng.normal(0, 1, size=(60, 3)) * STANDARD_GRAVITY).astype("<f4").tobytes()
    notes += [bytes([2, 99]) + big[:300], bytes([3, 99]) + big[300:600], bytes([4, 99]) + big[600:]]
    notes += [bytes([1, 99]) + struct.pack("<H", 200), bytes([1, 99]) + struct.pack("<H", 404)]
    fields = [(0, "<B"), (1, "<B"), (2, "<I"), (6, "<f"), (10, "<f"), (14, "<f")]
    return notes, fields


def open_seeds() -> tuple[list[bytes], list[tuple[int, str]]]:
    """Valid open-profile data packets."""
    rng = np.random.default_rng(9)
    packets = []
    for k in range(6):
        s = rng.integers(-32768, 32768, size=(int(rng.integers(1, protocol.MAX_SAMPLES_PER_PACKET + 1)), 3))
        packets.append(
            protocol.encode_data_packet(
                protocol.DataPacket(seq=k, tick=1000 * k, range_g=8, samples=s.astype(np.int16), flags=protocol.Flags(k % 2))
            )
        )
    fields = [(0, "<B"), (1, "<B"), (2, "<I"), (6, "<I"), (10, "<B"), (11, "<B")]
    return packets, fields


# --------------------------------------------------------------------------- mutations
def _set_field(b: bytearray, offset: int, fmt: str, rng: np.random.Generator) -> None:
    size = struct.calcsize(fmt)
    if offset + size > len(b):
        return
    if fmt == "<f":
        value: float | int = _EXTREME_F32[rng.integers(len(_EXTREME_F32))]
    else:
        pool = {1: _EXTREME_U8, 2: _EXTREME_U16, 4: _EXTREME_U32, 8: _EXTREME_U64}[size]
        value = pool[rng.integers(len(pool))]
        if fmt[1].islower() and value >= 1 << (8 * size - 1):
            value -= 1 << (8 * size)
    b[offset : offset + size] = struct.pack(fmt, value)


def mutate(seed: bytes, others: list[bytes], fields: list[tuple[int, str]], rng: np.random.Generator) -> bytes:
    """One to three random mutations of ``seed``."""
    b = bytearray(seed)
    for _ in range(int(rng.integers(1, 4))):
        op = rng.integers(7)
        if op == 0 and b:  # truncate
            del b[int(rng.integers(len(b))) :]
        elif op == 1 and b:  # flip 1-8 bits
            for _ in range(int(rng.integers(1, 9))):
                i = int(rng.integers(len(b) * 8))
                b[i // 8] ^= 1 << (i % 8)
        elif op == 2:  # splice: a prefix of this one, a suffix of another
            other = others[int(rng.integers(len(others)))]
            cut_a, cut_b = int(rng.integers(len(b) + 1)), int(rng.integers(len(other) + 1))
            b = b[:cut_a] + bytearray(other[cut_b:])
        elif op == 3:  # a header field at an extreme value
            off, fmt = fields[int(rng.integers(len(fields)))]
            _set_field(b, off, fmt, rng)
        elif op == 4 and b:  # a byte anywhere at an extreme value
            b[int(rng.integers(len(b)))] = _EXTREME_U8[rng.integers(len(_EXTREME_U8))]
        elif op == 5:  # extra bytes
            b += rng.integers(0, 256, size=int(rng.integers(1, 40))).astype(np.uint8).tobytes()
        elif op == 6 and len(b) >= 8:  # a float32 sample field at a non-number or extreme value
            off = 2 + 4 * int(rng.integers(max(1, (len(b) - 6) // 4)))
            _set_field(b, min(off, len(b) - 4), "<f", rng)
    return bytes(b)


def stream(seeds: list[bytes], fields: list[tuple[int, str]], seed: int) -> Iterator[bytes]:
    """BUDGET notifications: mostly mutated seeds, some valid ones in between."""
    rng = np.random.default_rng(seed)
    for _ in range(BUDGET):
        base = seeds[int(rng.integers(len(seeds)))]
        yield base if rng.random() < 0.15 else mutate(base, seeds, fields, rng)


# --------------------------------------------------------------------------- invariants
def check_packet(adapter: SensorAdapter, pkt: DecodedPacket, scale_g: float, range_g: float) -> None:
    assert isinstance(pkt.counts, np.ndarray) and pkt.counts.dtype == np.int16
    assert pkt.counts.ndim == 2 and pkt.counts.shape[1] == 3
    assert 1 <= pkt.n <= adapter.max_samples_per_packet
    g = pkt.counts.astype(np.float64) * scale_g
    assert np.all(np.isfinite(g)) and np.abs(g).max() <= range_g + scale_g, f"{np.abs(g).max()} g beyond ±{range_g} g"
    assert 0 <= pkt.flags <= 0x07
    # ticks are wire values or, for sensors whose decoder counts time on across wraps (Movesense),
    # values congruent to them: the collector unwraps either, as long as they are int64
    assert 0 <= pkt.tick < 2**63
    if adapter.tick_bits < 42:
        assert pkt.tick < 2**adapter.tick_bits
    if pkt.seq is not None:
        assert adapter.seq_bits is not None and 0 <= pkt.seq < 2**adapter.seq_bits
    if pkt.sample_ticks is not None:
        st_ = pkt.sample_ticks
        assert st_.dtype == np.int64 and st_.shape == (pkt.n,) and int(st_[0]) == pkt.tick
        assert np.all(np.diff(st_) >= 0)


Factory = Callable[[], tuple[SensorAdapter, float, float, tuple[list[bytes], list[tuple[int, str]]]]]


def _polar() -> tuple[SensorAdapter, float, float, tuple[list[bytes], list[tuple[int, str]]]]:
    a = PolarAdapter(rate_hz=52, range_g=8)
    a.fs_hz, a.factor = 52.0, 2.44e-4  # as after the Verity Sense's documented start reply
    return a, 0.001, 8.0, polar_seeds()


def _movesense() -> tuple[SensorAdapter, float, float, tuple[list[bytes], list[tuple[int, str]]]]:
    return MovesenseAdapter(rate_hz=52), 1 / 2048, 16.0, movesense_seeds()


def _open() -> tuple[SensorAdapter, float, float, tuple[list[bytes], list[tuple[int, str]]]]:
    return OpenProfileAdapter(rate_hz=50, range_g=8), 8 / 32768, 8.0, open_seeds()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("factory", [_polar, _movesense, _open], ids=["polar", "movesense", "open"])
def test_mutated_notifications_raise_only_package_errors(factory: Factory, seed: int):
    adapter, scale_g, range_g, (seeds, fields) = factory()
    tracker = StreamTracker(
        seq_bits=adapter.seq_bits,
        tick_bits=adapter.tick_bits,
        tick_hz={"polar": 1e9, "movesense": 1_024_000, "open": 32768}[adapter.name],
        fs_hz=adapter.rate_hz,
        max_samples_per_packet=adapter.max_samples_per_packet,
    )
    tracker.begin_epoch(resumed=False, next_seq=None, first_seq=None, tick_now=None, host_ns=0)
    decoded = rejected = 0
    for i, data in enumerate(stream(seeds, fields, seed)):
        if i % 500 == 0:
            adapter.on_connection()  # as after a reconnect: decoder state starts over
        try:
            packets = adapter.decode(data)
        except LmdetectError:
            rejected += 1
            continue
        for pkt in packets:
            check_packet(adapter, pkt, scale_g, range_g)
            tracker.offer(pkt, host_ns=10**9 + i * 10**7)
        decoded += 1
    # the budget exercises both paths: decoders accept the valid seeds and reject most mutants
    assert decoded > BUDGET * 0.1 and rejected > BUDGET * 0.3, (decoded, rejected)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    ts=st.integers(0, 2**64 - 1),
    ftype=st.integers(0, 255),
    factor=st.floats(width=32, allow_nan=True, allow_infinity=True),
    fs=st.sampled_from([25.0, 52.0, 200.0]),
    body=st.binary(min_size=0, max_size=120),
)
def test_polar_header_fields_at_any_value(ts, ftype, factor, fs, body):
    a = PolarAdapter(range_g=8)
    a.fs_hz, a.factor = fs, factor
    data = struct.pack("<BQB", 2, ts, ftype) + body
    try:
        packets = a.decode(data)
    except LmdetectError:
        return
    for pkt in packets:
        check_packet(a, pkt, 0.001, 8.0)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    ts=st.integers(0, 2**32 - 1),
    values=st.lists(st.floats(width=32, allow_nan=True, allow_infinity=True), min_size=3, max_size=60),
)
def test_movesense_any_timestamp_and_float_values(ts, values):
    a = MovesenseAdapter(rate_hz=52)
    n = len(values) - len(values) % 3
    data = bytes([2, 99]) + struct.pack("<I", ts) + np.asarray(values[:n], dtype="<f4").tobytes()
    try:
        packets = a.decode(data)
    except LmdetectError:
        return
    for pkt in packets:
        check_packet(a, pkt, 1 / 2048, 16.0)
