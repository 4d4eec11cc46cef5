"""Adapter for the Polar Measurement Data (PMD) accelerometer stream (Polar H10, Verity Sense).

The format follows Polar's published SDK (Polar Electro Oy, *polar-ble-sdk*, MIT licence,
github.com/polarofficial/polar-ble-sdk: the PMD client ``BlePMDClient``, ``PmdDataFrame``,
``AccData``, ``PmdSetting``, ``PmdControlPointResponse``, ``PmdTimeStampUtils`` and
``documentation/TimeSystemExplained.md``). The facts used here:

PMD service ``FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8`` with a control point ``...5C81`` (read:
feature bits; write + indicate: requests and responses) and a data characteristic ``...5C82``
(notify). Requests are ``op, measurement type, settings...`` with op 1 = get settings,
2 = start, 3 = stop; ACC is measurement type 2. A response is
``0xF0, op, type, status, more, parameters...`` (status 0 = success, 6 = already in state); when
``more`` is non-zero the parameters continue in the next indication after its first 5 bytes.
Settings are ``type u8, count u8, count values``; types 0 sample rate (u16), 1 resolution (u16),
2 range (u16), 3 range in milli-units (u32), 4 channels (u8), 5 factor (IEEE-754 float32),
6 security (16 bytes). Parameters may end in bytes that are no setting: Polar's protocol
documents (``technical_documentation/Polar_Measurement_Data_Specification.pdf``, 2019, and
``online_measurement.pdf``, 2024) show the H10 answering the ACC start with
``F0 02 02 00 00 01``, the ``01`` a reserved byte, and the ECG, PPG and PPI starts with a
reserved ``00``. As the SDK's parsers do (iOS ``PmdSetting.parsePmdSettingsData`` reads a record
only while more than two bytes are left; Android's returns no settings for one byte), a
remainder too short to hold a setting record (type, count and a value byte) is skipped.

A data frame is ``measurement type u8, timestamp u64, frame type u8, samples``. The timestamp
is the time of the *last* sample of the frame in nanoseconds since 2000-01-01T00:00:00 (device
clock). Frame type bit 0x80 marks a delta-compressed frame; the low 7 bits give the type.
ACC raw types 0, 1 and 2 carry x, y, z per sample as signed 8-, 16- and 24-bit little-endian
integers in mG (H10 streams raw type 1). Compressed frames (Verity Sense) hold a reference
sample (channels x ceil(resolution / 8) bytes, signed little-endian) followed by blocks of
``delta bit width u8, sample count u8, packed deltas``; the deltas are two's-complement,
``bit width`` bits each, channel-interleaved, packed least-significant bit first, and each is
added to the previous sample. Compressed type 1 values times the factor are mG; compressed type
0 values times the factor are g.

Sample times: when the previous frame's timestamp is known, the samples are spread evenly over
(previous, current]; for the first frame of a stream they are spaced at the nominal rate ending
at the frame timestamp. Here the even spread is only used when it agrees with the nominal rate
within 10 %: a larger step means frames were lost and the nominal spacing is used instead.

The adapter returns every frame as int16 counts in mG (``scale_g = 0.001``), with the frame's
per-sample times as ticks of 1 ns. PMD has no sequence numbers and no resend: gaps are found
from the timestamps by the collector.

What cannot come from a working sensor raises :class:`~lmdetect.errors.ProtocolError`: at the
start, a listed sample rate or range outside the plausible ones
(:data:`~lmdetect.adapters.base.MAX_RATE_HZ`, :data:`~lmdetect.adapters.base.MAX_RANGE_G`), or
a conversion factor that is not a positive finite number (a NaN factor would otherwise turn
every sample into 0); in a frame, a timestamp beyond 2**63 - 1 ns (the year 2292) or a sample
beyond twice the stream's full scale. Samples between the full scale and twice it are clipped
to the full scale and flagged CLIPPED.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import struct
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..errors import ProtocolError
from .base import (
    MAX_RANGE_G,
    MAX_RATE_HZ,
    DecodedPacket,
    ReplyChannel,
    SensorAdapter,
    StreamInfo,
    read_text,
    register_adapter,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..collector.link import Link

__all__ = [
    "PMD_SERVICE_UUID",
    "PMD_CONTROL_UUID",
    "PMD_DATA_UUID",
    "MEASUREMENT_ACC",
    "POLAR_EPOCH_UNIX_NS",
    "PmdFrame",
    "PmdSettings",
    "parse_frame",
    "decode_acc_samples",
    "decode_delta_frames",
    "parse_settings",
    "parse_response",
    "PmdResponse",
    "check_factor",
    "encode_settings",
    "PolarAdapter",
]

log = logging.getLogger(__name__)

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
MODEL_NUMBER_UUID = "00002a24-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION_UUID = "00002a26-0000-1000-8000-00805f9b34fb"

MEASUREMENT_ACC = 2
_OP_GET_SETTINGS = 1
_OP_START = 2
_OP_STOP = 3
_RESPONSE = 0xF0
_STATUS_OK = 0
_STATUS_ALREADY_IN_STATE = 6
_STATUS_NAMES = {
    0: "success",
    1: "invalid op code",
    2: "invalid measurement type",
    3: "not supported",
    4: "invalid length",
    5: "invalid parameter",
    6: "already in state",
    7: "invalid resolution",
    8: "invalid sample rate",
    9: "invalid range",
    10: "invalid MTU",
    11: "invalid number of channels",
    12: "invalid state",
    13: "device in charger",
    14: "disk full",
}
#: Device time epoch 2000-01-01T00:00:00Z expressed in Unix nanoseconds (TimeSystemExplained.md).
POLAR_EPOCH_UNIX_NS = 946_684_800_000_000_000

_HEADER = struct.Struct("<BQB")
_COMPRESSED = 0x80
_RAW_SAMPLE_BYTES = {0: 1, 1: 2, 2: 3}  # raw ACC frame type -> bytes per channel value
_CHANNELS = 3
_MAX_SAMPLES = 4096  # far above what one ATT notification (<= 512 bytes) can carry
_MAX_PARAMETERS = 4096  # a settings list is tens of bytes; a device that never ends one is broken

# setting type -> (name, field size in bytes)
_SETTING_FIELDS: dict[int, tuple[str, int]] = {
    0: ("sample_rate", 2),
    1: ("resolution", 2),
    2: ("range", 2),
    3: ("range_milliunit", 4),
    4: ("channels", 1),
    5: ("factor", 4),
    6: ("security", 16),
}
_SETTING_TYPES = {name: t for t, (name, _size) in _SETTING_FIELDS.items()}
#: Shortest setting record: type, count and at least one value byte.
_MIN_SETTING_RECORD = 3
#: Device clock of a frame: ns since 2000-01-01 as an unsigned 64-bit field; the collector counts
#: ticks as signed 64-bit integers, which reach the year 2292.
_MAX_TIMESTAMP_NS = 2**63 - 1
#: A decoded sample beyond this many times the full scale is not a measurement.
_BEYOND_RANGE = 2.0


@dataclasses.dataclass(frozen=True, slots=True)
class PmdFrame:
    """One PMD data frame split into its header fields and its sample bytes."""

    measurement_type: int
    timestamp_ns: int
    frame_type: int
    compressed: bool
    payload: bytes


def parse_frame(data: bytes | bytearray) -> PmdFrame:
    """Split a PMD data notification into header and payload; raise ProtocolError if too short."""
    b = bytes(data)
    if len(b) <= _HEADER.size:
        raise ProtocolError(f"PMD frame of {len(b)} bytes has no samples (header is {_HEADER.size} bytes)")
    mtype, ts, ftype = _HEADER.unpack_from(b)
    return PmdFrame(
        measurement_type=mtype & 0x3F,
        timestamp_ns=ts,
        frame_type=ftype & 0x7F,
        compressed=bool(ftype & _COMPRESSED),
        payload=b[_HEADER.size :],
    )


def _signed_le(raw: NDArray[np.uint8], width: int) -> NDArray[np.int64]:
    """Little-endian two's-complement integers of ``width`` bytes from rows of ``raw``."""
    vals = np.zeros(raw.shape[0], dtype=np.int64)
    for i in range(width):
        vals |= raw[:, i].astype(np.int64) << (8 * i)
    sign = np.int64(1) << (8 * width - 1)
    return np.where(vals & sign, vals - (sign << 1), vals)


