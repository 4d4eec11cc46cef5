"""A virtual ``bluetoothd``: the ``org.bluez`` D-Bus service, serving simulated peripherals.

bleak's Linux backend talks to BlueZ only over D-Bus, so this service lets the real backend scan,
connect, discover services, read, write and receive notifications with no Bluetooth hardware.
It implements the part of the BlueZ D-Bus API bleak uses (see docs/virtual-bluez.md):

* ``/`` ObjectManager: GetManagedObjects, InterfacesAdded, InterfacesRemoved;
* ``/org/bluez/hci0`` Adapter1 (Powered, Roles ["central", "peripheral"], Discovering):
  SetDiscoveryFilter, StartDiscovery, StopDiscovery, RemoveDevice;
* ``.../dev_XX_XX_XX_XX_XX_XX`` Device1: Connect, Disconnect, Connected, ServicesResolved, RSSI,
  advertisement data; devices appear (InterfacesAdded, then RSSI updates) while a client scans;
* GattService1, GattCharacteristic1 (ReadValue, WriteValue, StartNotify/StopNotify with
  PropertiesChanged("Value"), AcquireNotify with a SOCK_SEQPACKET socket pair), GattDescriptor1,
  under BlueZ's object naming (``serviceXXXX/charXXXX/descXXXX``, the attribute handles);
* Properties Get/GetAll/Set and Introspect for every object.

Peripherals run in simulated time (:class:`~firmware_sim.bluez.clock.SimClock`, ``speed`` times
real time). A pacing task advances every peripheral each tick and sends what falls due. Emission
is throttled: dbus-fast treats EAGAIN from a full socket as a fatal error of the connection
(python-dbus-next issue #153), so the daemon waits for its outgoing queue to drain instead of
letting the kernel buffer fill.

Faults under the caller's control: link drops, outages and stopped advertising per device, and a
"bluetoothd restart" (the service leaves the bus and comes back with a fresh object tree; bleak
gets no signal about it, exactly as with the real daemon).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import fcntl
import logging
import math
import socket
import struct
import termios
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusError

from lmdetect.errors import LmdetectError

from . import names as n
from .clock import SimClock
from .gatt import Characteristic, Descriptor, GattError
from .introspection import introspect
from .peripheral import Peripheral

__all__ = ["VirtualBlueZ"]

log = logging.getLogger(__name__)

_ADAPTER_ADDRESS = "00:1A:7D:DA:71:00"
#: Messages emitted before waiting for the outgoing queue to drain.
_EMIT_BATCH = 32
#: Kernel send-queue bytes above which emission pauses.
_OUTQ_LIMIT = 64 * 1024
_CONNECT_ABORT = "Software caused connection abort"

Props = dict[str, Variant]


@dataclasses.dataclass(eq=False)
class _Device:
    """Runtime state of one peripheral as BlueZ sees it."""

    p: Peripheral
    path: str
    connected: bool = False
    connecting: bool = False
    in_tree: bool = False
    down_until_s: float = -math.inf  # link forced down (simulated seconds)
    gatt: dict[str, Characteristic | Descriptor] = dataclasses.field(default_factory=dict)
    char_path: dict[int, str] = dataclasses.field(default_factory=dict)  # id(char) -> path
    subscribers: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    acquired: dict[str, socket.socket] = dataclasses.field(default_factory=dict)
    backlog: dict[str, collections.deque[bytes]] = dataclasses.field(default_factory=dict)
    stats: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)


class VirtualBlueZ:
    """The ``org.bluez`` service on a (private) D-Bus, serving :class:`Peripheral` objects.

    Parameters
    ----------
    peripherals : sequence of Peripheral
        The simulated devices in radio range.
    speed : float
        Simulated seconds per wall-clock second.
    bus_address : str or None
        D-Bus address to serve on; None uses the system bus address (``DBUS_SYSTEM_BUS_ADDRESS``).
    adapter : str
        Adapter name (``hci0``).
    powered : bool
        Adapter power; a powered-off adapter makes bleak raise ``BleakBluetoothNotAvailableError``.
    restarts : sequence of (at_s, down_s)
        Scheduled bluetoothd restarts, in simulated seconds.
    tick_s : float
        Wall-clock period of the pacing task.
    adv_interval_s : float
        Wall-clock interval of advertisement (RSSI) updates while a client scans.
    connect_delay_s, resolve_delay_s, connect_timeout_s : float
        Wall-clock delays of a connection, of service resolution, and of a failing connection
        attempt to an unreachable device.

    Examples
    --------
    >>> async with VirtualBlueZ([peripheral], speed=60) as vbz:   # doctest: +SKIP
    ...     device = await BleakScanner.find_device_by_name("LMD-ANKLE-01")
    """

    def __init__(
        self,
        peripherals: Sequence[Peripheral],
        *,
        speed: float = 1.0,
        bus_address: str | None = None,
        adapter: str = "hci0",
        powered: bool = True,
        restarts: Iterable[tuple[float, float]] = (),
        tick_s: float = 0.01,
        adv_interval_s: float = 0.05,
        connect_delay_s: float = 0.02,
        resolve_delay_s: float = 0.02,
        connect_timeout_s: float = 0.3,
    ):
        self.clock = SimClock(speed)
        self.bus_address = bus_address
        self.adapter_path = f"/org/bluez/{adapter}"
        self.powered = powered
        self.tick_s = tick_s
        self.adv_interval_s = adv_interval_s
        self.connect_delay_s = connect_delay_s
        self.resolve_delay_s = resolve_delay_s
        self.connect_timeout_s = connect_timeout_s
        self._restarts = sorted((float(a), float(d)) for a, d in restarts)
        self._devices: list[_Device] = []
        self._bus: MessageBus | None = None
        self._generation = 0  # bumped on every (re)join of the bus; late replies to old ones drop
        self._objects: dict[str, dict[str, Props]] = {}
        self._discovery: set[str] = set()
        self._adv_task: asyncio.Task[None] | None = None
        self._pacer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._restarting = False
        self.calls: list[tuple[str, str, str]] = []  # (interface, member, path) of every method call
        self.stats: collections.Counter[str] = collections.Counter()
        for p in peripherals:
            self.add_peripheral(p)

    # ------------------------------------------------------------------ lifecycle
    def add_peripheral(self, p: Peripheral) -> None:
        path = f"{self.adapter_path}/dev_{p.address.replace(':', '_')}"
        if any(d.path == path for d in self._devices):
            raise LmdetectError(f"two peripherals with the address {p.address}")
        p.attach_clock(self.clock.now)
        self._devices.append(_Device(p, path))

    async def start(self) -> VirtualBlueZ:
        """Join the bus as ``org.bluez`` and start the simulated clock and the pacing task."""
        if not self.clock.started:
            self.clock.start()
        await self._join_bus()
        self._pacer = asyncio.get_running_loop().create_task(self._pace(), name="virtual-bluez-pacer")
        return self

    async def stop(self) -> None:
        """Leave the bus and stop every task (connected centrals are not told, as on a crash)."""
        for t in [self._pacer, self._adv_task, *self._tasks]:
            if t is not None:
                t.cancel()
        for t in [self._pacer, self._adv_task, *self._tasks]:
            if t is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
        self._pacer = self._adv_task = None
        await self._leave_bus()

    async def __aenter__(self) -> VirtualBlueZ:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def running(self) -> bool:
        return self._bus is not None and self._bus.connected

    async def _join_bus(self) -> None:
        kw: dict[str, Any] = {"negotiate_unix_fd": True}
        if self.bus_address:
            kw["bus_address"] = self.bus_address
        else:
            kw["bus_type"] = BusType.SYSTEM
        bus = await MessageBus(**kw).connect()
        bus.add_message_handler(self._on_message)
        # BlueZ drops the notify and discovery sessions of clients that leave the bus
        await bus.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="AddMatch",
                signature="s",
                body=["type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged'"],
            )
        )
        self._bus = bus
        self._generation += 1
        self._objects = {}
        # the name last, so no client sees a half-built tree; then announce the adapter, as
        # bluetoothd does at start-up (clients that outlived a restart learn its state)
        await bus.request_name(n.BLUEZ)
        self._add_object(self.adapter_path, {n.ADAPTER: self._adapter_props()})
        log.info("virtual bluetoothd on the bus (%s devices)", len(self._devices))

    async def _leave_bus(self) -> None:
        for d in self._devices:
            self._reset_link(d, notify=False, reason="bluetoothd left the bus")
            d.in_tree = False
        self._discovery.clear()
        if self._adv_task is not None:
            self._adv_task.cancel()
            self._adv_task = None
        bus, self._bus = self._bus, None
        self._objects = {}
        if bus is not None:
            bus.disconnect()
            with contextlib.suppress(Exception):
                await bus.wait_for_disconnect()

    async def restart_bluez(self, down_s: float) -> None:
        """Leave the bus, stay away ``down_s`` simulated seconds, come back with a fresh tree.

        Like a crash and restart of bluetoothd: no Connected=False or InterfacesRemoved is sent,
        so bleak keeps believing it is connected; notifications just stop. Devices reappear when
        a client scans again.
        """
        if self._restarting:
            return
        self._restarting = True
        try:
            log.info("bluetoothd restart: away for %.1f simulated s", down_s)
            self.stats["bluez_restarts"] += 1
            await self._leave_bus()
            await asyncio.sleep(self.clock.wall_s(down_s))
            await self._join_bus()
        finally:
            self._restarting = False

    # ------------------------------------------------------------------ control (tests, serve)
    def device(self, key: str | None = None) -> Peripheral:
        """The peripheral with this name or address (the only one when ``key`` is None)."""
        return self._dev(key).p

    def _dev(self, key: str | None) -> _Device:
        if key is None or key == "":
            if len(self._devices) != 1:
                raise LmdetectError("several devices: name one")
            return self._devices[0]
        for d in self._devices:
            if key in (d.p.name, d.p.address, d.p.address.lower()):
                return d
        raise LmdetectError(f"no virtual device named {key!r}")

    @property
    def peripherals(self) -> list[Peripheral]:
        return [d.p for d in self._devices]

    def device_path(self, key: str | None = None) -> str:
        return self._dev(key).path

    def drop_link(self, key: str | None = None, for_s: float = 0.0) -> None:
        """Break the link now (the central sees a remote disconnect); keep it down ``for_s`` s."""
        d = self._dev(key)
        now = self.clock.now()
        d.down_until_s = max(d.down_until_s, now + for_s) if for_s > 0 else d.down_until_s
        self.stats["forced_drops"] += 1
        self._disconnect(d, "link loss (forced)")

    def restore_link(self, key: str | None = None) -> None:
        """End a forced link outage early."""
        self._dev(key).down_until_s = -math.inf

    def set_advertising(self, on: bool, key: str | None = None) -> None:
        """Start or stop advertising (a device that does not advertise cannot be connected)."""
        self._dev(key).p.advertising = bool(on)

    def reachable(self, key: str | None = None) -> bool:
        return self._reachable(self._dev(key), self.clock.now())

    def device_stats(self, key: str | None = None) -> dict[str, object]:
        d = self._dev(key)
        return {
            "name": d.p.name,
            "address": d.p.address,
            "kind": d.p.kind,
            "connected": d.connected,
            "link": dict(d.stats),
            "device": d.p.stats(),
        }

    def describe(self) -> dict[str, object]:
        return {
            "running": self.running,
            "clock": self.clock.describe(),
            "adapter": self.adapter_path,
            "stats": dict(self.stats),
            "devices": [self.device_stats(d.p.address) for d in self._devices],
        }

    # ------------------------------------------------------------------ sending
    def _send(self, msg: Message, generation: int | None = None) -> None:
        bus = self._bus
        if bus is None or not bus.connected:
            return
        if generation is not None and generation != self._generation:
            return  # a reply to a call made to a previous incarnation of the daemon
        bus.send(msg)

    def _add_object(self, path: str, ifaces: dict[str, Props]) -> None:
        self._objects.setdefault(path, {}).update(ifaces)
        self._send(Message.new_signal("/", n.OBJECT_MANAGER, "InterfacesAdded", "oa{sa{sv}}", [path, ifaces]))

    def _remove_object(self, path: str) -> None:
        ifaces = self._objects.pop(path, None)
        if ifaces:
            body = [path, list(ifaces)]
            self._send(Message.new_signal("/", n.OBJECT_MANAGER, "InterfacesRemoved", "oas", body))

    def _set_props(self, path: str, iface: str, changed: Props, invalidated: Sequence[str] = ()) -> None:
        obj = self._objects.get(path)
        if obj is None or iface not in obj:
            return
        obj[iface].update(changed)
        for name in invalidated:
            obj[iface].pop(name, None)
        self._send(
            Message.new_signal(
                path, n.PROPERTIES, "PropertiesChanged", "sa{sv}as", [iface, changed, list(invalidated)]
            )
        )

    async def _drain(self) -> None:
        """Wait until dbus-fast's queue is empty and the kernel send queue is short."""
        bus = self._bus
        if bus is None or not bus.connected:
            return
        writer = getattr(bus, "_writer", None)
        sock = getattr(bus, "_sock", None)
        for _ in range(5000):  # at most ~5 s; then carry on and let the bus report trouble
            pending = writer is not None and (writer.buf is not None or bool(writer.messages))
            outq = 0
            if sock is not None:
                with contextlib.suppress(OSError, ValueError):
                    outq = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
            if not pending and outq < _OUTQ_LIMIT:
                return
            self.stats["throttle_waits"] += 1
            await asyncio.sleep(0.001)
            if self._bus is not bus or not bus.connected:
                return

    # ------------------------------------------------------------------ pacing
    async def _pace(self) -> None:
        while True:
            now = self.clock.now()
            if self._restarts and now >= self._restarts[0][0]:
                _, down = self._restarts.pop(0)
                self._spawn(self.restart_bluez(down))
            for d in self._devices:
                try:
                    await self._service(d, now)
                except Exception:  # one broken device must not stop the others
                    log.exception("servicing %s failed", d.p.name)
                    self.stats["pacer_errors"] += 1
            await asyncio.sleep(self.tick_s)

    def _reachable(self, d: _Device, now: float) -> bool:
        return d.p.advertising and d.p.link_up(now) and now >= d.down_until_s

    async def _service(self, d: _Device, now: float) -> None:
        if d.connected and not (d.p.link_up(now) and now >= d.down_until_s):
            self._disconnect(d, "link loss")
        notes = d.p.poll(now)
        sent = 0
        for ch, value in notes:
            if self._notify(d, ch, value):
                sent += 1
                if sent % _EMIT_BATCH == 0:
                    await self._drain()
        self._flush_backlog(d)
        if sent:
            await self._drain()

    def _notify(self, d: _Device, ch: Characteristic, value: bytes) -> bool:
        """Send ``value`` as a notification of ``ch`` to whoever subscribed; False if nobody."""
        path = d.char_path.get(id(ch))
        if path is None or not d.connected:
            d.stats["not_sent"] += 1
            return False
        ch.value = value
        sock = d.acquired.get(path)
        if sock is not None:
            queue = d.backlog.setdefault(path, collections.deque())
            queue.append(value)
            self._flush_backlog(d)
            return True
        if not d.subscribers.get(path):
            d.stats["not_sent"] += 1
            return False
        obj = self._objects.get(path)
        if obj is not None:
            obj[n.GATT_CHARACTERISTIC]["Value"] = Variant("ay", value)
        self._send(
            Message.new_signal(
                path,
                n.PROPERTIES,
                "PropertiesChanged",
                "sa{sv}as",
                [n.GATT_CHARACTERISTIC, {"Value": Variant("ay", value)}, []],
            )
        )
        d.stats["notifications"] += 1
        return True

    def _flush_backlog(self, d: _Device) -> None:
        for path, queue in d.backlog.items():
            sock = d.acquired.get(path)
            while queue and sock is not None:
                try:
                    sock.send(queue[0])
                except BlockingIOError:  # the reader is behind: keep the rest for the next tick
                    d.stats["socket_full"] += 1
                    break
                except OSError:
                    self._release_acquired(d, path)
                    break
                queue.popleft()
                d.stats["notifications"] += 1

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t

    # ------------------------------------------------------------------ discovery
    def _adapter_props(self) -> Props:
        return {
            "Address": Variant("s", _ADAPTER_ADDRESS),
            "AddressType": Variant("s", "public"),
            "Name": Variant("s", "firmware-sim"),
            "Alias": Variant("s", "firmware-sim"),
            "Class": Variant("u", 0),
            "Powered": Variant("b", self.powered),
            "PowerState": Variant("s", "on" if self.powered else "off"),
            "Discoverable": Variant("b", False),
            "DiscoverableTimeout": Variant("u", 180),
            "Pairable": Variant("b", False),
            "PairableTimeout": Variant("u", 0),
            "Discovering": Variant("b", bool(self._discovery)),
            "UUIDs": Variant("as", []),
            "Modalias": Variant("s", "usb:v1D6Bp0246d0548"),
            "Roles": Variant("as", ["central", "peripheral"]),
        }

    def _device_props(self, d: _Device) -> Props:
        p = d.p
        return {
            "Address": Variant("s", p.address),
            "AddressType": Variant("s", "random"),
            "Name": Variant("s", p.name),
            "Alias": Variant("s", p.name),
            "Paired": Variant("b", False),
            "Bonded": Variant("b", False),
            "Trusted": Variant("b", False),
            "Blocked": Variant("b", False),
            "LegacyPairing": Variant("b", False),
            "Connected": Variant("b", d.connected),
            "ServicesResolved": Variant("b", False),
            "Adapter": Variant("o", self.adapter_path),
            "UUIDs": Variant("as", p.advertised_uuids),
            "RSSI": Variant("n", p.rssi),
            "ManufacturerData": Variant(
                "a{qv}", {k: Variant("ay", v) for k, v in p.manufacturer_data.items()}
            ),
            "ServiceData": Variant("a{sv}", {}),
            "AdvertisingFlags": Variant("ay", b"\x06"),
        }

    async def _advertise(self) -> None:
        count = 0
        while True:
            now = self.clock.now()
            for d in self._devices:
                if d.connected or not self._reachable(d, now):
                    continue
                if not d.in_tree:
                    d.in_tree = True
                    self._add_object(d.path, {n.DEVICE: self._device_props(d)})
                else:
                    # deterministic +-3 dB "fading", so every update is a real property change
                    jitter = (zlib.crc32(f"{d.p.address}{count}".encode()) % 7) - 3
                    self._set_props(d.path, n.DEVICE, {"RSSI": Variant("n", d.p.rssi + jitter)})
            count += 1
            await asyncio.sleep(self.adv_interval_s)

    def _start_discovery(self, sender: str) -> None:
        if not self.powered:
            raise DBusError(n.ERR_NOT_READY, "Resource Not Ready")
        if sender in self._discovery:
            raise DBusError(n.ERR_IN_PROGRESS, "Operation already in progress")
        self._discovery.add(sender)
        if self._adv_task is None:
            self._set_props(self.adapter_path, n.ADAPTER, {"Discovering": Variant("b", True)})
            self._adv_task = asyncio.get_running_loop().create_task(self._advertise())

    def _stop_discovery(self, sender: str) -> None:
        if sender not in self._discovery:
            raise DBusError(n.ERR_FAILED, "No discovery started")
        self._discovery.discard(sender)
        if not self._discovery and self._adv_task is not None:
            self._adv_task.cancel()
            self._adv_task = None
            self._set_props(self.adapter_path, n.ADAPTER, {"Discovering": Variant("b", False)})
            # like bluetoothd: the RSSI of a device not being scanned becomes invalid
            for d in self._devices:
                if d.in_tree and not d.connected:
                    self._set_props(d.path, n.DEVICE, {}, ["RSSI"])

    # ------------------------------------------------------------------ connections
    async def _connect(self, d: _Device, msg: Message) -> None:
        gen = self._generation
        if d.connected:
            self._send(Message.new_error(msg, n.ERR_ALREADY_CONNECTED, "Already Connected"), gen)
            return
        if d.connecting:
            self._send(Message.new_error(msg, n.ERR_IN_PROGRESS, "In Progress"), gen)
            return
        d.connecting = True
        try:
            await asyncio.sleep(self.connect_delay_s)
            now = self.clock.now()
            if not self._reachable(d, now):
                # bluetoothd gives up after its LE connection timeout
                await asyncio.sleep(self.connect_timeout_s)
                d.stats["connect_failures"] += 1
                self._send(Message.new_error(msg, n.ERR_FAILED, _CONNECT_ABORT), gen)
                return
            if gen != self._generation:
                return
            d.connected = True
            d.stats["connects"] += 1
            d.p.on_connect(now)
            self._set_props(d.path, n.DEVICE, {"Connected": Variant("b", True)})
            self._send(Message.new_method_return(msg), gen)
            await asyncio.sleep(self.resolve_delay_s)
            if not d.connected or gen != self._generation:
                return
            for path, ifaces in self._gatt_objects(d):
                self._add_object(path, ifaces)
            self._set_props(d.path, n.DEVICE, {"ServicesResolved": Variant("b", True)})
        finally:
            d.connecting = False

    def _disconnect(self, d: _Device, reason: str) -> None:
        if not d.connected:
            return
        log.info("%s disconnected: %s", d.p.name, reason)
        self._reset_link(d, notify=True, reason=reason)

    def _reset_link(self, d: _Device, *, notify: bool, reason: str) -> None:
        """End the connection; with ``notify`` tell the clients (signals) as bluetoothd does."""
        was = d.connected
        for path in list(d.acquired):
            self._release_acquired(d, path, signal=notify)
        d.subscribers.clear()
        d.backlog.clear()
        d.connected = False
        if was:
            d.stats["disconnects"] += 1
            d.p.on_disconnect(self.clock.now())
        if notify and was:
            self._set_props(d.path, n.DEVICE, {"ServicesResolved": Variant("b", False)})
            self._set_props(d.path, n.DEVICE, {"Connected": Variant("b", False)})
            # an unbonded device's GATT objects go away with the connection
            for path in sorted(d.gatt, reverse=True):
                self._remove_object(path)
        else:
            for path in d.gatt:
                self._objects.pop(path, None)
        d.gatt.clear()
        d.char_path.clear()

    def _gatt_objects(self, d: _Device) -> list[tuple[str, dict[str, Props]]]:
        out: list[tuple[str, dict[str, Props]]] = []
        for svc in d.p.services:
            sp = f"{d.path}/service{svc.handle:04x}"
            out.append(
                (
                    sp,
                    {
                        n.GATT_SERVICE: {
                            "UUID": Variant("s", svc.uuid),
                            "Device": Variant("o", d.path),
                            "Primary": Variant("b", svc.primary),
                            "Includes": Variant("ao", []),
                        }
                    },
                )
            )
            for ch in svc.characteristics:
                cp = f"{sp}/char{ch.handle:04x}"
                props: Props = {
                    "UUID": Variant("s", ch.uuid),
                    "Service": Variant("o", sp),
                    "Value": Variant("ay", b""),
                    "Flags": Variant("as", list(ch.flags)),
                    "MTU": Variant("q", 247),
                }
                if ch.notifies:
                    props["Notifying"] = Variant("b", False)
                if "notify" in ch.flags:
                    props["NotifyAcquired"] = Variant("b", False)
                out.append((cp, {n.GATT_CHARACTERISTIC: props}))
                d.gatt[cp] = ch
                d.char_path[id(ch)] = cp
                for desc in ch.descriptors:
                    dp = f"{cp}/desc{desc.handle:04x}"
                    out.append(
                        (
                            dp,
                            {
                                n.GATT_DESCRIPTOR: {
                                    "UUID": Variant("s", desc.uuid),
                                    "Characteristic": Variant("o", cp),
                                    "Value": Variant("ay", b""),
                                    "Flags": Variant("as", ["read"]),
                                }
                            },
                        )
                    )
                    d.gatt[dp] = desc
        return out

    # ------------------------------------------------------------------ notify sessions
    def _owner(self, path: str) -> _Device:
        for d in self._devices:
            if path.startswith(d.path + "/") and path in d.gatt:
                return d
        raise DBusError(n.ERR_UNKNOWN_OBJECT, f"Method call on unknown object {path}")

    def _char(self, d: _Device, path: str) -> Characteristic:
        obj = d.gatt.get(path)
        if not isinstance(obj, Characteristic):
            raise DBusError(n.ERR_UNKNOWN_OBJECT, path)
        return obj

    def _set_notifying(self, d: _Device, path: str, on: bool) -> None:
        ch = self._char(d, path)
        self._set_props(path, n.GATT_CHARACTERISTIC, {"Notifying": Variant("b", on)})
        if ch.on_subscribe is not None:
            ch.on_subscribe(on)

    def _start_notify(self, path: str, sender: str) -> None:
        d = self._owner(path)
        ch = self._char(d, path)
        if not ch.notifies:
            raise DBusError(n.ERR_NOT_SUPPORTED, "Operation is not supported")
        if path in d.acquired:
            raise DBusError(n.ERR_NOT_PERMITTED, "Notify acquired")
        subs = d.subscribers.setdefault(path, set())
        if sender in subs:
            return  # bluetoothd accepts a repeated StartNotify from the same client
        subs.add(sender)
        if len(subs) == 1:
            self._set_notifying(d, path, True)

    def _stop_notify(self, path: str, sender: str) -> None:
        d = self._owner(path)
        subs = d.subscribers.get(path, set())
        if sender not in subs:
            raise DBusError(n.ERR_FAILED, "No notify session started")
        subs.discard(sender)
        if not subs:
            self._set_notifying(d, path, False)

    def _acquire_notify(self, path: str, msg: Message) -> bool:
        d = self._owner(path)
        ch = self._char(d, path)
        if "notify" not in ch.flags:
            raise DBusError(n.ERR_NOT_SUPPORTED, "Operation is not supported")
        if path in d.acquired or d.subscribers.get(path):
            raise DBusError(n.ERR_NOT_PERMITTED, "Notify acquired")
        # bluetoothd hands out one end of a SOCK_SEQPACKET pair: one datagram per notification
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setblocking(False)
        d.acquired[path] = ours
        reply = Message.new_method_return(msg, "hq", [0, 247], unix_fds=[theirs.fileno()])
        bus = self._bus
        if bus is None:
            theirs.close()
            return True
        sent = bus.send(reply)
        # our copy of their end must live until dbus-fast has passed it over the socket
        sent.add_done_callback(lambda _f: theirs.close())
        asyncio.get_running_loop().add_reader(ours.fileno(), self._acquired_readable, d, path)
        self._set_props(path, n.GATT_CHARACTERISTIC, {"NotifyAcquired": Variant("b", True)})
        self._set_notifying(d, path, True)
        return True

    def _acquired_readable(self, d: _Device, path: str) -> None:
        sock = d.acquired.get(path)
        if sock is None:
            return
        try:
            data = sock.recv(1)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the client closed its end: the notify session is over
            self._release_acquired(d, path)

    def _release_acquired(self, d: _Device, path: str, *, signal: bool = True) -> None:
        sock = d.acquired.pop(path, None)
        d.backlog.pop(path, None)
        if sock is None:
            return
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(sock.fileno())
        sock.close()
        if signal and d.connected:
            self._set_props(path, n.GATT_CHARACTERISTIC, {"NotifyAcquired": Variant("b", False)})
            self._set_notifying(d, path, False)
        else:
            ch = d.gatt.get(path)
            if isinstance(ch, Characteristic) and ch.on_subscribe is not None:
                ch.on_subscribe(False)

    def _client_gone(self, name: str) -> None:
        self._discovery.discard(name)
        if not self._discovery and self._adv_task is not None:
            self._adv_task.cancel()
            self._adv_task = None
            self._set_props(self.adapter_path, n.ADAPTER, {"Discovering": Variant("b", False)})
        for d in self._devices:
            for path, subs in list(d.subscribers.items()):
                if name in subs:
                    with contextlib.suppress(DBusError):
                        self._stop_notify(path, name)

    # ------------------------------------------------------------------ dispatch
    def _on_message(self, msg: Message) -> Message | bool | None:
        if msg.message_type == MessageType.SIGNAL:
            body = msg.body
            if msg.member == "NameOwnerChanged" and body and body[0].startswith(":") and not body[2]:
                self._client_gone(msg.body[0])
            return None
        if msg.message_type != MessageType.METHOD_CALL:
            return None
        path = msg.path or ""
        if not (path == "/" or path == "/org" or path.startswith("/org/bluez")):
            return None
        self.calls.append((msg.interface or "", msg.member or "", path))
        try:
            return self._dispatch(msg, path, msg.interface or "", msg.member or "")
        except GattError as exc:
            return Message.new_error(msg, exc.dbus_error, exc.text)

    def _dispatch(self, msg: Message, path: str, iface: str, member: str) -> Message | bool:
        if iface == n.INTROSPECTABLE and member == "Introspect":
            return Message.new_method_return(msg, "s", [introspect(path, self._objects)])
        if path == "/" and iface == n.OBJECT_MANAGER and member == "GetManagedObjects":
            return Message.new_method_return(msg, "a{oa{sa{sv}}}", [self._objects])
        if path not in self._objects:
            raise DBusError(n.ERR_UNKNOWN_OBJECT, f"Method {member} on unknown object {path}")
        if iface == n.PROPERTIES:
            return self._properties(msg, path, member)
        if path == self.adapter_path and iface == n.ADAPTER:
            return self._adapter_call(msg, member)
        if iface == n.DEVICE:
            d = next((x for x in self._devices if x.path == path), None)
            if d is None:
                raise DBusError(n.ERR_UNKNOWN_OBJECT, path)
            if member == "Connect":
                self._spawn(self._connect(d, msg))
                return True  # replied when the connection is up (or failed)
            if member == "Disconnect":
                self._disconnect(d, "local request")
                return Message.new_method_return(msg)
            if member in ("Pair", "CancelPairing"):
                raise DBusError(n.ERR_NOT_SUPPORTED, "Pairing is not simulated")
        if iface == n.GATT_CHARACTERISTIC:
            return self._char_call(msg, path, member)
        if iface == n.GATT_DESCRIPTOR:
            d = self._owner(path)
            desc = d.gatt[path]
            assert isinstance(desc, Descriptor)
            if member == "ReadValue":
                value = desc.value
                if desc.uuid == n.CCCD_UUID:
                    parent = path.rsplit("/", 1)[0]
                    on = bool(d.subscribers.get(parent)) or parent in d.acquired
                    ch = self._char(d, parent)
                    value = bytes([(1 if "notify" in ch.flags else 2) if on else 0, 0])
                return Message.new_method_return(msg, "ay", [value])
            if member == "WriteValue":
                # bluetoothd owns the CCCD: clients use StartNotify/AcquireNotify instead
                raise DBusError(n.ERR_NOT_PERMITTED, "Write not permitted")
        raise DBusError(n.ERR_UNKNOWN_METHOD, f"{iface}.{member} is not simulated")

    def _adapter_call(self, msg: Message, member: str) -> Message:
        sender = msg.sender or ""
        if member == "SetDiscoveryFilter":
            return Message.new_method_return(msg)  # accepted; bleak filters service UUIDs itself
        if member == "StartDiscovery":
            self._start_discovery(sender)
            return Message.new_method_return(msg)
        if member == "StopDiscovery":
            self._stop_discovery(sender)
            return Message.new_method_return(msg)
        if member == "RemoveDevice":
            target = msg.body[0]
            for d in self._devices:
                if d.path == target and d.in_tree:
                    self._disconnect(d, "removed")
                    d.in_tree = False
                    self._remove_object(d.path)
                    return Message.new_method_return(msg)
            raise DBusError(n.ERR_DOES_NOT_EXIST, "Does Not Exist")
        raise DBusError(n.ERR_UNKNOWN_METHOD, f"Adapter1.{member} is not simulated")

    def _char_call(self, msg: Message, path: str, member: str) -> Message | bool:
        d = self._owner(path)
        ch = self._char(d, path)
        sender = msg.sender or ""
        if member == "ReadValue":
            value = ch.read()
            self._objects[path][n.GATT_CHARACTERISTIC]["Value"] = Variant("ay", value)
            return Message.new_method_return(msg, "ay", [value])
        if member == "WriteValue":
            reply = ch.write(bytes(msg.body[0]))
            self._send(Message.new_method_return(msg))
            if reply is not None:  # a control-point reply goes back as an indication
                self._notify(d, ch, reply)
            return True
        if member == "StartNotify":
            self._start_notify(path, sender)
            return Message.new_method_return(msg)
        if member == "StopNotify":
            self._stop_notify(path, sender)
            return Message.new_method_return(msg)
        if member == "AcquireNotify":
            return self._acquire_notify(path, msg)
        if member == "AcquireWrite":
            raise DBusError(n.ERR_NOT_SUPPORTED, "Operation is not supported")
        raise DBusError(n.ERR_UNKNOWN_METHOD, f"GattCharacteristic1.{member} is not simulated")

    def _properties(self, msg: Message, path: str, member: str) -> Message:
        obj = self._objects[path]
        if member == "GetAll":
            return Message.new_method_return(msg, "a{sv}", [obj.get(msg.body[0], {})])
        iface, name = msg.body[0], msg.body[1]
        props = obj.get(iface)
        if props is None or (member == "Get" and name not in props):
            raise DBusError("org.freedesktop.DBus.Error.InvalidArgs", f"No such property {name!r}")
        if member == "Get":
            return Message.new_method_return(msg, "v", [props[name]])
        if member == "Set":
            if name not in ("Trusted", "Alias", "Blocked", "Powered"):
                raise DBusError("org.freedesktop.DBus.Error.PropertyReadOnly", f"{name} is read-only")
            value = msg.body[2]
            if name == "Powered" and iface == n.ADAPTER:
                self.powered = bool(value.value)
            self._set_props(path, iface, {name: value})
            return Message.new_method_return(msg)
        raise DBusError(n.ERR_UNKNOWN_METHOD, member)
