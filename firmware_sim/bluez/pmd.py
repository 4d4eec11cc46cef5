"""A Polar-like accelerometer stream: the Polar Measurement Data (PMD) service, device side.

Written from the public polar-ble-sdk documentation and sources (Polar Electro, polar-ble-sdk,
github.com/polarofficial/polar-ble-sdk, MIT licence): ``documentation/TimeSystemExplained.md``
and the Android client's ``PmdControlPointCommand.kt``, ``PmdControlPointResponse.kt``,
``PmdSetting.kt``, ``PmdMeasurementType.kt``, ``PmdDataFrame.kt``, ``model/AccData.kt`` and
``BlePMDClient.kt`` (delta frames). Facts used:

* Service ``FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8``; control point ``FB005C81-...`` (read returns
  the feature bits, write takes commands, replies by indication); data ``FB005C82-...`` (notify).
* Feature read: ``0x0F`` then a bit mask of measurement types (byte 1 bit 2 = ACC, type 2).
* Commands: ``[op, measurement type, settings...]`` with op 1 = get settings, 2 = start,
  3 = stop. Settings are ``[setting type, count, value...]``: 0 = sample rate (u16),
  1 = resolution (u16), 2 = range (u16), 3 = range in milli-units (u32), 4 = channels (u8),
  5 = factor (IEEE 754 float32).
* Replies: ``[0xF0, op, measurement type, status, more, parameters...]``; status 0 = success,
  2 = invalid measurement type, 4 = invalid length, 5 = invalid parameter, 6 = already in state,
  7 = invalid resolution, 8 = invalid sample rate, 9 = invalid range, 11 = invalid number of
  channels. The replies follow the exchanges of Polar's protocol documents
  (``technical_documentation/Polar_Measurement_Data_Specification.pdf``, 2019, and
  ``online_measurement.pdf``, 2024): the H10 lists ``00 04 19 00 32 00 64 00 C8 00 01 01 10 00
  02 03 02 00 04 00 08 00`` (25-200 Hz, 16 bit, 2/4/8 g) and answers an ACC start with
  ``F0 02 02 00 00 01`` (a reserved byte after "more"); the Verity Sense answers its start with
  the conversion factor, ``F0 02 02 00 00 05 01 40 DA 7F 39`` (0.000244 g per count).
* Data frame: ``[measurement type u8, timestamp u64 (ns since 2000-01-01T00:00:00Z, of the last
  sample of the frame), frame type u8, payload]``; bit 7 of the frame type marks a
  delta-compressed frame. ACC frame type 1: samples of 3 x int16 in mg. Compressed ACC type 1:
  the same values delta-coded; compressed type 0: counts to be multiplied by the factor (g).
* Delta coding: a reference sample (each channel a little-endian signed integer of the
  resolution's bytes), then blocks ``[delta bit width u8, sample count u8, packed deltas]``; the
  deltas of a block are two's-complement fields of ``width`` bits, packed least significant bit
  first, channel after channel, sample after sample, the block padded to whole bytes. Each
  sample is the previous one plus its delta.

The encoder here is independent code written from that description; the collector's decoder
(lmdetect.adapters.polar) is written separately, so a shared misreading would show as a failing
end-to-end test, not cancel out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import struct

import numpy as np
from numpy.typing import NDArray

from lmdetect.errors import ConfigError

from ..device import TickClock
from ..faults import FaultPlan
from ..sources import SampleSource

__all__ = [
    "PMD_SERVICE_UUID",
    "PMD_CONTROL_UUID",
    "PMD_DATA_UUID",
    "PMD_EPOCH",
    "MEASUREMENT_ACC",
    "FRAME_FORMATS",
    "encode_acc_frame",
    "encode_delta_payload",
    "PolarPmdFirmware",
]

log = logging.getLogger(__name__)

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
#: Polar devices count time in nanoseconds since this instant (TimeSystemExplained.md).
PMD_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

MEASUREMENT_ACC = 2
RESPONSE_CODE = 0xF0
FEATURE_CODE = 0x0F
OP_GET_SETTINGS, OP_START, OP_STOP = 1, 2, 3
SETTING_SAMPLE_RATE, SETTING_RESOLUTION, SETTING_RANGE = 0, 1, 2
SETTING_RANGE_MILLI, SETTING_CHANNELS, SETTING_FACTOR = 3, 4, 5
_SETTING_SIZE = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4}
ST_OK, ST_INVALID_OP, ST_INVALID_TYPE, ST_NOT_SUPPORTED, ST_INVALID_LENGTH = 0, 1, 2, 3, 4
ST_INVALID_PARAMETER, ST_ALREADY, ST_INVALID_RESOLUTION, ST_INVALID_RATE, ST_INVALID_RANGE = 5, 6, 7, 8, 9

#: ACC frame formats: name -> frame type byte.
#: ``raw``: type 1, int16 mg (Polar H10); ``delta``: compressed type 1 (0x81), mg;
#: ``delta-counts``: compressed type 0 (0x80), counts times the factor from the START reply, in g.
FRAME_FORMATS: dict[str, int] = {"raw": 0x01, "delta": 0x81, "delta-counts": 0x80}

_HEADER = struct.Struct("<BQB")
_MAX_PAYLOAD = 244  # ATT MTU 247 minus the 3-byte notification header
#: Deltas per block of a compressed frame; more blocks per frame exercise a decoder's block loop.
_BLOCK_DELTAS = 16
#: Samples per compressed frame; with <= 16 deltas of <= 17 bits per block this always fits.
_MAX_DELTA_SAMPLES = 33


def _bit_width(values: NDArray[np.int64]) -> int:
    """Smallest two's-complement width (>= 1 bit) that holds every value."""
    lo, hi = int(values.min()), int(values.max())
    return max(1, max(hi.bit_length(), (-lo - 1).bit_length() if lo < 0 else 0) + 1)


