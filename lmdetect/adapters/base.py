"""The sensor adapter interface: how the collector starts a sensor's stream and decodes it.

An adapter knows one sensor protocol. The collector session (:mod:`lmdetect.collector.session`)
owns the link, the queue, the file and the gap accounting; it asks the adapter to

1. :meth:`SensorAdapter.start` the stream on a freshly connected :class:`~lmdetect.collector.link.Link`
   (configure, start or resume) and describe it (:class:`StreamInfo`);
2. :meth:`SensorAdapter.decode` each notification of :attr:`SensorAdapter.data_uuid` into
   :class:`DecodedPacket` objects (raising :class:`~lmdetect.errors.ProtocolError` for anything
   malformed);
3. :meth:`SensorAdapter.request_resend` missing packets, when the sensor keeps a ring buffer;
4. :meth:`SensorAdapter.stop` the stream at the end of the night.

Sequence numbers and ticks are returned as they are on the wire; the session unwraps them
(``seq_bits`` / ``tick_bits`` say where they wrap).

An adapter class marked ``@register_adapter`` in a module of :mod:`lmdetect.adapters` is found on
first use (:mod:`lmdetect._discovery`); ``lmdetect collect --sensor`` offers exactly the
registered names, so adding a sensor touches its own module only.
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import logging
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigError, LinkError, ProtocolError

if TYPE_CHECKING:  # pragma: no cover
    from ..collector.link import Link

__all__ = [
    "DecodedPacket",
    "StreamInfo",
    "SensorAdapter",
    "ReplyChannel",
    "BATTERY_LEVEL_UUID",
    "MAX_RATE_HZ",
    "MAX_RANGE_G",
    "MAX_TICK_HZ",
    "read_battery_level",
    "read_text",
    "register_adapter",
    "adapter_class",
    "adapter_names",
    "adapter_classes",
]

log = logging.getLogger(__name__)

BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"  # Bluetooth SIG Battery Level

#: Plausibility limits of a stream's settings: no wearable accelerometer the collector drives
#: samples faster than a few kHz (Movesense: 1666 Hz at most), has a full scale beyond 64 g, or
#: counts time in ticks faster than 1 GHz (Polar PMD: nanoseconds).
MAX_RATE_HZ = 5000.0
MAX_RANGE_G = 64.0
MAX_TICK_HZ = 1_000_000_000


@dataclasses.dataclass(frozen=True, slots=True)
class DecodedPacket:
    """Samples decoded from one notification.

    Parameters
    ----------
    seq : int or None
        Packet sequence number as on the wire; None for sensors without one.
    tick : int
        Sensor clock at the first sample, in ticks of :attr:`StreamInfo.tick_hz`, as on the wire.
    counts : ndarray, shape (n, 3), int16
        Raw samples; g = counts * :attr:`StreamInfo.scale_g`.
    flags : int
        :class:`lmdetect.protocol.Flags` bits (RESENT, FIFO_OVERFLOW, CLIPPED).
    sample_ticks : ndarray of int64 or None
        Wire tick of every sample when the samples are not evenly spaced at the nominal rate.
    """

    seq: int | None
    tick: int
    counts: NDArray[np.int16]
    flags: int = 0
    sample_ticks: NDArray[np.int64] | None = None

    @property
    def n(self) -> int:
        return int(self.counts.shape[0])

    @property
    def resent(self) -> bool:
        return bool(self.flags & 0x01)


@dataclasses.dataclass(frozen=True)
class StreamInfo:
    """What the collector needs to know about a started stream.

    Parameters
    ----------
    fs_hz : float
        Nominal sampling rate in Hz.
    tick_hz : int
        Rate of the sensor clock in which ticks are counted, in Hz.
    scale_g : float
        g per count.
    range_g : float
        Full scale in g.
    sensor : str
        Sensor model.
    firmware : str
        Firmware version string ("" when unknown).
    resumed : bool
        True when the stream was already running and was continued (sequence numbers were not
        reset); False when it was (re)started.
    next_seq : int or None
        Wire sequence number of the next live packet, when the sensor reports it.
    first_seq : int or None
        Wire sequence number of the first packet of a stream the adapter (re)started, when the
        protocol fixes it (0 in the open profile); None for a continued stream.
    tick_now : int or None
        Wire tick of the sensor clock when the stream was (re)started, when the sensor reports it.
    ring_capacity_packets : int or None
        Packets the sensor keeps for resend requests (None: no resend).
    meta : mapping
        Extra provenance for the file header.
    """

    fs_hz: float
    tick_hz: int
    scale_g: float
    range_g: float
    sensor: str
    firmware: str = ""
    resumed: bool = False
    next_seq: int | None = None
    first_seq: int | None = None
    tick_now: int | None = None
    ring_capacity_packets: int | None = None
    meta: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        # Settings reported by a sensor: what no sensor can have is a protocol error, caught here
        # before a 0-Hz rate divides or a NaN scale turns every sample into 0.
        checks = (
            ("sample rate", self.fs_hz, 0.0, MAX_RATE_HZ, "Hz"),
            ("clock rate", self.tick_hz, 0.0, MAX_TICK_HZ, "Hz"),
            ("scale", self.scale_g, 0.0, MAX_RANGE_G, "g per count"),
        )
        for what, value, low, high, unit in checks:
            if not (math.isfinite(value) and low < value <= high):
                raise ProtocolError(f"impossible stream {what} {value!r} {unit} (valid: above {low:g}, at most {high:g})")
        if not (math.isfinite(self.range_g) and 0.0 <= self.range_g <= MAX_RANGE_G):  # 0: not reported
            raise ProtocolError(f"impossible stream range {self.range_g!r} g (valid: 0-{MAX_RANGE_G:g})")

    @property
    def ticks_per_sample(self) -> float:
        return self.tick_hz / self.fs_hz


class SensorAdapter(abc.ABC):
    """Base class of the sensor protocols the collector can drive.

    Subclasses set the class attributes and implement :meth:`start`, :meth:`stop` and
    :meth:`decode`; :meth:`request_resend` only when ``supports_resend``.

    Parameters
    ----------
    rate_hz : float
        Requested sampling rate in Hz (the adapter picks the nearest the sensor supports).
    range_g : float
        Requested full scale in g.
    command_timeout_s : float
        Wall-clock seconds to wait for a control reply.
    """

    #: Short name used by ``lmdetect collect --sensor``.
    name: ClassVar[str]
    #: Primary GATT service of the sensor.
    service_uuid: ClassVar[str]
    #: Characteristic whose notifications carry the samples.
    data_uuid: ClassVar[str]
    #: Width of the wire sequence number in bits (None: the sensor has no sequence numbers).
    seq_bits: ClassVar[int | None]
    #: Width of the wire tick in bits.
    tick_bits: ClassVar[int]
    #: True when :meth:`request_resend` can recover packets lost on the link.
    supports_resend: ClassVar[bool] = False
    #: Most samples one notification can carry (bounds the tick step between packets).
    max_samples_per_packet: ClassVar[int]
    #: Sampling rate requested when ``collect --rate`` is not given, in Hz.
    default_rate_hz: ClassVar[float] = 50.0
    #: Full scale requested when ``collect --range`` is not given, in g.
    default_range_g: ClassVar[float] = 8.0

    def __init__(self, *, rate_hz: float = 50.0, range_g: float = 8.0, command_timeout_s: float = 5.0) -> None:
        self.rate_hz = _positive("rate_hz", rate_hz, MAX_RATE_HZ)
        self.range_g = _positive("range_g", range_g, MAX_RANGE_G)
        self.command_timeout_s = _positive("command_timeout_s", command_timeout_s, 3600.0)

    @classmethod
    def cli_options(cls, rate_hz: float | None, range_g: float | None) -> dict[str, float]:
        """Constructor options from ``collect --rate`` (Hz) and ``--range`` (g); None: not given.

        Raises
        ------
        ConfigError
            When the sensor cannot use a value given.
        """
        return {
            "rate_hz": cls.default_rate_hz if rate_hz is None else float(rate_hz),
            "range_g": cls.default_range_g if range_g is None else float(range_g),
        }

    @abc.abstractmethod
    async def start(
        self, link: Link, *, fresh: bool, required: StreamInfo | None = None
    ) -> StreamInfo:
        """Configure and start (or continue) the stream on a connected link.

        Parameters
        ----------
        fresh : bool
            True for a new night: any stream left running is restarted. False after a reconnect
            or when continuing a file: a running stream with the right settings is continued so
            that the sensor's ring buffer can fill the outage.
        required : StreamInfo or None
            Settings the stream must have (those of the file being continued).
        """

    @abc.abstractmethod
    async def stop(self, link: Link) -> None:
        """Stop the stream (best effort; called before a clean disconnect)."""

    @abc.abstractmethod
    def decode(self, data: bytes) -> list[DecodedPacket]:
        """Decode one notification; raise :class:`~lmdetect.errors.ProtocolError` if malformed."""

    def on_connection(self) -> None:  # noqa: B027 - an optional hook, a no-op unless a decoder keeps state
        """Forget per-connection decoder state (called before every :meth:`start`)."""

    async def request_resend(self, link: Link, first_seq: int, last_seq: int) -> tuple[int, int] | None:
        """Ask the sensor to resend packets ``first_seq..last_seq`` (wire numbers, inclusive).

        Returns the range the sensor will resend, or None when it has none of them.
        """
        raise ProtocolError(f"the {self.name} sensor cannot resend packets")

    async def read_clock(self, link: Link) -> int | None:
        """The sensor clock now (wire tick), read by a request/reply exchange; None if unsupported.

        The collector stamps the host time before the request and after the reply and uses the
        pair as a two-way clock constraint (:mod:`lmdetect.collector.timesync`).
        """
        return None

    async def battery_pct(self, link: Link) -> int | None:
        """Battery level in percent, or None when the sensor does not report it."""
        return await read_battery_level(link)


def _positive(name: str, value: float, high: float) -> float:
    """``value`` as a float, or ConfigError if it is not finite and in (0, high]."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not (math.isfinite(v) and 0.0 < v <= high):
        raise ConfigError(f"{name} must be above 0 and at most {high:g}, got {value!r}")
    return v


