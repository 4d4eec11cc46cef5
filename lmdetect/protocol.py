"""The open ankle-sensor BLE profile (version 1): UUIDs and packet encode/decode.

Pure functions, no I/O; shared by the collector and by ``firmware_sim`` (the reference firmware).
The full specification, for firmware authors, is docs/profile.md. All integers are little-endian.

Data characteristic (notify), one packet per notification::

    offset size type   field
    0      1    u8     packet type: 0x01 = samples
    1      1    u8     flags: bit0 RESENT (answer to a resend request), bit1 FIFO_OVERFLOW
                       (samples were lost inside the sensor before this packet), bit2 CLIPPED
                       (a sample hit full scale)
    2      4    u32    seq: packet sequence number, +1 per packet since START (wraps at 2**32)
    6      4    u32    tick: sensor clock at the first sample, in ticks of ``tick_hz``
                       (32768 Hz on the reference firmware; wraps at 2**32)
    10     1    u8     n: number of samples in the packet (1..38 at an ATT MTU of 247)
    11     1    u8     range code: full scale +-2/4/8/16 g as 0/1/2/3
    12     6*n  i16[3] x, y, z per sample, in counts; g = counts * range_g / 32768

Sample i of a packet was taken at ``tick + i * tick_hz / rate_hz`` ticks (sensor clock).

Control characteristic (write with response; replies by indication)::

    request: opcode u8, then arguments
    reply:   0x80 | opcode, status u8 (0 = OK, 1 = bad request, 2 = unsupported, 3 = busy,
             4 = not available: no requested packet is left in the ring buffer), payload
"""

from __future__ import annotations

import dataclasses
import enum
import struct

import numpy as np
from numpy.typing import NDArray

from .errors import ProtocolError

__all__ = [
    "PROFILE_VERSION",
    "SERVICE_UUID",
    "DATA_UUID",
    "CONTROL_UUID",
    "INFO_UUID",
    "DEVICE_INFO_SERVICE_UUID",
    "BATTERY_SERVICE_UUID",
    "BATTERY_LEVEL_UUID",
    "MODEL_NUMBER_UUID",
    "SERIAL_NUMBER_UUID",
    "FIRMWARE_REVISION_UUID",
    "MANUFACTURER_NAME_UUID",
    "TICK_HZ",
    "RANGES_G",
    "RATES_HZ",
    "MAX_SAMPLES_PER_PACKET",
    "HEADER_SIZE",
    "Flags",
    "Opcode",
    "Status",
    "DataPacket",
    "SensorInfo",
    "encode_data_packet",
    "decode_data_packet",
    "encode_command",
    "decode_command",
    "encode_reply",
    "decode_reply",
    "encode_info",
    "decode_info",
    "range_code",
    "counts_to_g",
]

PROFILE_VERSION = 1

_BASE = "-5e7a-4b1e-9f0a-6c6d64657463"  # "lmdetec" in the node field
SERVICE_UUID = "6c6d0001" + _BASE
DATA_UUID = "6c6d0002" + _BASE
CONTROL_UUID = "6c6d0003" + _BASE
INFO_UUID = "6c6d0004" + _BASE

# Bluetooth SIG assigned numbers (Assigned Numbers document, section 3.4 / 3.8).
DEVICE_INFO_SERVICE_UUID = "0000180a-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
MODEL_NUMBER_UUID = "00002a24-0000-1000-8000-00805f9b34fb"
SERIAL_NUMBER_UUID = "00002a25-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION_UUID = "00002a26-0000-1000-8000-00805f9b34fb"
MANUFACTURER_NAME_UUID = "00002a29-0000-1000-8000-00805f9b34fb"

TICK_HZ = 32768
RANGES_G: tuple[int, ...] = (2, 4, 8, 16)
RATES_HZ: tuple[int, ...] = (25, 50, 100, 200)
HEADER_SIZE = 12
MAX_SAMPLES_PER_PACKET = (247 - 3 - HEADER_SIZE) // 6  # ATT MTU 247 -> 244-byte payload -> 38

PACKET_TYPE_SAMPLES = 0x01
_HEADER = struct.Struct("<BBIIBB")
_SAMPLE_DTYPE = np.dtype("<i2")


class Flags(enum.IntFlag):
    NONE = 0
    RESENT = 0x01
    FIFO_OVERFLOW = 0x02
    CLIPPED = 0x04


class Opcode(enum.IntEnum):
    START = 0x01  # no arguments; reply payload empty. From the stopped state: resets seq to 0.
    STOP = 0x02  # no arguments
    SET_RATE = 0x03  # u16 rate_hz (one of RATES_HZ); only while stopped
    SET_RANGE = 0x04  # u8 range_g (one of RANGES_G); only while stopped
    TIME_SYNC = 0x05  # no arguments; reply payload: u32 tick now, u32 seq of the next packet
    RESEND = 0x06  # u32 first_seq, u32 last_seq (inclusive); reply: u32 first, u32 last available
    GET_STATUS = 0x07  # reply payload: SensorInfo (see encode_info)


class Status(enum.IntEnum):
    OK = 0
    BAD_REQUEST = 1
    UNSUPPORTED = 2
    BUSY = 3
    NOT_AVAILABLE = 4  # RESEND: none of the requested packets is still in the ring buffer


def range_code(range_g: int) -> int:
    if range_g not in RANGES_G:
        raise ProtocolError(f"range {range_g} g is not one of {RANGES_G}")
    return RANGES_G.index(range_g)