def decode_delta_frames(payload: bytes, channels: int = _CHANNELS, resolution_bits: int = 16) -> NDArray[np.int64]:
    """Decode a delta-compressed PMD payload into samples, shape (n, channels).

    Layout (polar-ble-sdk ``parseDeltaFramesAll``): a reference sample, then blocks of delta
    bit width (u8), sample count (u8) and ``ceil(width * count * channels / 8)`` bytes of
    deltas packed least-significant bit first.
    """
    ref_bytes = math.ceil(resolution_bits / 8)
    head = channels * ref_bytes
    if len(payload) < head:
        raise ProtocolError(f"compressed frame of {len(payload)} bytes is shorter than its reference sample")
    buf = np.frombuffer(payload, dtype=np.uint8)
    ref = _signed_le(buf[:head].reshape(channels, ref_bytes), ref_bytes)
    blocks: list[NDArray[np.int64]] = [ref.reshape(1, channels)]
    n = 1
    offset = head
    while offset < len(payload):
        if offset + 2 > len(payload):
            raise ProtocolError(f"compressed frame truncated in a block header at byte {offset}")
        width, count = payload[offset], payload[offset + 1]
        offset += 2
        if not 1 <= width <= 32:
            raise ProtocolError(f"delta bit width {width} outside 1..32")
        nbits = width * count * channels
        nbytes = math.ceil(nbits / 8)
        if offset + nbytes > len(payload):
            raise ProtocolError(
                f"compressed frame truncated: block of {count} deltas x {width} bits needs {nbytes} bytes, "
                f"{len(payload) - offset} left"
            )
        n += count
        if n > _MAX_SAMPLES:
            raise ProtocolError(f"compressed frame claims more than {_MAX_SAMPLES} samples")
        if count:
            bits = np.unpackbits(buf[offset : offset + nbytes], bitorder="little")[:nbits]
            bits = bits.reshape(count * channels, width).astype(np.int64)
            vals = bits @ (np.int64(1) << np.arange(width, dtype=np.int64))
            top = np.int64(1) << (width - 1)
            vals = np.where(vals & top, vals - (top << 1), vals)
            blocks.append(vals.reshape(count, channels))
        offset += nbytes
    return np.cumsum(np.concatenate(blocks, axis=0), axis=0)