def _pack_bits(fields: NDArray[np.int64], width: int) -> bytes:
    """Pack signed integers as ``width``-bit fields, least significant bit first."""
    acc = 0
    mask = (1 << width) - 1
    for i, v in enumerate(fields.tolist()):
        acc |= (int(v) & mask) << (i * width)
    n_bytes = (fields.size * width + 7) // 8
    return acc.to_bytes(n_bytes, "little")


def encode_delta_payload(samples: NDArray[np.int64], block_deltas: int = _BLOCK_DELTAS) -> bytes:
    """Delta-code ``samples`` (shape (n, 3), 16-bit values) as a PMD compressed-frame payload."""
    s = np.asarray(samples, dtype=np.int64)
    if s.ndim != 2 or s.shape[1] != 3 or s.shape[0] < 1:
        raise ConfigError(f"delta frames need samples of shape (n >= 1, 3), got {s.shape}")
    out = bytearray(struct.pack("<3h", *s[0].tolist()))
    deltas = np.diff(s, axis=0)
    for start in range(0, deltas.shape[0], block_deltas):
        block = deltas[start : start + block_deltas]
        width = _bit_width(block)
        out += bytes([width, block.shape[0]])
        out += _pack_bits(block.reshape(-1), width)
    return bytes(out)


def encode_acc_frame(timestamp_ns: int, frame_type: int, samples: NDArray[np.int64]) -> bytes:
    """One PMD ACC data frame; ``samples`` in the frame type's unit (mg or counts)."""
    s = np.asarray(samples, dtype=np.int64)
    head = _HEADER.pack(MEASUREMENT_ACC, timestamp_ns, frame_type)
    if frame_type & 0x80:
        body = encode_delta_payload(s)
    else:
        body = s.astype("<i2").tobytes()
    frame = head + body
    if len(frame) > _MAX_PAYLOAD:
        raise ConfigError(f"PMD frame of {len(frame)} bytes exceeds {_MAX_PAYLOAD}")
    return frame


