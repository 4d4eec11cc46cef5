"""The reference firmware of the open ankle-sensor profile, as a pure, clock-driven state machine.

:class:`SensorFirmware` is what an nRF52 or ESP32 implementation of docs/profile.md does, minus the
radio: a tick counter at :data:`lmdetect.protocol.TICK_HZ` (with a settable drift), an accelerometer
sampled at the configured rate and range, a FIFO that packs samples into data packets, sequence
numbers, a ring buffer of recent packets for backfill, the control commands and a battery. There is
no asyncio and no D-Bus here; the peripherals in :mod:`firmware_sim.bluez` and
:mod:`firmware_sim.bless_peripheral` drive it:

* ``advance(t)`` moves simulated true time forward and returns the notifications due by then;
* ``handle_command(data)`` executes a control write at the current time and returns the reply;
* ``on_connect()``, ``on_disconnect()``, ``set_notifying()`` tell it about the link.

Times are *true* (simulated host) seconds since the device was powered on. Because the clock model
is analytic, the true time of every sample ever sent can be recovered afterwards
(:meth:`SensorFirmware.true_time_s`, :meth:`SensorFirmware.packet_truth`), which is what the
collector tests compare their drift-corrected timestamps against.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import struct

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lmdetect._params import Params, check_option, check_range
from lmdetect.errors import ConfigError, ProtocolError
from lmdetect.protocol import (
    MAX_SAMPLES_PER_PACKET,
    PROFILE_VERSION,
    RANGES_G,
    RATES_HZ,
    TICK_HZ,
    DataPacket,
    Flags,
    Opcode,
    SensorInfo,
    Status,
    decode_command,
    encode_data_packet,
    encode_info,
    encode_reply,
)

from .faults import FaultPlan
from .sources import SampleSource

__all__ = ["FirmwareConfig", "TickClock", "PacketTruth", "SensorFirmware", "samples_per_packet"]

log = logging.getLogger(__name__)

_U32 = 0xFFFFFFFF
_FULL_SCALE_COUNTS = 32768
_TIME_SYNC = struct.Struct("<II")
_RANGE_REPLY = struct.Struct("<II")
#: Packets generated per vectorised batch in :meth:`SensorFirmware.advance` (bounds memory).
_BATCH_PACKETS = 2048


def samples_per_packet(rate_hz: float, max_packet_s: float) -> int:
    """Samples per data packet: as many as fit (38 at ATT MTU 247) but covering <= ``max_packet_s``.

    Short packets keep the latency of a sample, and the data lost with one packet, small at low
    rates.
    """
    return int(min(MAX_SAMPLES_PER_PACKET, max(1, math.floor(rate_hz * max_packet_s + 1e-9))))


@dataclasses.dataclass(frozen=True)
class FirmwareConfig(Params):
    """Settings of the reference firmware at power-on.

    Parameters
    ----------
    rate_hz, range_g : int
        Initial sampling rate (one of :data:`~lmdetect.protocol.RATES_HZ`) and full-scale range in g
        (one of :data:`~lmdetect.protocol.RANGES_G`); both can be changed by command while stopped.
    ring_s : float
        Seconds of packets the ring buffer keeps for resend requests (>= 120 s, the profile's
        minimum); the capacity in packets is fixed when streaming starts.
    max_packet_s : float
        A data packet covers at most this much time (see :func:`samples_per_packet`).
    tick0 : int
        Tick counter at power-on (set near 2**32 to exercise the wrap of the 32-bit tick field).
    battery_pct : float
        Charge at power-on, percent.
    battery_drain_pct_per_h, battery_idle_drain_pct_per_h : float
        Discharge while streaming and while idle, percent per hour. Assumed values for a small
        rechargeable cell (an 8-h night costs about a quarter of the charge); at 0 % the device
        switches off.
    end_of_source : {"stop", "hold"}
        At the end of a finite source, stop streaming ("stop", after a last partial packet) or keep
        sampling the last value ("hold").
    manufacturer, model, serial, firmware_revision : str
        Device Information Service strings.
    """

    rate_hz: int = 50
    range_g: int = 8
    ring_s: float = 180.0
    max_packet_s: float = 0.5
    tick0: int = 0
    battery_pct: float = 100.0
    battery_drain_pct_per_h: float = 3.0
    battery_idle_drain_pct_per_h: float = 0.25
    end_of_source: str = "stop"
    manufacturer: str = "lmdetect"
    model: str = "LMD-1 (firmware_sim)"
    serial: str = "SIM-0001"
    firmware_revision: str = f"{PROFILE_VERSION}.0-sim"

    def __post_init__(self) -> None:
        check_option("rate_hz", self.rate_hz, RATES_HZ)
        check_option("range_g", self.range_g, RANGES_G)
        check_range("ring_s", self.ring_s, 120.0, 86_400.0)
        check_range("max_packet_s", self.max_packet_s, 0.01, 10.0)
        if not (isinstance(self.tick0, int) and self.tick0 >= 0):
            raise ConfigError(f"tick0 must be a non-negative integer, got {self.tick0!r}")
        check_range("battery_pct", self.battery_pct, 0.0, 100.0)
        check_range("battery_drain_pct_per_h", self.battery_drain_pct_per_h, 0.0, 100.0)
        check_range("battery_idle_drain_pct_per_h", self.battery_idle_drain_pct_per_h, 0.0, 100.0)
        check_option("end_of_source", self.end_of_source, ("stop", "hold"))


class TickClock:
    """The sensor's tick counter as a piecewise-linear function of true time.

    ``tick(t) = tick_start + (t - t_start) * tick_hz * (1 + ppm * 1e-6)`` within each segment; a
    drift change starts a new segment, so the counter stays continuous. Ticks are unwrapped (the
    32-bit wrap is applied only on the wire).
    """

    def __init__(self, tick_hz: float = TICK_HZ, ppm: float = 0.0, tick0: float = 0.0):
        self.tick_hz = float(tick_hz)
        self._t = [0.0]
        self._tick = [float(tick0)]
        self._ppm = [float(ppm)]

    @property
    def ppm(self) -> float:
        return self._ppm[-1]

    def _rate(self, i: int) -> float:
        return self.tick_hz * (1.0 + self._ppm[i] * 1e-6)

    def set_ppm(self, at_s: float, ppm: float) -> None:
        """Change the drift from true time ``at_s`` on (not before the last change)."""
        if at_s < self._t[-1]:
            raise ConfigError(f"cannot change the clock drift in the past ({at_s} s < {self._t[-1]} s)")
        tick = float(self.tick_at(at_s))
        self._t.append(float(at_s))
        self._tick.append(tick)
        self._ppm.append(float(ppm))

    def tick_at(self, t_s: ArrayLike) -> NDArray[np.float64]:
        """Unwrapped (fractional) tick count at true time(s) ``t_s``."""
        t = np.asarray(t_s, dtype=np.float64)
        i = np.clip(np.searchsorted(self._t, t, side="right") - 1, 0, len(self._t) - 1)
        t0 = np.asarray(self._t)[i]
        k0 = np.asarray(self._tick)[i]
        rate = self.tick_hz * (1.0 + np.asarray(self._ppm)[i] * 1e-6)
        return k0 + (t - t0) * rate  # type: ignore[no-any-return]

    def time_at(self, tick: ArrayLike) -> NDArray[np.float64]:
        """True time(s) in seconds at which the counter reads ``tick`` (unwrapped)."""
        k = np.asarray(tick, dtype=np.float64)
        i = np.clip(np.searchsorted(self._tick, k, side="right") - 1, 0, len(self._tick) - 1)
        t0 = np.asarray(self._t)[i]
        k0 = np.asarray(self._tick)[i]
        rate = self.tick_hz * (1.0 + np.asarray(self._ppm)[i] * 1e-6)
        return t0 + (k - k0) / rate  # type: ignore[no-any-return]


@dataclasses.dataclass(frozen=True)
class PacketTruth:
    """What really happened for one data packet of the current streaming session.

    ``ticks`` are the exact (fractional, unwrapped) sample ticks, ``true_time_s`` the true times in
    seconds since power-on, ``source_time_s`` the same since the night began, and ``accel_g`` the
    acceleration the source applied (before quantisation).
    """

    seq: int
    ticks: NDArray[np.float64]
    true_time_s: NDArray[np.float64]
    source_time_s: NDArray[np.float64]
    accel_g: NDArray[np.float64]


@dataclasses.dataclass
class _Session:
    """One START..STOP streaming session (sequence numbers restart at 0 with each)."""

    tick_start: float  # exact tick of sample 0
    rate_hz: int
    range_g: int
    spp: int  # samples per packet
    packets_done: int = 0
    n_samples_end: int | None = None  # samples in the session once the source has ended

    def sample_ticks(self, k: NDArray[np.int64]) -> NDArray[np.float64]:
        step = TICK_HZ / self.rate_hz
        return self.tick_start + k.astype(np.float64) * step  # type: ignore[no-any-return]


class SensorFirmware:
    """Reference firmware of the open profile (docs/profile.md), driven by simulated time.

    Parameters
    ----------
    source : SampleSource
        What the accelerometer measures (in g) as a function of true time since the night began
        (the first START).
    config : FirmwareConfig
        Power-on settings.
    faults : FaultPlan
        Clock drift and the packet-loss pattern (link drops are carried out by the peripheral,
        which calls :meth:`on_disconnect`).

    Notes
    -----
    Behaviour a firmware author must match (the profile leaves no choice here):

    * START from the stopped state resets the sequence number to 0 and empties the ring buffer;
      START while streaming changes nothing (replies OK), so a reconnecting collector cannot lose
      its place.
    * Sampling and packetising go on while the central is disconnected or has notifications off;
      those packets go only to the ring buffer.
    * RESEND re-sends packets still in the ring, flagged RESENT, after the reply; it works while
      stopped too (the ring is kept until the next START).
    """

    def __init__(
        self,
        source: SampleSource,
        config: FirmwareConfig | None = None,
        faults: FaultPlan | None = None,
    ):
        self.source = source
        self.config = config or FirmwareConfig()
        self.faults = faults or FaultPlan()
        self.clock = TickClock(TICK_HZ, ppm=self.faults.drift_ppm, tick0=self.config.tick0)
        self.now_s = 0.0
        self.powered = True
        self.connected = False
        self.notifying = False
        self.rate_hz = self.config.rate_hz
        self.range_g = self.config.range_g
        self.source_origin_s: float | None = None
        self.source_ended = False
        self.last_reply = b""
        self._battery = float(self.config.battery_pct)
        self._session: _Session | None = None
        self._last_session: _Session | None = None  # kept after STOP, for the ground truth
        self._seq_next = 0
        self._ring: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=self._ring_capacity())
        self._outbox: collections.deque[bytes] = collections.deque()
        self.stats: dict[str, int] = collections.Counter()

    # ------------------------------------------------------------------ properties
    @property
    def streaming(self) -> bool:
        return self._session is not None

    @property
    def next_seq(self) -> int:
        """Sequence number (unwrapped) of the next packet to be generated."""
        return self._seq_next

    @property
    def samples_per_packet(self) -> int:
        s = self._session
        return s.spp if s is not None else samples_per_packet(self.rate_hz, self.config.max_packet_s)

    @property
    def ring_capacity_packets(self) -> int:
        return self._ring.maxlen or 0

    @property
    def oldest_seq(self) -> int:
        """Sequence number of the oldest packet in the ring (``next_seq`` when it is empty)."""
        return self._ring[0][0] if self._ring else self._seq_next

    @property
    def battery_pct(self) -> int:
        return int(min(100, max(0, math.ceil(self._battery))))

    def _ring_capacity(self) -> int:
        spp = samples_per_packet(self.rate_hz, self.config.max_packet_s)
        return int(math.ceil(self.config.ring_s * self.rate_hz / spp))

    def info(self) -> SensorInfo:
        """Contents of the info characteristic and of the GET_STATUS reply."""
        return SensorInfo(
            profile_version=PROFILE_VERSION,
            streaming=self.streaming,
            rate_hz=self.rate_hz,
            range_g=self.range_g,
            tick_hz=TICK_HZ,
            ring_capacity_packets=self.ring_capacity_packets,
            oldest_seq=self.oldest_seq,
            next_seq=self._seq_next,
            battery_pct=self.battery_pct,
        )

    def info_bytes(self) -> bytes:
        return encode_info(self.info())

    # ------------------------------------------------------------------ link events
    def on_connect(self) -> None:
        """A central connected (notifications start disabled, as on an unbonded link)."""
        self.connected = True
        self.notifying = False
        self.stats["connects"] += 1

    def on_disconnect(self) -> None:
        """The link is gone: pending resends are dropped; sampling goes on into the ring."""
        if self.connected:
            self.stats["disconnects"] += 1
        self.connected = False
        self.notifying = False
        self.stats["resend_dropped"] += len(self._outbox)
        self._outbox.clear()

    def set_notifying(self, on: bool) -> None:
        """The central enabled or disabled notifications on the data characteristic (CCCD)."""
        self.notifying = bool(on) and self.connected

    @property
    def deliverable(self) -> bool:
        return self.powered and self.connected and self.notifying

    # ------------------------------------------------------------------ time
    def advance(self, to_time_s: float) -> list[bytes]:
        """Move simulated true time to ``to_time_s``; return the notifications to send, in order.

        Live packets whose last sample was taken by ``to_time_s`` come first, then packets queued
        by a RESEND. Packets generated while nothing can be delivered go only to the ring buffer;
        a live packet the fault plan loses is counted and also kept in the ring.
        """
        out: list[bytes] = []
        if to_time_s < self.now_s or not self.powered:
            return out
        t_end = to_time_s
        death_s = self._battery_death_s(t_end)
        if death_s is not None:
            t_end = death_s
        if self._session is not None:
            self._generate(t_end, out)
        self._drain_battery(t_end)
        self.now_s = t_end
        if death_s is not None:
            self._power_off()
            return out
        if self._outbox and self.deliverable:
            self.stats["resent"] += len(self._outbox)
            out.extend(self._outbox)
        self._outbox.clear()
        self.now_s = to_time_s
        return out

    def _battery_drain_per_s(self) -> float:
        cfg = self.config
        per_h = cfg.battery_drain_pct_per_h if self.streaming else cfg.battery_idle_drain_pct_per_h
        return per_h / 3600.0

    def _battery_death_s(self, to_time_s: float) -> float | None:
        rate = self._battery_drain_per_s()
        if rate <= 0:
            return None
        t = self.now_s + self._battery / rate
        return t if t <= to_time_s else None

    def _drain_battery(self, to_time_s: float) -> None:
        self._battery = max(0.0, self._battery - self._battery_drain_per_s() * (to_time_s - self.now_s))

    def _power_off(self) -> None:
        log.info("battery empty at %.1f s: the device switches off", self.now_s)
        self._battery = 0.0
        self._session = None
        self.on_disconnect()
        self.powered = False

    def _generate(self, to_time_s: float, out: list[bytes]) -> None:
        s = self._session
        assert s is not None
        tick_to = float(self.clock.tick_at(to_time_s))
        # samples taken by now: tick_k <= tick_to
        n_due = math.floor((tick_to - s.tick_start) * s.rate_hz / TICK_HZ + 1e-9) + 1
        if s.n_samples_end is not None:
            n_due = min(n_due, s.n_samples_end)
        n_packets = n_due // s.spp
        if s.n_samples_end is not None and n_due == s.n_samples_end:
            n_packets = -(-n_due // s.spp)  # the last, partial packet
        while s.packets_done < n_packets and self._session is s:
            batch = min(n_packets - s.packets_done, _BATCH_PACKETS)
            self._generate_batch(s, batch, out)

    def _generate_batch(self, s: _Session, n_packets: int, out: list[bytes]) -> None:
        k0 = s.packets_done * s.spp
        k1 = (s.packets_done + n_packets) * s.spp
        if s.n_samples_end is not None:
            k1 = min(k1, s.n_samples_end)
        k = np.arange(k0, k1, dtype=np.int64)
        ticks = s.sample_ticks(k)
        assert self.source_origin_s is not None
        src_t = self.clock.time_at(ticks) - self.source_origin_s
        dur = self.source.duration_s
        ended = False
        if dur is not None and self.config.end_of_source == "stop":
            over = np.flatnonzero(src_t >= dur)
            if over.size:
                cut = int(over[0])
                k, ticks, src_t = k[:cut], ticks[:cut], src_t[:cut]
                s.n_samples_end = k0 + cut
                ended = True
        if k.size:
            counts = self._quantise(self.source.samples_at(src_t), s.range_g)
            for start in range(0, k.size, s.spp):
                chunk = counts[start : start + s.spp]
                flags = Flags.NONE
                if np.any((chunk == _FULL_SCALE_COUNTS - 1) | (chunk == -_FULL_SCALE_COUNTS)):
                    flags |= Flags.CLIPPED
                pkt = encode_data_packet(
                    DataPacket(
                        seq=self._seq_next,
                        tick=int(round(ticks[start])),
                        range_g=s.range_g,
                        samples=chunk,
                        flags=flags,
                    )
                )
                self._emit_live(self._seq_next, pkt, out)
                self._seq_next += 1
                s.packets_done += 1
        if ended:
            log.info("source ended after %d samples: streaming stops", s.n_samples_end)
            self.source_ended = True
            self._session = None

    @staticmethod
    def _quantise(accel_g: NDArray[np.float64], range_g: int) -> NDArray[np.int16]:
        counts = np.rint(accel_g * (_FULL_SCALE_COUNTS / range_g))
        return np.clip(counts, -_FULL_SCALE_COUNTS, _FULL_SCALE_COUNTS - 1).astype(np.int16)

    def _emit_live(self, seq: int, pkt: bytes, out: list[bytes]) -> None:
        self._ring.append((seq, pkt))
        self.stats["packets"] += 1
        if not self.deliverable:
            self.stats["undelivered"] += 1
        elif self.faults.lost(seq):
            self.stats["lost"] += 1
        else:
            self.stats["sent"] += 1
            out.append(pkt)

    # ------------------------------------------------------------------ commands
    def handle_command(self, data: bytes | bytearray) -> bytes:
        """Execute one control write at the current time; return the reply (to be indicated)."""
        self.stats["commands"] += 1
        b = bytes(data)
        try:
            op, args = decode_command(b)
        except ProtocolError as exc:
            log.debug("bad command %s: %s", b.hex(), exc)
            if b and b[0] & 0x7F in {int(o) for o in Opcode}:
                reply = encode_reply(Opcode(b[0] & 0x7F), Status.BAD_REQUEST)
            else:  # an opcode this firmware does not know
                reply = bytes([0x80 | (b[0] & 0x7F if b else 0), int(Status.UNSUPPORTED)])
            self.last_reply = reply
            return reply
        reply = getattr(self, f"_cmd_{op.name.lower()}")(*args)
        self.last_reply = reply
        return reply

    def _cmd_start(self) -> bytes:
        if self._session is not None:
            return encode_reply(Opcode.START, Status.OK)
        if self.source_ended:
            return encode_reply(Opcode.START, Status.BUSY)
        spp = samples_per_packet(self.rate_hz, self.config.max_packet_s)
        self._session = _Session(float(self.clock.tick_at(self.now_s)), self.rate_hz, self.range_g, spp)
        self._last_session = self._session
        if self.source_origin_s is None:
            self.source_origin_s = self.now_s
        self._seq_next = 0
        self._ring = collections.deque(maxlen=self._ring_capacity())
        self._outbox.clear()
        log.info(
            "START at %.3f s: %d Hz, +-%d g, %d samples per packet",
            self.now_s,
            self.rate_hz,
            self.range_g,
            spp,
        )
        return encode_reply(Opcode.START, Status.OK)

    def _cmd_stop(self) -> bytes:
        self._session = None
        return encode_reply(Opcode.STOP, Status.OK)

    def _cmd_set_rate(self, rate_hz: int) -> bytes:
        if self._session is not None:
            return encode_reply(Opcode.SET_RATE, Status.BUSY)
        if rate_hz not in RATES_HZ:
            return encode_reply(Opcode.SET_RATE, Status.BAD_REQUEST)
        self.rate_hz = rate_hz
        return encode_reply(Opcode.SET_RATE, Status.OK)

    def _cmd_set_range(self, range_g: int) -> bytes:
        if self._session is not None:
            return encode_reply(Opcode.SET_RANGE, Status.BUSY)
        if range_g not in RANGES_G:
            return encode_reply(Opcode.SET_RANGE, Status.BAD_REQUEST)
        self.range_g = range_g
        return encode_reply(Opcode.SET_RANGE, Status.OK)

    def _cmd_time_sync(self) -> bytes:
        tick = int(math.floor(float(self.clock.tick_at(self.now_s))))
        return encode_reply(Opcode.TIME_SYNC, Status.OK, _TIME_SYNC.pack(tick & _U32, self._seq_next & _U32))

    def _unwrap_seq(self, wire: int) -> int:
        """The unwrapped sequence number nearest ``next_seq`` whose low 32 bits are ``wire``."""
        d = (wire - self._seq_next) & _U32
        if d >= 1 << 31:
            d -= 1 << 32
        return self._seq_next + d

    def _cmd_resend(self, first: int, last: int) -> bytes:
        lo_req, hi_req = self._unwrap_seq(first), self._unwrap_seq(last)
        if lo_req > hi_req:
            return encode_reply(Opcode.RESEND, Status.BAD_REQUEST)
        if not self._ring:
            return encode_reply(Opcode.RESEND, Status.NOT_AVAILABLE)
        oldest, newest = self._ring[0][0], self._ring[-1][0]
        lo, hi = max(lo_req, oldest), min(hi_req, newest)
        if lo > hi:
            return encode_reply(Opcode.RESEND, Status.NOT_AVAILABLE)
        for i in range(lo - oldest, hi - oldest + 1):
            pkt = bytearray(self._ring[i][1])
            pkt[1] |= Flags.RESENT
            self._outbox.append(bytes(pkt))
        self.stats["resend_requests"] += 1
        return encode_reply(Opcode.RESEND, Status.OK, _RANGE_REPLY.pack(lo & _U32, hi & _U32))

    def _cmd_get_status(self) -> bytes:
        return encode_reply(Opcode.GET_STATUS, Status.OK, self.info_bytes())

    # ------------------------------------------------------------------ ground truth
    def true_time_s(self, tick: ArrayLike) -> NDArray[np.float64]:
        """True time (s since power-on) at which the sensor clock read ``tick`` (unwrapped)."""
        return self.clock.time_at(tick)

    def packet_truth(self, seq: int) -> PacketTruth:
        """Exact sample ticks, true times and source values of packet ``seq`` of the latest session."""
        s = self._last_session
        if s is None or not 0 <= seq < s.packets_done:
            raise ConfigError(f"packet {seq} was not generated in the latest streaming session")
        k = np.arange(seq * s.spp, (seq + 1) * s.spp, dtype=np.int64)
        if s.n_samples_end is not None:
            k = k[k < s.n_samples_end]
        ticks = s.sample_ticks(k)
        true_t = self.clock.time_at(ticks)
        assert self.source_origin_s is not None
        src_t = true_t - self.source_origin_s
        return PacketTruth(seq, ticks, true_t, src_t, self.source.samples_at(src_t))