def decode_acc_samples(frame: PmdFrame, factor: float = 1.0) -> NDArray[np.float64]:
    """ACC samples of one frame in mG, shape (n, 3)."""
    if frame.measurement_type != MEASUREMENT_ACC:
        raise ProtocolError(f"PMD frame of measurement type {frame.measurement_type}, expected ACC ({MEASUREMENT_ACC})")
    if frame.compressed:
        if frame.frame_type == 0:
            return decode_delta_frames(frame.payload).astype(np.float64) * (factor * 1000.0)  # values x factor are g
        if frame.frame_type == 1:
            return decode_delta_frames(frame.payload).astype(np.float64) * factor  # values x factor are mG
        raise ProtocolError(f"unsupported compressed ACC frame type {frame.frame_type}")
    width = _RAW_SAMPLE_BYTES.get(frame.frame_type)
    if width is None:
        raise ProtocolError(f"unsupported ACC frame type {frame.frame_type}")
    step = width * _CHANNELS
    if len(frame.payload) % step:
        raise ProtocolError(f"ACC frame type {frame.frame_type}: {len(frame.payload)} bytes is not a whole number of {step}-byte samples")
    raw = np.frombuffer(frame.payload, dtype=np.uint8).reshape(-1, width)
    return _signed_le(raw, width).reshape(-1, _CHANNELS).astype(np.float64)