async def read_battery_level(link: Link) -> int | None:
    """Read the standard Battery Level characteristic (0x2A19), if the peripheral has it."""
    if not link.has_characteristic(BATTERY_LEVEL_UUID):
        return None
    data = await link.read(BATTERY_LEVEL_UUID)
    if len(data) != 1 or data[0] > 100:
        log.debug("battery level %r ignored", data)
        return None
    return int(data[0])


async def read_text(link: Link, uuid: str) -> str:
    """A UTF-8 string characteristic (model number, firmware revision); "" if absent or unreadable."""
    if not link.has_characteristic(uuid):
        return ""
    try:
        return bytes(await link.read(uuid)).decode("utf-8", "replace").strip("\x00 ")
    except Exception as exc:  # an optional string must not stop a night's recording
        log.debug("reading %s failed: %s", uuid, exc)
        return ""


_REGISTRY: dict[str, type[SensorAdapter]] = {}
_loaded = False


def register_adapter(cls: type[SensorAdapter]) -> type[SensorAdapter]:
    """Class decorator: offer ``cls`` as ``collect --sensor {cls.name}`` and to :func:`adapter_class`."""
    if not getattr(cls, "name", ""):
        raise ValueError(f"{cls.__name__} has no name")
    _REGISTRY[cls.name] = cls
    return cls


