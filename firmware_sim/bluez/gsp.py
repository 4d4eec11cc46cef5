"""A Movesense-like accelerometer: the GATT SensorData Protocol (GSP), device side.

Written from Movesense document GD-77 "GATT SensorData Protocol specification" v1.0
(movesense.com/docs/esw/gatt_sensordata_protocol), the open ``gatt_sensordata_app`` sample of the
Movesense device library (movesense-device-lib, ``samples/gatt_sensordata_app``:
``GATTSensorDataClient.cpp``) and the Movesense API for the accelerometer (``meas/acc.yaml``).
Facts used:

* Service ``34802252-7185-4d5d-b431-630e7050e8f0``; the central writes commands to
  ``34800001-...``; results and data go back as notifications of ``34800002-...``.
* Commands ``[command, reference (not 0), data]``: HELLO = 0 (the sample answers
  ``[1, reference, "Hello"]``), SUBSCRIBE = 1 (data: the resource path, e.g. ``/Meas/Acc/52``),
  UNSUBSCRIBE = 2 (the subscription's reference).
* Notifications ``[type, reference, payload]``: 1 = command result (a 2-byte HTTP status code),
  2 = data, 3 and 4 = the second and third part of data longer than one notification, each
  continuing the bytes of the part before.
* ``/Meas/Acc/{SampleRate}`` data: ``timestamp u32`` (device milliseconds at the first sample)
  and ``x, y, z`` float32 in m/s² per sample; rates 13, 26, 52, 104, 208, 416, 833, 1666 Hz;
  ranges ±2, 4, 8, 16 g (``/Meas/Acc/Config``).
* A dropped connection ends every subscription (the sample unsubscribes all streams then).
* The sample's path buffer is sized for an ATT MTU of 161, so one notification carries at most
  158 bytes.

What the simulation chooses where GSP leaves it open:

* Results: 200 for a successful SUBSCRIBE or UNSUBSCRIBE (``ack_commands=False`` imitates the
  early sample, which answers only failures), 404 for an unknown path, an unsupported rate or an
  unknown reference, 409 for a reference already in use, 507 when every subscription slot is
  taken (the sample's own answer), 400 for an unknown command or reference 0. Status codes are
  written little-endian, like every other field.
* A notification carries ``round(rate / 13)`` samples, at most what two parts carry; the device
  clock is a u32 millisecond counter that starts at ``clock_ms0`` at power-on and runs
  ``drift_ppm`` fast; a timestamp is the counter, truncated to whole milliseconds, at the first
  sample; the accelerometer runs ``rate_error`` off its nominal rate on that clock and clips at
  its range.

The encoder here is independent code written from that description; the collector's decoder
(lmdetect.adapters.movesense) is written separately, so a shared misreading would show as a
failing end-to-end test, not cancel out.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import struct

import numpy as np
from numpy.typing import NDArray

from lmdetect.errors import ConfigError

from ..device import TickClock
from ..faults import FaultPlan
from ..sources import SampleSource

__all__ = [
    "GSP_SERVICE_UUID",
    "GSP_WRITE_UUID",
    "GSP_NOTIFY_UUID",
    "RATES_HZ",
    "RANGES_G",
    "G_MS2",
    "Subscription",
    "MovesenseGspFirmware",
]

log = logging.getLogger(__name__)

GSP_SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
GSP_WRITE_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"
GSP_NOTIFY_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"

RATES_HZ: tuple[int, ...] = (13, 26, 52, 104, 208, 416, 833, 1666)
RANGES_G: tuple[int, ...] = (2, 4, 8, 16)
#: Standard gravity in m/s² (the unit the Movesense API reports acceleration in).
G_MS2 = 9.80665

CMD_HELLO, CMD_SUBSCRIBE, CMD_UNSUBSCRIBE = 0, 1, 2
RESULT, DATA, DATA_PART2, DATA_PART3 = 1, 2, 3, 4
OK, BAD_REQUEST, NOT_FOUND, CONFLICT, INSUFFICIENT_STORAGE = 200, 400, 404, 409, 507
_PARTS = (DATA, DATA_PART2, DATA_PART3)
_ACC_PATH = re.compile(r"^/?Meas/Acc/(\d+)$")
_U32 = 1 << 32


@dataclasses.dataclass
class Subscription:
    """One accelerometer subscription: when it started and what it has produced.

    ``first_ms`` is the device clock (unwrapped ms since power-on) at sample 0; sample ``k`` was
    taken at ``first_ms + k * period_ms``.
    """

    reference: int
    rate_hz: int
    first_ms: float
    period_ms: float
    samples_per_packet: int
    samples: int = 0  # taken and sent (or lost on the air)
    active: bool = True

    def sample_ms(self, k: NDArray[np.int64]) -> NDArray[np.float64]:
        return self.first_ms + k.astype(np.float64) * self.period_ms  # type: ignore[no-any-return]


class MovesenseGspFirmware:
    """A Movesense-like device streaming ``/Meas/Acc`` over GSP, driven by simulated time.

    Parameters
    ----------
    source : SampleSource
        Acceleration in g as a function of true time since the first subscription.
    faults : FaultPlan
        Clock drift and notifications lost on the air (there is no resend).
    clock_ms0 : int
        The u32 millisecond counter at power-on (set it near 2**32 to cross the wrap).
    range_g : {2, 4, 8, 16}
        The accelerometer's range: samples are clipped to it.
    mtu : int
        ATT MTU; a notification carries at most ``mtu - 3`` bytes.
    samples_per_packet : int or None
        Samples per data notification (None: ``round(rate / 13)``, at most what two parts carry).
    rate_error : float
        Relative error of the accelerometer's sample rate on the device clock (0.01: 1 % fast).
    ack_commands : bool
        Answer successful SUBSCRIBE and UNSUBSCRIBE commands (failures are always answered).
    rates_hz : sequence of int
        Accelerometer rates the device offers (others are answered with 404).
    max_subscriptions : int
        Subscription slots (the sample keeps a small fixed table).
    """

    def __init__(
        self,
        source: SampleSource,
        *,
        faults: FaultPlan | None = None,
        clock_ms0: int = 0,
        range_g: int = 8,
        mtu: int = 161,
        samples_per_packet: int | None = None,
        rate_error: float = 0.0,
        ack_commands: bool = True,
        rates_hz: tuple[int, ...] = RATES_HZ,
        max_subscriptions: int = 4,
    ):
        if range_g not in RANGES_G:
            raise ConfigError(f"invalid range_g={range_g!r}; valid choices are {', '.join(map(str, RANGES_G))}")
        if not 23 <= mtu <= 517:
            raise ConfigError(f"mtu must be within 23..517 (Bluetooth Core Spec.), got {mtu}")
        if not (isinstance(clock_ms0, int) and 0 <= clock_ms0 < _U32):
            raise ConfigError(f"clock_ms0 must be a u32 millisecond count, got {clock_ms0!r}")
        if not (math.isfinite(rate_error) and abs(rate_error) < 0.2):
            raise ConfigError(f"rate_error must be within (-0.2, 0.2), got {rate_error!r}")
        bad = [r for r in rates_hz if r not in RATES_HZ]
        if bad or not rates_hz:
            raise ConfigError(f"rates_hz must be Movesense rates ({', '.join(map(str, RATES_HZ))}), got {rates_hz!r}")
        if max_subscriptions < 1:
            raise ConfigError(f"max_subscriptions must be >= 1, got {max_subscriptions}")
        self.source = source
        self.faults = faults or FaultPlan()
        self.clock_ms0 = int(clock_ms0)
        self.range_g = int(range_g)
        self.mtu = int(mtu)
        self.rate_error = float(rate_error)
        self.ack_commands = bool(ack_commands)
        self.rates_hz = tuple(int(r) for r in rates_hz)
        self.max_subscriptions = int(max_subscriptions)
        self._spp = samples_per_packet
        for rate in self.rates_hz:
            self.samples_per_packet(rate)  # a size that does not fit is a configuration error now
        # device milliseconds since power-on (unwrapped), drifting like the other simulated devices
        self.clock = TickClock(1000.0, ppm=self.faults.drift_ppm, tick0=0.0)
        self.now_s = 0.0
        self.connected = False
        self.notifying = False
        self.rate_hz = 52 if 52 in self.rates_hz else self.rates_hz[0]
        self.source_origin_s: float | None = None
        self.subscriptions: list[Subscription] = []
        self._active: dict[int, Subscription] = {}
        self._notifications = 0
        self.stats: dict[str, int] = {
            "notifications": 0, "sent": 0, "lost": 0, "undelivered": 0, "commands": 0, "samples": 0,
        }

    # ------------------------------------------------------------------ sizes
    @property
    def max_notification(self) -> int:
        return self.mtu - 3

    def samples_per_packet(self, rate_hz: int) -> int:
        """Samples per data notification at ``rate_hz``; ConfigError if they need more than 3 parts."""
        part = self.max_notification - 2  # payload bytes of one part
        if self._spp is not None:
            spp = int(self._spp)
            if spp < 1 or 4 + 12 * spp > 3 * part:
                raise ConfigError(
                    f"{spp} samples per notification need {4 + 12 * spp} bytes; "
                    f"three parts at MTU {self.mtu} carry {3 * part}"
                )
            return spp
        return max(1, min(round(rate_hz / 13), (2 * part - 4) // 12))

    # ------------------------------------------------------------------ link
    @property
    def streaming(self) -> bool:
        return bool(self._active)

    def on_connect(self) -> None:
        self.connected = True
        self.notifying = False

    def on_disconnect(self, now_s: float | None = None) -> None:
        """The link is gone; with ``now_s``, samples taken until then are counted as undelivered."""
        self.connected = False
        self.notifying = False
        if now_s is not None:
            self.advance(now_s)
        if self._active:
            log.info("GSP subscriptions end with the connection")
        for sub in self._active.values():
            sub.active = False
        self._active.clear()

    def set_notifying(self, on: bool) -> None:
        self.notifying = bool(on) and self.connected

    # ------------------------------------------------------------------ commands
    def handle_command(self, data: bytes) -> list[bytes]:
        """Execute a write to the command characteristic; return the notifications it causes."""
        self.stats["commands"] += 1
        b = bytes(data)
        if len(b) < 2:
            return []  # no reference to answer to
        cmd, ref = b[0], b[1]
        if ref == 0:
            return self._result(ref, BAD_REQUEST)
        if cmd == CMD_HELLO:
            return self._deliverable([bytes([RESULT, ref]) + b"Hello"])
        if cmd == CMD_SUBSCRIBE:
            return self._subscribe(ref, b[2:])
        if cmd == CMD_UNSUBSCRIBE:
            sub = self._active.pop(ref, None)
            if sub is None:
                return self._result(ref, NOT_FOUND)
            sub.active = False
            log.info("GSP unsubscribed reference %d", ref)
            return self._ack(ref)
        return self._result(ref, BAD_REQUEST)

    def _subscribe(self, ref: int, path_bytes: bytes) -> list[bytes]:
        if ref in self._active:
            return self._result(ref, CONFLICT)
        if len(self._active) >= self.max_subscriptions:
            return self._result(ref, INSUFFICIENT_STORAGE)
        m = _ACC_PATH.match(path_bytes.decode("ascii", "replace"))
        if m is None or int(m.group(1)) not in self.rates_hz:
            return self._result(ref, NOT_FOUND)
        rate = int(m.group(1))
        period_ms = 1000.0 / (rate * (1.0 + self.rate_error))
        # the first sample is the next one the accelerometer takes
        sub = Subscription(ref, rate, float(self.clock.tick_at(self.now_s)) + period_ms, period_ms, self.samples_per_packet(rate))
        self._active[ref] = sub
        self.subscriptions.append(sub)
        self.rate_hz = rate
        if self.source_origin_s is None:
            self.source_origin_s = float(self.clock.time_at(sub.first_ms))
        log.info("GSP subscribed /Meas/Acc/%d as reference %d", rate, ref)
        return self._ack(ref)

    def _ack(self, ref: int) -> list[bytes]:
        return self._result(ref, OK) if self.ack_commands else []

    def _result(self, ref: int, status: int) -> list[bytes]:
        return self._deliverable([bytes([RESULT, ref]) + struct.pack("<H", status)])

    def _deliverable(self, notes: list[bytes]) -> list[bytes]:
        return notes if (self.connected and self.notifying) else []

    # ------------------------------------------------------------------ streaming
    def true_time_s(self, timestamp_ms: int | float | NDArray[np.float64]) -> NDArray[np.float64]:
        """True time (s since power-on) of a device timestamp in ms (wire value, or unwrapped)."""
        rel = np.mod(np.asarray(timestamp_ms, dtype=np.float64) - self.clock_ms0, float(_U32))
        return self.clock.time_at(rel)

    def advance(self, to_time_s: float) -> list[bytes]:
        """Data notifications completed by ``to_time_s`` (only those the link delivers)."""
        out: list[bytes] = []
        if to_time_s < self.now_s:
            return out
        self.now_s = to_time_s
        ms_to = float(self.clock.tick_at(to_time_s))
        for sub in list(self._active.values()):
            n_due = math.floor((ms_to - sub.first_ms) / sub.period_ms + 1e-9) + 1
            spp = sub.samples_per_packet
            while n_due - sub.samples >= spp:
                k = np.arange(sub.samples, sub.samples + spp, dtype=np.int64)
                dev_ms = sub.sample_ms(k)
                assert self.source_origin_s is not None
                src_t = self.clock.time_at(dev_ms) - self.source_origin_s
                dur = self.source.duration_s
                if dur is not None and src_t[-1] >= dur:
                    log.info("source ended: subscription %d stops", sub.reference)
                    sub.active = False
                    del self._active[sub.reference]
                    break
                g = np.clip(self.source.samples_at(src_t), -self.range_g, self.range_g)
                timestamp = (self.clock_ms0 + math.floor(dev_ms[0])) % _U32
                payload = struct.pack("<I", timestamp) + (g * G_MS2).astype("<f4").tobytes()
                out.extend(self._send(self._parts(sub.reference, payload)))
                sub.samples += spp
                self.stats["samples"] += spp
        return out

    def _parts(self, ref: int, payload: bytes) -> list[bytes]:
        step = self.max_notification - 2
        chunks = [payload[i : i + step] for i in range(0, len(payload), step)]
        return [bytes([kind, ref]) + chunk for kind, chunk in zip(_PARTS, chunks, strict=False)]

    def _send(self, notes: list[bytes]) -> list[bytes]:
        out = []
        for note in notes:
            self.stats["notifications"] += 1
            if not (self.connected and self.notifying):
                self.stats["undelivered"] += 1
            elif self.faults.lost(self._notifications):
                self.stats["lost"] += 1
            else:
                self.stats["sent"] += 1
                out.append(note)
            self._notifications += 1
        return out