# --------------------------------------------------------------------------- settings
@dataclasses.dataclass(frozen=True)
class PmdSettings:
    """Available (from "get settings") or selected (for "start") PMD settings: name -> values."""

    values: Mapping[str, tuple[float, ...]]

    def get(self, name: str) -> tuple[float, ...]:
        return tuple(self.values.get(name, ()))


def parse_settings(params: bytes) -> PmdSettings:
    """Parse ``type, count, values...`` setting records (response parameters).

    A remainder shorter than a setting record (fewer than 3 bytes) is no setting and is skipped,
    as in the polar-ble-sdk parsers: it is the reserved byte the H10 appends to its start reply.
    A record whose values are cut short, or of an unknown type, raises ProtocolError.
    """
    out: dict[str, tuple[float, ...]] = {}
    b = bytes(params)
    off = 0
    while len(b) - off >= _MIN_SETTING_RECORD:
        stype, count = b[off], b[off + 1]
        field = _SETTING_FIELDS.get(stype)
        if field is None:
            raise ProtocolError(f"unknown PMD setting type {stype} at byte {off}")
        name, size = field
        off += 2
        if off + size * count > len(b):
            raise ProtocolError(
                f"PMD setting {name} truncated: {count} values of {size} bytes need {size * count}, "
                f"{len(b) - off} left"
            )
        vals: list[float] = []
        for i in range(count):
            chunk = b[off + i * size : off + (i + 1) * size]
            if name == "factor":
                vals.append(struct.unpack("<f", chunk)[0])
            else:
                vals.append(int.from_bytes(chunk, "little", signed=False))
        out[name] = tuple(vals)
        off += size * count
    if off < len(b):
        log.debug("PMD parameters end in %d byte(s) that are no setting: %s", len(b) - off, b[off:].hex())
    return PmdSettings(out)


@dataclasses.dataclass(frozen=True, slots=True)
class PmdResponse:
    """A control point response split into its fields."""

    op: int
    measurement_type: int
    status: int
    more: bool
    parameters: bytes


def parse_response(data: bytes | bytearray) -> PmdResponse:
    """Split a control point response ``F0, op, type, status[, more, parameters...]``.

    ``more`` and the parameters count only on success (polar-ble-sdk
    ``PmdControlPointResponse``); an error response may end after the status.
    """
    b = bytes(data)
    if len(b) < 4 or b[0] != _RESPONSE:
        raise ProtocolError(f"not a PMD control point response: {b.hex(' ')}")
    ok = b[3] == _STATUS_OK
    return PmdResponse(
        op=b[1],
        measurement_type=b[2],
        status=b[3],
        more=ok and len(b) > 4 and b[4] != 0,
        parameters=b[5:] if ok else b"",
    )


def check_factor(factor: float) -> float:
    """The conversion factor of a start reply, or ProtocolError if it cannot scale samples."""
    f = float(factor)
    if not math.isfinite(f) or f <= 0:
        raise ProtocolError(f"PMD conversion factor {f!r} is not a positive finite number")
    return f


def encode_settings(selected: Mapping[str, int]) -> bytes:
    """Serialise selected settings for a start request (one value per type; factor is never sent)."""
    out = bytearray()
    for name, value in selected.items():
        stype = _SETTING_TYPES[name]
        if name == "factor":
            continue
        size = _SETTING_FIELDS[stype][1]
        out += bytes([stype, 1]) + int(value).to_bytes(size, "little", signed=False)
    return bytes(out)


def _response_matcher(op: int) -> Callable[[bytes], bool]:
    return lambda r: len(r) >= 4 and r[0] == _RESPONSE and r[1] == op


