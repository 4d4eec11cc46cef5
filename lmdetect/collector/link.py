"""The link abstraction: one BLE connection to one peripheral, seen at the GATT level.

A :class:`Link` connects, subscribes to characteristics, reads and writes them, and reports a lost
connection through a callback. Sensor protocols (which characteristic carries what) live in the
adapters (:mod:`lmdetect.adapters`), so one link serves every sensor. A :class:`Connector` finds the
device to use by its exact name or address and hands out a fresh link for it.

Two implementations exist: :class:`lmdetect.collector.ble.BleakLink` (bleak, real or virtual BlueZ)
and :class:`MemoryLink` here, an in-process link to a simulated peripheral (any object shaped like
``firmware_sim.bluez.Peripheral``) with silent stalls and fuzzing for tests and benchmarks.
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from ..errors import DeviceNotFoundError, LinkError
from .hostclock import HostClock

__all__ = [
    "LinkError",
    "NotifyCallback",
    "DisconnectCallback",
    "Link",
    "Connector",
    "normalize_address",
    "matches_device",
    "Peripheral",
    "LinkFaults",
    "MemoryRadio",
    "MemoryLink",
    "MemoryConnector",
]

log = logging.getLogger(__name__)

#: Receives the raw bytes of one notification or indication.
NotifyCallback = Callable[[bytes], None]
#: Called once when the connection is lost without :meth:`Link.disconnect` having been called.
DisconnectCallback = Callable[[], None]


def normalize_address(text: str) -> str:
    """Upper-case a Bluetooth address and use colons (``c0-ff-ee-00-00-01`` -> ``C0:FF:EE:00:00:01``)."""
    return text.strip().replace("-", ":").replace("_", ":").upper()


def matches_device(wanted: str, *, name: str | None, address: str) -> bool:
    """True when ``wanted`` is exactly the device's advertised name or its address.

    Names must match exactly (case-sensitive, no prefix matching); addresses are compared after
    :func:`normalize_address`. The collector never connects to anything else.
    """
    if name is not None and wanted == name:
        return True
    return normalize_address(wanted) == normalize_address(address)


class Link(abc.ABC):
    """One connection to one peripheral.

    Attributes
    ----------
    address : str
        The peripheral's Bluetooth address (normalised).
    name : str or None
        Its advertised name.
    """

    address: str
    name: str | None

    @abc.abstractmethod
    async def connect(self, on_disconnect: DisconnectCallback) -> None:
        """Connect and discover services; ``on_disconnect`` fires once if the link is lost later."""

    @abc.abstractmethod
    async def disconnect(self) -> None:
        """Close the connection. Never raises: a link that is already gone counts as closed."""

    @property
    @abc.abstractmethod
    def is_connected(self) -> bool: ...

    @abc.abstractmethod
    def has_characteristic(self, uuid: str) -> bool:
        """True if the connected peripheral offers the characteristic ``uuid``."""

    @abc.abstractmethod
    async def start_notify(self, uuid: str, callback: NotifyCallback) -> None:
        """Subscribe to notifications or indications of ``uuid``."""

    @abc.abstractmethod
    async def write(self, uuid: str, data: bytes, *, response: bool = True) -> None:
        """Write ``data`` to characteristic ``uuid`` (with or without response)."""

    @abc.abstractmethod
    async def read(self, uuid: str) -> bytes:
        """Read characteristic ``uuid``."""

    def rssi_dbm(self) -> int | None:
        """Received signal strength at the last scan, in dBm, or None when unknown."""
        return None


class Connector(abc.ABC):
    """Finds a peripheral by exact name or address and returns an unconnected :class:`Link`."""

    @abc.abstractmethod
    async def find(self, device: str, *, timeout_s: float, address: str | None = None) -> Link:
        """Scan for ``device`` (exact name or address).

        ``address``, when given, pins the result: a device with the right name but another address
        is ignored (used for reconnects, so a second sensor with the same name is never taken).
        Raises :class:`~lmdetect.errors.DeviceNotFoundError` when nothing matches within
        ``timeout_s`` wall-clock seconds, and :class:`LinkError` when the name is ambiguous.
        """


# --------------------------------------------------------------------------- in-memory link
class GattCharacteristic(Protocol):
    """A simulated characteristic (shape of ``firmware_sim.bluez.gatt.Characteristic``)."""

    uuid: str
    flags: tuple[str, ...]
    on_subscribe: Callable[[bool], None] | None

    def read(self) -> bytes: ...

    def write(self, value: bytes) -> bytes | None: ...


class GattService(Protocol):
    characteristics: list[GattCharacteristic]


class Peripheral(Protocol):
    """A simulated peripheral (the shape of ``firmware_sim.bluez.Peripheral``).

    Times are simulated seconds since the peripheral was powered on; :class:`MemoryRadio` powers
    it on at its host clock's origin, so host time = origin + simulated time.
    """

    name: str
    address: str
    rssi: int
    advertising: bool
    services: list[GattService]

    def attach_clock(self, now: Callable[[], float]) -> None: ...

    def link_up(self, now_s: float) -> bool: ...

    def on_connect(self, now_s: float) -> None: ...

    def on_disconnect(self, now_s: float) -> None: ...

    def poll(self, now_s: float) -> Sequence[tuple[GattCharacteristic, bytes]]: ...


@dataclasses.dataclass
class LinkFaults:
    """Faults of the in-memory air on top of those the peripheral simulates itself.

    Times are simulated seconds (since the radio's clock origin).

    Parameters
    ----------
    stalls : sequence of (start_s, duration_s)
        Silent stalls like a BlueZ restart: the peripheral sees a disconnect but the central's
        link still claims to be connected and gets no notifications and no disconnect callback;
        the device can be found and connected again after ``start_s + duration_s``.
    inject : callable or None
        ``inject(uuid, payload) -> list of payloads`` replaces each delivered notification by
        zero or more payloads (fuzzing: garbage, duplicates, truncations).
    """

    stalls: Sequence[tuple[float, float]] = ()
    inject: Callable[[str, bytes], list[bytes]] | None = None


class MemoryRadio:
    """The "air" between :class:`MemoryLink` objects and simulated peripherals, in one process.

    A pump task advances every peripheral to the current simulated time every
    ``pump_interval_s`` wall seconds and delivers its notifications to the connected link.
    Link drops come from the peripheral (``link_up``), stalls and fuzzing from :class:`LinkFaults`.
    """

    def __init__(
        self,
        peripherals: Sequence[Peripheral],
        clock: HostClock,
        *,
        faults: LinkFaults | None = None,
        pump_interval_s: float = 0.005,
    ) -> None:
        self.peripherals = list(peripherals)
        self.clock = clock
        self.faults = faults or LinkFaults()
        self.pump_interval_s = pump_interval_s
        self._links: dict[str, MemoryLink] = {}
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0
        self.connects = 0
        for p in self.peripherals:
            p.attach_clock(self.now_s)

    async def __aenter__(self) -> MemoryRadio:
        self._task = asyncio.get_running_loop().create_task(self._pump(), name="memory-radio")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._task = None

    def now_s(self) -> float:
        """Simulated seconds since the clock's origin (the peripherals' power-on)."""
        return (self.clock.now_ns() - self.clock.origin_ns) / 1e9

    def stalled(self, now_s: float | None = None) -> bool:
        t = self.now_s() if now_s is None else now_s
        return any(a <= t < a + d for a, d in self.faults.stalls)

    def reachable(self, p: Peripheral) -> bool:
        now = self.now_s()
        return p.advertising and p.link_up(now) and not self.stalled(now)

    async def _pump(self) -> None:
        while True:
            self.pump_once()
            await asyncio.sleep(self.pump_interval_s)

    def pump_once(self) -> None:
        """Advance every peripheral to now and deliver what it sends."""
        now = self.now_s()
        stalled = self.stalled(now)
        for p in self.peripherals:
            link = self._links.get(p.address)
            if link is not None and link._connected and not link._stalled:
                if stalled:
                    link._stalled = True  # the central is not told: like a bluetoothd restart
                    p.on_disconnect(now)
                elif not p.link_up(now):
                    self._links.pop(p.address, None)
                    p.on_disconnect(now)
                    link._lost()
            for ch, value in p.poll(now):
                link = self._links.get(p.address)
                if link is None or not link._connected or link._stalled:
                    continue
                payloads = [value] if self.faults.inject is None else self.faults.inject(ch.uuid, value)
                for data in payloads:
                    self.delivered += 1
                    link._notify(ch.uuid, data)

    def _attach(self, link: MemoryLink) -> None:
        old = self._links.get(link.address)
        if old is not None and old is not link and old._connected:
            old._connected = False  # a stale (stalled) connection is replaced
        self._links[link.address] = link
        self.connects += 1
        link._peripheral.on_connect(self.now_s())

    def _detach(self, link: MemoryLink) -> None:
        if self._links.get(link.address) is link:
            del self._links[link.address]
            if not link._stalled:
                link._peripheral.on_disconnect(self.now_s())


class MemoryLink(Link):
    """A :class:`Link` to a simulated peripheral through a :class:`MemoryRadio`."""

    def __init__(self, radio: MemoryRadio, peripheral: Peripheral) -> None:
        self._radio = radio
        self._peripheral = peripheral
        self.address = normalize_address(peripheral.address)
        self.name = peripheral.name
        self._connected = False
        self._stalled = False
        self._callbacks: dict[str, NotifyCallback] = {}
        self._on_disconnect: DisconnectCallback | None = None
        self._chars: dict[str, GattCharacteristic] = {
            ch.uuid.lower(): ch for svc in peripheral.services for ch in svc.characteristics
        }

    async def connect(self, on_disconnect: DisconnectCallback) -> None:
        await asyncio.sleep(0)
        if not self._radio.reachable(self._peripheral):
            raise LinkError(f"{self.address}: connection failed (device out of range)")
        self._on_disconnect = on_disconnect
        self._connected = True
        self._stalled = False
        self._callbacks.clear()
        self._radio._attach(self)

    async def disconnect(self) -> None:
        await asyncio.sleep(0)
        if self._connected:
            self._radio._detach(self)
            self._connected = False
        if self._stalled:
            log.debug("%s: disconnecting a stalled link (the stack lost it)", self.address)
        self._callbacks.clear()

    @property
    def is_connected(self) -> bool:
        return self._connected

    def has_characteristic(self, uuid: str) -> bool:
        return uuid.lower() in self._chars

    def _char(self, uuid: str) -> GattCharacteristic:
        if not self._connected:
            raise LinkError(f"{self.address}: not connected")
        if self._stalled:
            raise LinkError(f"{self.address}: no reply (the Bluetooth stack is not responding)")
        ch = self._chars.get(uuid.lower())
        if ch is None:
            raise LinkError(f"{self.address}: no characteristic {uuid}")
        return ch

    async def start_notify(self, uuid: str, callback: NotifyCallback) -> None:
        ch = self._char(uuid)
        await asyncio.sleep(0)
        self._callbacks[uuid.lower()] = callback
        if ch.on_subscribe is not None:
            ch.on_subscribe(True)

    async def write(self, uuid: str, data: bytes, *, response: bool = True) -> None:
        ch = self._char(uuid)
        await asyncio.sleep(0)
        try:
            reply = ch.write(bytes(data))
        except Exception as exc:  # an ATT error of the simulated server
            raise LinkError(f"{self.address}: write to {uuid} failed: {exc}") from exc
        if reply is not None:
            # an indication: acknowledged, never lost, arrives after the write returns
            asyncio.get_running_loop().call_soon(self._notify, uuid.lower(), bytes(reply))

    async def read(self, uuid: str) -> bytes:
        ch = self._char(uuid)
        await asyncio.sleep(0)
        try:
            return bytes(ch.read())
        except Exception as exc:
            raise LinkError(f"{self.address}: read of {uuid} failed: {exc}") from exc

    def rssi_dbm(self) -> int | None:
        return int(self._peripheral.rssi)

    def _notify(self, uuid: str, data: bytes) -> None:
        if not self._connected or self._stalled:
            return
        cb = self._callbacks.get(uuid.lower())
        if cb is not None:
            cb(data)

    def _lost(self) -> None:
        if not self._connected:
            return
        self._connected = False
        self._callbacks.clear()
        cb, self._on_disconnect = self._on_disconnect, None
        if cb is not None:
            cb()


class MemoryConnector(Connector):
    """:class:`Connector` over a :class:`MemoryRadio`: a "scan" sees every reachable peripheral."""

    def __init__(self, radio: MemoryRadio, *, scan_poll_s: float = 0.01) -> None:
        self.radio = radio
        self.scan_poll_s = scan_poll_s
        self.scans = 0

    async def find(self, device: str, *, timeout_s: float, address: str | None = None) -> Link:
        self.scans += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            hits = [
                p
                for p in self.radio.peripherals
                if self.radio.reachable(p)
                and matches_device(device, name=p.name, address=p.address)
                and (address is None or normalize_address(p.address) == normalize_address(address))
            ]
            if len({normalize_address(p.address) for p in hits}) > 1:
                raise LinkError(
                    f"more than one device is called {device!r} "
                    f"({', '.join(sorted(p.address for p in hits))}); give the address instead"
                )
            if hits:
                return MemoryLink(self.radio, hits[0])
            if loop.time() >= deadline:
                raise DeviceNotFoundError(f"device {device!r} not found within {timeout_s:g} s")
            await asyncio.sleep(self.scan_poll_s)
