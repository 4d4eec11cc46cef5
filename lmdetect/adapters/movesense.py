"""Adapter for the Movesense accelerometer stream over the GATT SensorData Protocol (GSP).

The protocol is that of the open ``gatt_sensordata_app`` sample of the Movesense device library
(Movesense Ltd., movesense-device-lib, ``samples/gatt_sensordata_app``: ``GATTSensorDataClient.cpp``
and ``python_client/movesense_sensor_data.py``), specified in Movesense document GD-77 "GATT
SensorData Protocol specification" v1.0 (movesense.com/docs/esw/gatt_sensordata_protocol). The
accelerometer resource and its units are those of the Movesense API (``movesense-api/meas/acc.yaml``).
The facts used here:

* Service ``34802252-7185-4d5d-b431-630e7050e8f0``; commands are written to ``34800001-...``
  (write); command results and data come back as notifications of ``34800002-...``.
* A command is ``command u8, client reference u8 (not 0), command data``: HELLO = 0,
  SUBSCRIBE = 1 (data: the resource path in ASCII, e.g. ``/Meas/Acc/52``), UNSUBSCRIBE = 2 (no
  data; the reference given to SUBSCRIBE).
* A notification is ``type u8, reference u8, payload``: type 1 is a command result whose payload
  starts with a 2-byte HTTP status code, type 2 is subscription data, types 3 and 4 carry the
  second and third part of data too long for one notification; a part's payload continues the
  bytes of the part before it (the sample client joins ``part1 + part2[2:]``).
* Accelerometer data (``/Meas/Acc/{SampleRate}``): ``timestamp u32`` (milliseconds of the device
  clock, of the first sample), then ``x, y, z`` as little-endian float32 in m/s² per sample; the
  number of samples follows from the length. Rates 13, 26, 52, 104, 208, 416, 833 and 1666 Hz.
  The range is a separate setting (``/Meas/Acc/Config``) that this adapter leaves alone.
* Results travel on a notify characteristic, so their delivery is not guaranteed (GD-77), and
  the sample firmware answers a SUBSCRIBE only when it fails.

Consequences for the collector:

* Starting the stream writes SUBSCRIBE and returns: results arrive on the data characteristic,
  in order with the data, and are handled by :meth:`MovesenseAdapter.decode`. A success status
  is consumed silently; a refusal raises :class:`~lmdetect.errors.ProtocolError` naming the
  command, the path and the status (the session logs and counts it; no data follows, so its
  watchdog reconnects and the subscription is tried again).
* GSP has no sequence numbers and no resend: gaps are found from the timestamps by the
  collector. The device drops its subscriptions when the link drops, so every reconnect
  subscribes again; its clock keeps running, so the gap is measured exactly.
* Ticks are 1/1024 ms (``tick_hz`` = 1 024 000): a sample's tick is its time in milliseconds,
  counted on from the timestamps and so congruent to the device clock modulo 2**32 ms, times 1024.
  The 32-bit millisecond clock thus wraps (every 49.7 days) exactly where a 42-bit tick does, the
  collector's unwrapping (``tick_bits`` = 42) carries the time line across the wrap, and
  sub-millisecond sample spacings (833 and 1666 Hz) stay distinct.
* Sample times: timestamps are whole milliseconds, which at 833 and 1666 Hz is more than a
  sample period, so a sample is not simply placed at its notification's timestamp. Within an
  unbroken run of notifications, sample ``j`` (counted from the start of the connection) is at
  ``c + p j``: ``c`` is the mean of ``timestamp - p j`` over the run's last notifications (at most
  :data:`PERIOD_HISTORY`), which averages the rounding out, and ``p`` is their least-squares
  slope once they span 100 ms (the rounding is then at most 1 % of it) and within 10 % of the
  nominal period (so it follows an accelerometer whose own oscillator runs off its nominal
  rate); before that the last measured period is used, at first the nominal one. A notification
  also starts within half a sample of one period after the run's previous one ended, so rounding
  never opens a gap or reorders samples. A run ends where a notification does not follow its
  predecessor (lost data, a stray notification, a new connection); the next run starts at its
  first timestamp.
* The continuation parts are decoded as they arrive (not joined first): whole samples are
  returned at once, with the times they have in the joined packet, and a sample split across two
  parts is completed by the next part.
* A data notification with the timestamp of the one being continued, which covered at least a
  millisecond, is a repeat: it is given its original's times, so that the collector counts it as
  a duplicate, and it does not take over the original's continuation.
* Values are stored as int16 counts of 1/2048 g, so the int16 range is ±16 g, the largest range
  of the sensor (:data:`RANGE_G`): nothing the sensor can report is clipped, whatever its range
  setting. A value beyond ±16 g, or not finite, is not an acceleration and the notification is
  rejected.
"""