# --------------------------------------------------------------------------- adapter
@register_adapter
class PolarAdapter(SensorAdapter):
    """Polar PMD accelerometer stream (H10: raw type 1 frames; Verity Sense: compressed frames)."""

    name = "polar"
    service_uuid = PMD_SERVICE_UUID
    data_uuid = PMD_DATA_UUID
    seq_bits = None
    tick_bits = 64
    supports_resend = False
    max_samples_per_packet = 512  # a 512-byte notification of 1-bit deltas holds fewer
    TICK_HZ = 1_000_000_000  # timestamps are nanoseconds

    def __init__(self, *, rate_hz: float = 50.0, range_g: float = 8.0, command_timeout_s: float = 5.0) -> None:
        super().__init__(rate_hz=rate_hz, range_g=range_g, command_timeout_s=command_timeout_s)
        self._control = ReplyChannel(PMD_CONTROL_UUID, timeout_s=command_timeout_s)
        self.fs_hz = self.rate_hz
        self.factor = 1.0
        self._full_scale_mg = 1000.0 * self.range_g
        self._prev_ts: int | None = None

    def on_connection(self) -> None:
        self._prev_ts = None

    async def _request(self, link: Link, payload: bytes) -> tuple[int, bytes]:
        """Send a control point request; return (status, parameters incl. continuation parts)."""
        op = payload[0]
        match = _response_matcher(op)
        first = parse_response(await self._control.request(link, payload, match))
        params, more = first.parameters, first.more
        while more:
            part = await self._control.receive(match)
            params += part[5:]
            more = len(part) > 4 and part[4] != 0
            if len(params) > _MAX_PARAMETERS:
                raise ProtocolError(f"PMD response to op {op} longer than {_MAX_PARAMETERS} bytes")
        return first.status, params

    async def start(self, link: Link, *, fresh: bool, required: StreamInfo | None = None) -> StreamInfo:
        for uuid in (PMD_CONTROL_UUID, PMD_DATA_UUID):
            if not link.has_characteristic(uuid):
                raise ProtocolError(f"{link.address} has no Polar PMD service (no characteristic {uuid})")
        await self._control.subscribe(link)
        feature = await link.read(PMD_CONTROL_UUID)
        if len(feature) < 2 or feature[0] != 0x0F or not feature[1] & 0x04:
            raise ProtocolError(f"{link.address} does not offer a PMD accelerometer stream (features {feature.hex()})")
        status, params = await self._request(link, bytes([_OP_GET_SETTINGS, MEASUREMENT_ACC]))
        if status != _STATUS_OK:
            raise ProtocolError(f"ACC settings query refused: {_STATUS_NAMES.get(status, status)}")
        available = parse_settings(params)
        selected = self._select(available, required)
        request = bytes([_OP_START, MEASUREMENT_ACC]) + encode_settings(selected)
        status, params = await self._request(link, request)
        if status == _STATUS_ALREADY_IN_STATE:
            log.info("ACC stream already running: restarting it with the wanted settings")
            await self._request(link, bytes([_OP_STOP, MEASUREMENT_ACC]))
            status, params = await self._request(link, request)
        if status != _STATUS_OK:
            raise ProtocolError(f"ACC start refused: {_STATUS_NAMES.get(status, status)}")
        factors = parse_settings(params).get("factor")
        self.factor = check_factor(factors[0]) if factors else 1.0
        self.fs_hz = float(selected["sample_rate"])
        self._full_scale_mg = 1000.0 * float(selected.get("range", self.range_g))
        self.on_connection()
        model = await read_text(link, MODEL_NUMBER_UUID)
        firmware = await read_text(link, FIRMWARE_REVISION_UUID)
        log.info("Polar ACC stream started: %s", selected)
        return StreamInfo(
            fs_hz=self.fs_hz,
            tick_hz=self.TICK_HZ,
            scale_g=0.001,
            range_g=float(selected.get("range", self.range_g)),
            sensor=_sensor_name(model),
            firmware=firmware,
            resumed=False,
            meta={"pmd_factor": repr(self.factor), "clock_epoch": "2000-01-01T00:00:00Z (device clock, ns)"},
        )

    def _select(self, available: PmdSettings, required: StreamInfo | None) -> dict[str, int]:
        rates = [int(r) for r in available.get("sample_rate")]
        if not rates:
            raise ProtocolError("the sensor lists no ACC sample rate")
        for r in rates:
            if not 1 <= r <= MAX_RATE_HZ:
                raise ProtocolError(f"the sensor lists an impossible ACC sample rate of {r} Hz (valid: 1-{MAX_RATE_HZ:g})")
        for g in available.get("range"):
            if not 1 <= g <= MAX_RANGE_G:
                raise ProtocolError(f"the sensor lists an impossible ACC range of {g:g} g (valid: 1-{MAX_RANGE_G:g})")
        if required is not None:
            rate = int(round(required.fs_hz))
            if rate not in rates:
                raise ProtocolError(f"the file being continued was recorded at {rate} Hz; the sensor offers {rates}")
        else:
            rate = min(rates, key=lambda r: (abs(r - self.rate_hz), -r))
            if rate != self.rate_hz:
                log.warning("using %d Hz (nearest of %s)", rate, rates)
        selected = {"sample_rate": rate}
        res = [int(r) for r in available.get("resolution")]
        if res:
            selected["resolution"] = 16 if 16 in res else max(res)
        ranges = [int(r) for r in available.get("range")]
        if ranges:
            want = required.range_g if required is not None else self.range_g
            selected["range"] = min(ranges, key=lambda r: (abs(r - want), -r))
        chans = [int(c) for c in available.get("channels")]
        if chans:
            selected["channels"] = 3 if 3 in chans else max(chans)
        return selected

    async def stop(self, link: Link) -> None:
        await self._request(link, bytes([_OP_STOP, MEASUREMENT_ACC]))

    def decode(self, data: bytes) -> list[DecodedPacket]:
        frame = parse_frame(data)
        ts = frame.timestamp_ns
        if ts > _MAX_TIMESTAMP_NS:
            raise ProtocolError(f"frame timestamp {ts} ns is beyond the device clock's range")
        mg = decode_acc_samples(frame, check_factor(self.factor))
        n = mg.shape[0]
        if n == 0:
            raise ProtocolError("ACC frame without samples")
        if not np.all(np.isfinite(mg)):
            raise ProtocolError("ACC frame decodes to values that are not finite")
        full_scale = min(self._full_scale_mg, 32767.0)
        peak = float(np.abs(mg).max())
        if peak > _BEYOND_RANGE * self._full_scale_mg:
            raise ProtocolError(
                f"ACC frame holds {peak / 1000:.3g} g, beyond the ±{self._full_scale_mg / 1000:g} g range of the stream"
            )
        period = self.TICK_HZ / self.fs_hz
        prev = self._prev_ts
        step = period
        if prev is not None and ts > prev:
            even = (ts - prev) / n
            if abs(even - period) <= 0.1 * period:
                step = even
        # A timestamp at or before the previous one is passed on unchanged: judging duplicates and
        # implausible times is the collector's job, and a stray frame must not poison later ones.
        if ts < step * (n - 1):
            raise ProtocolError(f"frame timestamp {ts} ns is too small for {n} samples")
        # integer arithmetic: ~8e17 ns do not fit a float64 to the nanosecond
        ticks = np.int64(ts) - np.rint(step * np.arange(n - 1, -1, -1, dtype=np.float64)).astype(np.int64)
        self._prev_ts = ts
        counts = np.rint(mg)
        flags = 0
        if peak > full_scale:  # a saturated axis, or a calibration offset at full scale
            counts = np.clip(counts, -full_scale, full_scale)
            flags |= 0x04  # CLIPPED
        return [DecodedPacket(seq=None, tick=int(ticks[0]), counts=counts.astype(np.int16), flags=flags, sample_ticks=ticks)]


def _sensor_name(model: str) -> str:
    """The sensor's name from its Model Number String ("Polar H10" stays "Polar H10")."""
    if not model:
        return "Polar PMD"
    return model if model.lower().startswith("polar") else f"Polar {model}"