def _load() -> None:
    # adapter modules are found by their decorator, not listed here
    global _loaded
    if _loaded:
        return
    _loaded = True
    from .._discovery import import_registering_modules

    import_registering_modules(__name__.rsplit(".", 1)[0], ("@register_adapter",))


def adapter_classes() -> dict[str, type[SensorAdapter]]:
    """Every registered adapter: ``{name: class}``, sorted by name."""
    _load()
    return dict(sorted(_REGISTRY.items()))


def adapter_names() -> tuple[str, ...]:
    """The names ``lmdetect collect --sensor`` accepts, sorted."""
    return tuple(adapter_classes())


def adapter_class(name: str) -> type[SensorAdapter]:
    """The adapter class registered as ``name``; ConfigError listing the valid names if none."""
    classes = adapter_classes()
    try:
        return classes[name]
    except KeyError:
        raise ConfigError(f"unknown sensor {name!r}; valid choices are {', '.join(classes)}") from None


class ReplyChannel:
    """Request/reply over a control characteristic answered by indications.

    The indication callback only queues the reply; :meth:`request` writes the request and waits
    for the first queued reply that ``match`` accepts. One request at a time.
    """

    def __init__(self, uuid: str, *, timeout_s: float) -> None:
        self.uuid = uuid
        self.timeout_s = timeout_s
        self._replies: asyncio.Queue[bytes] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self.unsolicited: list[bytes] = []

    def on_indication(self, data: bytes) -> None:
        self._replies.put_nowait(bytes(data))

    async def subscribe(self, link: Link) -> None:
        self._replies = asyncio.Queue()
        await link.start_notify(self.uuid, self.on_indication)

    async def request(self, link: Link, payload: bytes, match: Callable[[bytes], bool]) -> bytes:
        """Write ``payload`` and return the first reply accepted by ``match``."""
        async with self._lock:
            while not self._replies.empty():  # stale replies of an earlier, timed-out request
                self._keep(self._replies.get_nowait())
            await link.write(self.uuid, payload, response=True)
            return await self.receive(match)

    async def receive(self, match: Callable[[bytes], bool]) -> bytes:
        """Wait for the next reply accepted by ``match`` (continuation of a multi-part reply)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise LinkError(f"no control reply on {self.uuid} within {self.timeout_s:g} s")
            try:
                reply = await asyncio.wait_for(self._replies.get(), remaining)
            except TimeoutError:
                continue
            if match(reply):
                return reply
            self._keep(reply)

    def _keep(self, reply: bytes) -> None:
        log.debug("unsolicited control message %s", reply.hex())
        self.unsolicited.append(reply)
        del self.unsolicited[:-16]