from __future__ import annotations

import collections
import dataclasses
import http
import logging
import struct
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigError, ProtocolError
from .base import DecodedPacket, SensorAdapter, StreamInfo, read_text, register_adapter

if TYPE_CHECKING:  # pragma: no cover
    from ..collector.link import Link

__all__ = [
    "GSP_SERVICE_UUID",
    "GSP_WRITE_UUID",
    "GSP_NOTIFY_UUID",
    "RATES_HZ",
    "RANGE_G",
    "STANDARD_GRAVITY",
    "TICK_HZ",
    "TICKS_PER_MS",
    "PERIOD_HISTORY",
    "Command",
    "NotificationType",
    "GspNotification",
    "encode_command",
    "parse_notification",
    "command_status",
    "MovesenseAdapter",
]

log = logging.getLogger(__name__)

GSP_SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
GSP_WRITE_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"
GSP_NOTIFY_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"
MODEL_NUMBER_UUID = "00002a24-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION_UUID = "00002a26-0000-1000-8000-00805f9b34fb"

#: Accelerometer rates of ``/Meas/Acc/{SampleRate}`` (Movesense API, meas/acc.yaml).
RATES_HZ: tuple[int, ...] = (13, 26, 52, 104, 208, 416, 833, 1666)
#: The largest accelerometer range the sensor can be set to (±2, 4, 8 or 16 g): the stored scale.
RANGE_G = 16.0
#: m/s² per g (standard gravity, CGPM 1901; the Movesense API reports acceleration in m/s²).
STANDARD_GRAVITY = 9.80665
#: Ticks per millisecond of the device clock (a power of two, so the ms wrap is a tick wrap).
TICKS_PER_MS = 1024
TICK_HZ = 1000 * TICKS_PER_MS
#: Notifications over which sample times are fitted.
PERIOD_HISTORY = 64
#: A measured period is used once the fitted notifications span this long (ms).
_MIN_FIT_SPAN_MS = 100.0

_U32 = 1 << 32
_SAMPLE_BYTES = 12  # x, y, z float32
_TIMESTAMP = struct.Struct("<I")
#: An attribute value is at most 512 bytes (Bluetooth Core Spec. Vol 3 Part F 3.2.9).
_MAX_NOTIFICATION = 512
#: Beyond this no Movesense range setting reaches (a little above 16 g for float rounding).
_MAX_ABS_G = RANGE_G * 1.01
_COUNTS_PER_G = 32768.0 / RANGE_G
_CLIPPED = 0x04


class Command:
    """GSP command codes (GATTSensorDataClient.cpp)."""

    HELLO = 0
    SUBSCRIBE = 1
    UNSUBSCRIBE = 2


class NotificationType:
    """GSP notification types (GATTSensorDataClient.cpp)."""

    COMMAND_RESULT = 1
    DATA = 2
    DATA_PART2 = 3
    DATA_PART3 = 4


_PART_NAMES = {NotificationType.DATA_PART2: "part 2", NotificationType.DATA_PART3: "part 3"}


@dataclasses.dataclass(frozen=True, slots=True)
class GspNotification:
    """One GSP notification split into its header and payload."""

    type: int
    reference: int
    payload: bytes


def encode_command(command: int, reference: int, path: str = "") -> bytes:
    """A GSP command: ``command, reference, path`` (the path in ASCII, none for UNSUBSCRIBE)."""
    if not 0 <= command <= 255:
        raise ConfigError(f"GSP command {command} does not fit one byte")
    if not 1 <= reference <= 255:
        raise ConfigError(f"GSP reference must be 1..255 (0 is reserved), got {reference}")
    try:
        data = path.encode("ascii")
    except UnicodeEncodeError:
        raise ConfigError(f"GSP resource path {path!r} is not ASCII") from None
    return bytes([command, reference]) + data


def parse_notification(data: bytes | bytearray) -> GspNotification:
    """Split a notification of the GSP characteristic; raise ProtocolError if it cannot be one."""
    b = bytes(data)
    if len(b) < 2:
        raise ProtocolError(f"GSP notification of {len(b)} bytes has no header (type and reference)")
    if len(b) > _MAX_NOTIFICATION:
        raise ProtocolError(f"GSP notification of {len(b)} bytes exceeds the {_MAX_NOTIFICATION}-byte attribute limit")
    return GspNotification(type=b[0], reference=b[1], payload=b[2:])