@dataclasses.dataclass(frozen=True)
class _Model:
    """What a Polar device offers for ACC."""

    name: str
    rates_hz: tuple[int, ...]
    ranges_g: tuple[int, ...]
    frame_format: str
    #: g per count of compressed type-0 frames, as the START reply gives it (None: full scale / 2**15).
    factor_g: float | None = None
    #: Whether the settings list the number of channels (setting type 4).
    lists_channels: bool = False


#: H10: 25-200 Hz, +-2/4/8 g, 16 bit, frame type 1; Verity Sense: 52 Hz, 8 g, 3 channels,
#: compressed type-0 frames with a factor of 0.000244 g (PolarH10.md, PolarVeritySense.md in
#: polar-ble-sdk/documentation/products; the start exchanges of
#: technical_documentation/online_measurement.pdf, 2024, figure 3).
MODELS: dict[str, _Model] = {
    "h10": _Model("Polar H10", (25, 50, 100, 200), (2, 4, 8), "raw"),
    "verity": _Model("Polar Sense", (52,), (8,), "delta-counts", factor_g=2.44e-4, lists_channels=True),
}
#: The byte the H10 puts after a successful START reply in place of settings ("reserved" in the
#: start exchanges of Polar_Measurement_Data_Specification.pdf, 2019, and online_measurement.pdf).
START_REPLY_RESERVED = b"\x01"
ST_INVALID_CHANNELS = 11