def counts_to_g(counts: NDArray[np.int16], range_g: float) -> NDArray[np.float32]:
    return (counts.astype(np.float32) * np.float32(range_g / 32768.0)).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class DataPacket:
    """A decoded data packet. ``samples`` are raw int16 counts, shape (n, 3)."""

    seq: int
    tick: int
    range_g: int
    samples: NDArray[np.int16]
    flags: Flags = Flags.NONE

    @property
    def n(self) -> int:
        return int(self.samples.shape[0])

    def samples_g(self) -> NDArray[np.float32]:
        return counts_to_g(self.samples, self.range_g)


def encode_data_packet(packet: DataPacket) -> bytes:
    s = np.asarray(packet.samples)
    if s.ndim != 2 or s.shape[1] != 3 or not 1 <= s.shape[0] <= MAX_SAMPLES_PER_PACKET:
        raise ProtocolError(f"a packet carries 1..{MAX_SAMPLES_PER_PACKET} samples of 3 axes, got {s.shape}")
    head = _HEADER.pack(
        PACKET_TYPE_SAMPLES,
        int(packet.flags) & 0xFF,
        packet.seq & 0xFFFFFFFF,
        packet.tick & 0xFFFFFFFF,
        s.shape[0],
        range_code(packet.range_g),
    )
    return head + s.astype(_SAMPLE_DTYPE, copy=False).tobytes()


def decode_data_packet(data: bytes | bytearray | memoryview) -> DataPacket:
    """Decode one notification; raises :class:`ProtocolError` on anything malformed."""
    b = bytes(data)
    if len(b) < HEADER_SIZE:
        raise ProtocolError(f"packet of {len(b)} bytes is shorter than the {HEADER_SIZE}-byte header")
    ptype, flags, seq, tick, n, rcode = _HEADER.unpack_from(b)
    if ptype != PACKET_TYPE_SAMPLES:
        raise ProtocolError(f"unknown packet type 0x{ptype:02x}")
    if not 1 <= n <= MAX_SAMPLES_PER_PACKET:
        raise ProtocolError(f"sample count {n} outside 1..{MAX_SAMPLES_PER_PACKET}")
    if rcode >= len(RANGES_G):
        raise ProtocolError(f"unknown range code {rcode}")
    if len(b) != HEADER_SIZE + 6 * n:
        raise ProtocolError(f"packet length {len(b)} does not match {n} samples ({HEADER_SIZE + 6 * n} bytes)")
    if flags & ~0x07:
        raise ProtocolError(f"reserved flag bits set (0x{flags:02x})")
    samples = np.frombuffer(b, dtype=_SAMPLE_DTYPE, offset=HEADER_SIZE).reshape(n, 3).astype(np.int16)
    return DataPacket(seq=seq, tick=tick, range_g=RANGES_G[rcode], samples=samples, flags=Flags(flags))


_COMMAND_ARGS: dict[Opcode, str] = {
    Opcode.START: "",
    Opcode.STOP: "",
    Opcode.SET_RATE: "<H",
    Opcode.SET_RANGE: "<B",
    Opcode.TIME_SYNC: "",
    Opcode.RESEND: "<II",
    Opcode.GET_STATUS: "",
}


def encode_command(opcode: Opcode, *args: int) -> bytes:
    fmt = _COMMAND_ARGS[Opcode(opcode)]
    body = struct.pack(fmt, *args) if fmt else b""
    return bytes([int(opcode)]) + body


def decode_command(data: bytes | bytearray) -> tuple[Opcode, tuple[int, ...]]:
    b = bytes(data)
    if not b:
        raise ProtocolError("empty command")
    try:
        op = Opcode(b[0])
    except ValueError:
        raise ProtocolError(f"unknown opcode 0x{b[0]:02x}") from None
    fmt = _COMMAND_ARGS[op]
    size = struct.calcsize(fmt) if fmt else 0
    if len(b) != 1 + size:
        raise ProtocolError(f"{op.name} takes {size} argument bytes, got {len(b) - 1}")
    return op, (struct.unpack(fmt, b[1:]) if fmt else ())


def encode_reply(opcode: Opcode, status: Status, payload: bytes = b"") -> bytes:
    return bytes([0x80 | int(opcode), int(status)]) + payload


def decode_reply(data: bytes | bytearray) -> tuple[Opcode, Status, bytes]:
    b = bytes(data)
    if len(b) < 2 or not b[0] & 0x80:
        raise ProtocolError(f"malformed control reply {b.hex()}")
    try:
        return Opcode(b[0] & 0x7F), Status(b[1]), b[2:]
    except ValueError:
        raise ProtocolError(f"malformed control reply {b.hex()}") from None


@dataclasses.dataclass(frozen=True)
class SensorInfo:
    """Contents of the info characteristic and of the GET_STATUS reply."""

    profile_version: int
    streaming: bool
    rate_hz: int
    range_g: int
    tick_hz: int
    ring_capacity_packets: int
    oldest_seq: int
    next_seq: int
    battery_pct: int


_INFO = struct.Struct("<BBHBIIIIB")


def encode_info(info: SensorInfo) -> bytes:
    return _INFO.pack(
        info.profile_version,
        1 if info.streaming else 0,
        info.rate_hz,
        info.range_g,
        info.tick_hz,
        info.ring_capacity_packets,
        info.oldest_seq & 0xFFFFFFFF,
        info.next_seq & 0xFFFFFFFF,
        info.battery_pct,
    )


def decode_info(data: bytes | bytearray) -> SensorInfo:
    b = bytes(data)
    if len(b) != _INFO.size:
        raise ProtocolError(f"info record of {len(b)} bytes, expected {_INFO.size}")
    v, streaming, rate, rng, tick_hz, cap, oldest, nxt, batt = _INFO.unpack(b)
    return SensorInfo(v, bool(streaming), rate, rng, tick_hz, cap, oldest, nxt, batt)