def command_status(payload: bytes) -> int:
    """The HTTP status code at the start of a command result.

    Read little-endian (the byte order of every other GSP field). The early sample firmware wrote
    its one hard-coded status (507, no free subscription slot) high byte first, so a value that is
    no HTTP status (100..599) is read the other way round when that gives one.
    """
    if len(payload) < 2:
        raise ProtocolError(f"GSP command result of {len(payload) + 2} bytes has no status")
    status = int.from_bytes(payload[:2], "little")
    if not 100 <= status <= 599:
        swapped = int.from_bytes(payload[:2], "big")
        if 100 <= swapped <= 599:
            return swapped
    return status


def _status_text(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


@dataclasses.dataclass(slots=True)
class _Pending:
    """The data notification being continued by parts 2 and 3."""

    timestamp: int  # as on the wire
    first_ms: float  # time of its first sample, in milliseconds congruent to the device clock
    period_ms: float
    emitted: int  # samples of it already returned
    rest: bytes  # bytes of a sample split across parts
    next_part: int | None  # the notification type that may continue it


@register_adapter
class MovesenseAdapter(SensorAdapter):
    """Movesense accelerometer over GSP (``/Meas/Acc/{rate}``); no sequence numbers, no resend.

    Parameters
    ----------
    rate_hz : float
        Sampling rate; must be one of :data:`RATES_HZ` (the rate is part of the resource path).
    range_g : float
        Not used: the sensor's range is left at its own setting (values are stored on a ±16 g scale).
    command_timeout_s : float
        Kept for the common interface (GSP replies are not awaited).
    reference : int
        GSP client reference of the subscription (1..255).
    """

    name = "movesense"
    service_uuid = GSP_SERVICE_UUID
    data_uuid = GSP_NOTIFY_UUID
    seq_bits = None
    tick_bits = 32 + 10  # the u32 ms clock in ticks of 1/1024 ms
    supports_resend = False
    # a 512-byte part holds 42 samples, plus one completed from the bytes of the part before
    max_samples_per_packet = (_MAX_NOTIFICATION - 2) // _SAMPLE_BYTES + 1
    default_rate_hz = 52.0  # one of RATES_HZ

    @classmethod
    def cli_options(cls, rate_hz: float | None, range_g: float | None) -> dict[str, float]:
        """``{"rate_hz": ...}``: the rate must be one of :data:`RATES_HZ`; ``--range`` is refused."""
        rate = cls.default_rate_hz if rate_hz is None else float(rate_hz)
        # the rate is part of the GSP resource path: there is no "nearest" to fall back on
        if rate not in RATES_HZ:
            raise ConfigError(
                f"--rate {rate:g} is not a Movesense accelerometer rate; choose one of {', '.join(map(str, RATES_HZ))}"
            )
        if range_g is not None:
            raise ConfigError(
                "--range cannot be used with --sensor movesense: the collector leaves the sensor's range "
                "(/Meas/Acc/Config) at its own setting and stores values on a +-16 g scale"
            )
        return {"rate_hz": rate}

    def __init__(
        self,
        *,
        rate_hz: float = 52.0,
        range_g: float = RANGE_G,
        command_timeout_s: float = 5.0,
        reference: int = 99,
    ) -> None:
        super().__init__(rate_hz=rate_hz, range_g=range_g, command_timeout_s=command_timeout_s)
        if self.rate_hz not in RATES_HZ:
            raise ConfigError(
                f"{self.rate_hz:g} Hz is not a Movesense accelerometer rate; "
                f"choose one of {', '.join(map(str, RATES_HZ))}"
            )
        if not 1 <= reference <= 255:
            raise ConfigError(f"GSP reference must be 1..255, got {reference}")
        self.reference = int(reference)
        self.fs_hz = self.rate_hz
        self.path = f"/Meas/Acc/{int(self.rate_hz)}"
        #: The last command sent (name, path): what a command result answers.
        self.last_command: tuple[str, str] | None = None
        #: Text of the last refused command, None once a command succeeded.
        self.refusal: str | None = None
        self._period_ms = 1000.0 / self.fs_hz
        # (time in run milliseconds, sample number) of the run's last notifications
        self._history: collections.deque[tuple[float, int]] = collections.deque(maxlen=PERIOD_HISTORY)
        self._count = 0  # samples decoded on this connection
        self._last_ts = 0  # wire timestamp of the run's last notification
        self._last_time = 0.0  # run time of the last sample returned
        self._pending: _Pending | None = None

    # ------------------------------------------------------------------ SensorAdapter
    def on_connection(self) -> None:
        # a part cannot continue across connections, and the stream restarts with a new phase;
        # the measured period is a property of the sensor and is kept
        self._history.clear()
        self._count = 0
        self._pending = None

    async def start(self, link: Link, *, fresh: bool, required: StreamInfo | None = None) -> StreamInfo:
        for uuid in (GSP_WRITE_UUID, GSP_NOTIFY_UUID):
            if not link.has_characteristic(uuid):
                raise ProtocolError(f"{link.address} has no Movesense GSP service (no characteristic {uuid})")
        if required is not None:
            rate = int(round(required.fs_hz))
            if rate not in RATES_HZ:
                raise ProtocolError(
                    f"the file being continued was recorded at {required.fs_hz:g} Hz, not a Movesense rate"
                )
            if int(required.tick_hz) != TICK_HZ:
                raise ProtocolError(
                    f"the file being continued counts time at {required.tick_hz:g} Hz, a Movesense stream at {TICK_HZ} Hz"
                )
            if rate != self.fs_hz:
                log.warning("continuing the file at its own rate, %d Hz", rate)
            self.fs_hz = float(rate)
            self.path = f"/Meas/Acc/{rate}"
            self._period_ms = 1000.0 / self.fs_hz
        if self.refusal is not None:
            log.warning("the last command was refused (%s); subscribing again", self.refusal)
        self.on_connection()
        await self._send(link, Command.SUBSCRIBE, "SUBSCRIBE", self.path)
        model = await read_text(link, MODEL_NUMBER_UUID)
        firmware = await read_text(link, FIRMWARE_REVISION_UUID)
        log.info("Movesense %s subscribed (reference %d)", self.path, self.reference)
        sensor = model if model.lower().startswith("movesense") else f"Movesense {model}".strip()
        return StreamInfo(
            fs_hz=self.fs_hz,
            tick_hz=TICK_HZ,
            scale_g=1.0 / _COUNTS_PER_G,
            range_g=RANGE_G,
            sensor=sensor,
            firmware=firmware,
            resumed=False,
            meta={
                "gsp_resource": self.path,
                "gsp_reference": str(self.reference),
                "acc_range": "the sensor's own setting (not configured); stored on a +-16 g scale",
                "clock": "device ms counter (u32, wraps every 49.7 days), ticks of 1/1024 ms",
            },
        )

    async def stop(self, link: Link) -> None:
        await self._send(link, Command.UNSUBSCRIBE, "UNSUBSCRIBE", self.path)

    async def _send(self, link: Link, command: int, name: str, path: str) -> None:
        payload = encode_command(command, self.reference, path if command == Command.SUBSCRIBE else "")
        self.last_command = (name, path)
        await link.write(GSP_WRITE_UUID, payload, response=True)

    def decode(self, data: bytes) -> list[DecodedPacket]:
        msg = parse_notification(data)
        if msg.type == NotificationType.COMMAND_RESULT:
            self._result(msg)
            return []
        if msg.reference != self.reference:
            raise ProtocolError(
                f"GSP notification type {msg.type} for reference {msg.reference}; this stream is {self.reference}"
            )
        if msg.type == NotificationType.DATA:
            return self._data(msg.payload)
        if msg.type in _PART_NAMES:
            return self._part(msg.type, msg.payload)
        raise ProtocolError(f"unknown GSP notification type {msg.type}")

    # ------------------------------------------------------------------ decoding
    def _result(self, msg: GspNotification) -> None:
        if msg.reference != self.reference:
            raise ProtocolError(f"GSP command result for reference {msg.reference}, which this collector did not use")
        status = command_status(msg.payload)
        what = " ".join(self.last_command) if self.last_command else "a command"
        if 200 <= status <= 299:
            log.debug("%s: %s", what, _status_text(status))
            self.refusal = None
            return
        self.refusal = f"{what} refused by the sensor: status {_status_text(status)}"
        raise ProtocolError(self.refusal)

    def _data(self, payload: bytes) -> list[DecodedPacket]:
        if len(payload) < _TIMESTAMP.size + _SAMPLE_BYTES:
            raise ProtocolError(
                f"GSP data of {len(payload)} bytes holds no whole sample "
                f"(a {_TIMESTAMP.size}-byte timestamp, then {_SAMPLE_BYTES} bytes a sample)"
            )
        (ts,) = _TIMESTAMP.unpack_from(payload)
        body = payload[_TIMESTAMP.size :]
        whole = len(body) - len(body) % _SAMPLE_BYTES
        g = _to_g(body[:whole])  # checked before any state changes: a bad packet leaves none behind
        p = self._pending
        if p is not None and ts == p.timestamp and p.emitted * p.period_ms >= 1.0:
            # the same millisecond again, though the notification before covered at least one:
            # a repeat (whole or in part), given its original's times so that it is recognised
            # as a duplicate, and not allowed to take over the original's continuation
            return [_packet(g, p.first_ms, p.period_ms, 0)]
        if p is not None and p.rest:
            log.debug("GSP data ended %d bytes into a sample; the bytes are dropped", len(p.rest))
        first, period = self._place(ts)
        self._pending = _Pending(ts, first, period, 0, body[whole:], NotificationType.DATA_PART2)
        return [self._emit(g)]

    def _part(self, kind: int, payload: bytes) -> list[DecodedPacket]:
        p = self._pending
        if p is None or p.next_part != kind:
            raise ProtocolError(f"GSP data {_PART_NAMES[kind]} without the part before it")
        raw = p.rest + payload
        whole = len(raw) - len(raw) % _SAMPLE_BYTES
        try:
            g = _to_g(raw[:whole])
        except ProtocolError:
            p.next_part = None  # what follows cannot be put in place either
            raise
        p.rest = raw[whole:]
        p.next_part = NotificationType.DATA_PART3 if kind == NotificationType.DATA_PART2 else None
        if g.shape[0] == 0:
            return []
        return [self._emit(g)]

    def _emit(self, g: NDArray[np.float64]) -> DecodedPacket:
        """The next samples of the notification being decoded."""
        p = self._pending
        assert p is not None
        pkt = _packet(g, p.first_ms, p.period_ms, p.emitted)
        p.emitted += pkt.n
        self._count += pkt.n
        self._last_time = p.first_ms + (p.emitted - 1) * p.period_ms
        return pkt

    def _place(self, ts: int) -> tuple[float, float]:
        """Time (ms) of the first sample of the notification stamped ``ts``, and the sample period."""
        nominal = 1000.0 / self.fs_hz
        p = self._period_ms
        h = self._history
        u = float(ts)
        if h:
            u_prev, count_prev = h[-1]
            n_prev = self._count - count_prev
            u = u_prev + (ts - self._last_ts) % _U32
            # one missing notification moves the step by about a whole notification; 1 ms is the
            # timestamps' resolution
            if n_prev < 1 or abs(u - u_prev - n_prev * p) > max(0.5 * p + 1.0, 0.1 * n_prev * p):
                h.clear()
                u = float(ts)
        self._last_ts = ts
        h.append((u, self._count))
        if len(h) < 2:
            return u, p
        times = np.fromiter((x[0] for x in h), dtype=np.float64, count=len(h))
        counts = np.fromiter((x[1] for x in h), dtype=np.float64, count=len(h))
        if (counts[-1] - counts[0]) * nominal >= _MIN_FIT_SPAN_MS:
            dc = counts - counts.mean()
            slope = float(dc @ (times - times.mean()) / (dc @ dc))
            if abs(slope - nominal) <= 0.1 * nominal:
                self._period_ms = p = slope
        first = float(np.mean(times - p * counts)) + p * self._count
        return min(max(first, self._last_time + 0.5 * p), self._last_time + 1.5 * p), p


def _packet(g: NDArray[np.float64], first_ms: float, period_ms: float, index: int) -> DecodedPacket:
    """Samples ``g`` (in g) as int16 counts, the first being sample ``index`` of a notification."""
    times = first_ms + (index + np.arange(g.shape[0], dtype=np.float64)) * period_ms
    # run times are congruent to the device clock modulo 2**32 ms: the ticks modulo 2**42
    ticks = np.rint(times * TICKS_PER_MS).astype(np.int64)
    counts = np.rint(g * _COUNTS_PER_G)
    flags = 0
    if np.any((counts > 32767) | (counts < -32768)):
        counts = np.clip(counts, -32768, 32767)
        flags |= _CLIPPED
    return DecodedPacket(seq=None, tick=int(ticks[0]), counts=counts.astype(np.int16), flags=flags, sample_ticks=ticks)


def _to_g(raw: bytes) -> NDArray[np.float64]:
    """Samples (x, y, z float32 LE in m/s²) in g, shape (n, 3); raise ProtocolError if implausible."""
    f32 = np.frombuffer(raw, dtype="<f4").reshape(-1, 3)
    if not np.all(np.isfinite(f32)):  # before the cast, which a signalling NaN would trip
        raise ProtocolError("GSP data holds a value that is not a finite number")
    g = f32.astype(np.float64) / STANDARD_GRAVITY
    if g.size and float(np.abs(g).max()) > _MAX_ABS_G:
        peak = float(np.abs(g).max())
        raise ProtocolError(f"GSP data holds {peak:.3g} g, beyond the sensor's largest range (±{RANGE_G:g} g)")
    return g