class PolarPmdFirmware:
    """A Polar-like device streaming ACC over PMD, driven by simulated time (no D-Bus).

    Parameters
    ----------
    source : SampleSource
        Acceleration in g as a function of true time since the first START.
    model : {"h10", "verity"}
        Which device to imitate (rates, ranges, default frame format).
    frame_format : {"raw", "delta", "delta-counts"} or None
        ACC frame type to send (see :data:`FRAME_FORMATS`); None: the model's own.
    faults : FaultPlan
        Clock drift and packet loss (no ring buffer: what is lost is gone).
    device_time : datetime
        The device clock at power-on (Polar devices keep ns since 2000-01-01).
    max_frame_s : float
        A frame covers at most this much time.

    Notes
    -----
    Like the real sensors, a disconnection ends the measurement; the central starts it again.
    """

    def __init__(
        self,
        source: SampleSource,
        *,
        model: str = "h10",
        frame_format: str | None = None,
        faults: FaultPlan | None = None,
        device_time: dt.datetime | None = None,
        max_frame_s: float = 0.5,
    ):
        if model not in MODELS:
            raise ConfigError(f"invalid model={model!r}; valid choices are {', '.join(map(repr, MODELS))}")
        self.model = MODELS[model]
        fmt = frame_format or self.model.frame_format
        if fmt not in FRAME_FORMATS:
            choices = ", ".join(map(repr, FRAME_FORMATS))
            raise ConfigError(f"invalid frame_format={fmt!r}; valid choices are {choices}")
        self.frame_type = FRAME_FORMATS[fmt]
        self.source = source
        self.faults = faults or FaultPlan()
        start = device_time or dt.datetime(2026, 3, 14, 21, 30, tzinfo=dt.UTC)
        if start.tzinfo is None:
            raise ConfigError("device_time must be timezone-aware")
        delta = start - PMD_EPOCH
        self.device_ns0 = (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000
        # relative device nanoseconds since power-on, drifting like the open-profile firmware
        self.clock = TickClock(1e9, ppm=self.faults.drift_ppm, tick0=0.0)
        self.max_frame_s = max_frame_s
        self.now_s = 0.0
        self.connected = False
        self.notifying = False
        self.rate_hz = self.model.rates_hz[-1] if 50 not in self.model.rates_hz else 50
        self.range_g = self.model.ranges_g[-1]
        self.source_origin_s: float | None = None
        self._stream: tuple[float, int, int] | None = None  # (device ns at sample 0, rate, spf)
        self._k_done = 0
        self._frames = 0
        self.stats: dict[str, int] = {"frames": 0, "sent": 0, "lost": 0, "undelivered": 0, "commands": 0}

    # ------------------------------------------------------------------ state
    @property
    def streaming(self) -> bool:
        return self._stream is not None

    @property
    def factor(self) -> float:
        """g per count of a compressed type-0 frame, as float32 (the model's, else full scale / 2**15)."""
        f = self.model.factor_g if self.model.factor_g is not None else self.range_g / 32768.0
        return float(np.float32(f))

    def features(self) -> bytes:
        """Control point read: the measurement types on offer (ACC only)."""
        return bytes([FEATURE_CODE, 1 << MEASUREMENT_ACC, 0x00])

    def on_connect(self) -> None:
        self.connected = True
        self.notifying = False

    def on_disconnect(self) -> None:
        self.connected = False
        self.notifying = False
        if self._stream is not None:
            log.info("PMD measurement ends with the connection")
        self._stream = None

    def set_notifying(self, on: bool) -> None:
        self.notifying = bool(on) and self.connected

    # ------------------------------------------------------------------ control point
    def handle_control(self, data: bytes) -> bytes:
        """Execute a control-point write; return the reply to indicate."""
        self.stats["commands"] += 1
        b = bytes(data)
        if len(b) < 2:
            return bytes([RESPONSE_CODE, b[0] if b else 0, 0, ST_INVALID_LENGTH])
        op, mtype = b[0], b[1] & 0x3F
        if op not in (OP_GET_SETTINGS, OP_START, OP_STOP):
            return bytes([RESPONSE_CODE, op, mtype, ST_INVALID_OP])
        if mtype != MEASUREMENT_ACC:
            return bytes([RESPONSE_CODE, op, mtype, ST_INVALID_TYPE])
        if op == OP_GET_SETTINGS:
            return self._ok(op, self._settings_bytes())
        if op == OP_STOP:
            self._stream = None
            return self._ok(op)
        return self._start(b[2:])

    def _ok(self, op: int, params: bytes = b"") -> bytes:
        return bytes([RESPONSE_CODE, op, MEASUREMENT_ACC, ST_OK, 0]) + params

    def _error(self, op: int, status: int) -> bytes:
        return bytes([RESPONSE_CODE, op, MEASUREMENT_ACC, status])

    def _settings_bytes(self) -> bytes:
        out = bytearray([SETTING_SAMPLE_RATE, len(self.model.rates_hz)])
        for r in self.model.rates_hz:
            out += struct.pack("<H", r)
        out += bytes([SETTING_RESOLUTION, 1]) + struct.pack("<H", 16)
        out += bytes([SETTING_RANGE, len(self.model.ranges_g)])
        for g in self.model.ranges_g:
            out += struct.pack("<H", g)
        if self.model.lists_channels:
            out += bytes([SETTING_CHANNELS, 1, 3])
        return bytes(out)

    def _start(self, settings: bytes) -> bytes:
        if self._stream is not None:
            return self._error(OP_START, ST_ALREADY)
        values: dict[int, int] = {}
        i = 0
        while i < len(settings):
            if i + 2 > len(settings):
                return self._error(OP_START, ST_INVALID_LENGTH)
            stype, count = settings[i], settings[i + 1]
            size = _SETTING_SIZE.get(stype)
            i += 2
            if size is None or count != 1 or i + size > len(settings):
                return self._error(OP_START, ST_INVALID_PARAMETER if size is None else ST_INVALID_LENGTH)
            values[stype] = int.from_bytes(settings[i : i + size], "little")
            i += size
        rate = values.get(SETTING_SAMPLE_RATE, self.rate_hz)
        rng = values.get(SETTING_RANGE, self.range_g)
        if rate not in self.model.rates_hz:
            return self._error(OP_START, ST_INVALID_RATE)
        if values.get(SETTING_RESOLUTION, 16) != 16:
            return self._error(OP_START, ST_INVALID_RESOLUTION)
        if rng not in self.model.ranges_g:
            return self._error(OP_START, ST_INVALID_RANGE)
        if values.get(SETTING_CHANNELS, 3) != 3:
            return self._error(OP_START, ST_INVALID_CHANNELS)
        self.rate_hz, self.range_g = rate, rng
        if self.frame_type & 0x80:
            spf = max(2, min(_MAX_DELTA_SAMPLES, math.floor(rate * self.max_frame_s)))
        else:
            spf = max(1, min((_MAX_PAYLOAD - _HEADER.size) // 6, math.floor(rate * self.max_frame_s)))
        self._stream = (float(self.clock.tick_at(self.now_s)), rate, spf)
        self._k_done = 0
        if self.source_origin_s is None:
            self.source_origin_s = self.now_s
        # As documented: raw frames (H10) are answered with the reserved byte, compressed frames
        # (Verity Sense) with their conversion factor; compressed type 1 is already in mG.
        params = START_REPLY_RESERVED
        if self.frame_type == FRAME_FORMATS["delta-counts"]:
            params = bytes([SETTING_FACTOR, 1]) + struct.pack("<f", self.factor)
        elif self.frame_type & 0x80:
            params = bytes([SETTING_FACTOR, 1]) + struct.pack("<f", 1.0)
        log.info("PMD ACC start: %d Hz, +-%d g, frame type 0x%02x", rate, rng, self.frame_type)
        return self._ok(OP_START, params)

    # ------------------------------------------------------------------ streaming
    def sample_device_ns(self, k: NDArray[np.int64]) -> NDArray[np.float64]:
        """Device-clock ns since power-on of samples ``k`` of the current measurement."""
        assert self._stream is not None
        ns0, rate, _ = self._stream
        return ns0 + k.astype(np.float64) * (1e9 / rate)  # type: ignore[no-any-return]

    def true_time_s(self, timestamp_ns: int | NDArray[np.int64]) -> NDArray[np.float64]:
        """True time (s since power-on) of a frame or sample timestamp (ns since 2000-01-01)."""
        rel = np.asarray(timestamp_ns, dtype=np.int64) - self.device_ns0
        return self.clock.time_at(rel.astype(np.float64))

    def advance(self, to_time_s: float) -> list[bytes]:
        """Frames completed by ``to_time_s`` (only those the link delivers)."""
        out: list[bytes] = []
        if to_time_s < self.now_s:
            return out
        self.now_s = to_time_s
        if self._stream is None:
            return out
        ns0, rate, spf = self._stream
        ns_to = float(self.clock.tick_at(to_time_s))
        n_due = math.floor((ns_to - ns0) * rate / 1e9 + 1e-9) + 1
        while (n_due - self._k_done) >= spf:
            k = np.arange(self._k_done, self._k_done + spf, dtype=np.int64)
            dev_ns = self.sample_device_ns(k)
            assert self.source_origin_s is not None
            src_t = self.clock.time_at(dev_ns) - self.source_origin_s
            dur = self.source.duration_s
            if dur is not None and src_t[-1] >= dur:
                log.info("source ended: the PMD measurement stops")
                self._stream = None
                break
            g = self.source.samples_at(src_t)
            timestamp = self.device_ns0 + int(round(dev_ns[-1]))
            frame = encode_acc_frame(timestamp, self.frame_type, self._quantise(g))
            self._k_done += spf
            self.stats["frames"] += 1
            if not (self.connected and self.notifying):
                self.stats["undelivered"] += 1
            elif self.faults.lost(self._frames):
                self.stats["lost"] += 1
            else:
                self.stats["sent"] += 1
                out.append(frame)
            self._frames += 1
        return out

    def _quantise(self, accel_g: NDArray[np.float64]) -> NDArray[np.int64]:
        if self.frame_type == FRAME_FORMATS["delta-counts"]:
            v = np.rint(accel_g / self.factor)
            return np.clip(v, -32768, 32767).astype(np.int64)
        lim = self.range_g * 1000
        return np.clip(np.rint(accel_g * 1000.0), -lim, lim).astype(np.int64)
