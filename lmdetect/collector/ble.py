"""The bleak link: the only module of lmdetect that imports bleak (lazily, on first use).

:class:`BleakConnector` scans for exactly the requested device; :class:`BleakLink` wraps one
``bleak.BleakClient``. Every bleak or D-Bus failure is turned into a
:class:`~lmdetect.collector.link.LinkError`, so the session's reconnect logic sees one kind of
error.

Facts about bleak's BlueZ backend this relies on (bleak 3.x, see docs/collector.md):
notifications arrive through ``StartNotify`` as ``PropertiesChanged("Value")`` signals;
a remote disconnect calls ``disconnected_callback``; a restart of bluetoothd is *not*
reported at all (the link goes silent), which the session's watchdog covers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..errors import DeviceNotFoundError
from .link import (
    Connector,
    DisconnectCallback,
    Link,
    LinkError,
    NotifyCallback,
    matches_device,
    normalize_address,
)

__all__ = ["BleakConnector", "BleakLink"]

log = logging.getLogger(__name__)

#: After a first match by name, keep scanning this long (wall seconds) to notice a second device
#: with the same name: the collector never guesses between two sensors. (Reconnects look for the
#: address found the first time and stop at once.)
AMBIGUITY_WINDOW_S = 1.0


def _bleak() -> Any:
    try:
        import bleak
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise LinkError("the BLE collector needs bleak: pip install 'lmdetect[ble]'") from exc
    return bleak


class BleakConnector(Connector):
    """Scan with bleak for a device by exact name or address.

    Parameters
    ----------
    adapter : str or None
        BlueZ adapter name (``hci0``); None for the default adapter.
    connect_timeout_s : float
        Wall seconds bleak may take to connect and resolve services.
    acquire_notify : bool
        Receive notifications through BlueZ's ``AcquireNotify`` socket where the characteristic
        offers it (one datagram per notification, no D-Bus message): lower and steadier latency
        and less CPU than ``StartNotify``, which bleak falls back to otherwise.
    service_uuid : str or None
        The sensor's service. A device that is already connected (e.g. left connected by a
        collector that was killed: BlueZ keeps the link, and a connected device does not
        advertise) is looked up among the connected devices offering this service before
        scanning.
    """

    def __init__(
        self,
        *,
        adapter: str | None = None,
        connect_timeout_s: float = 20.0,
        acquire_notify: bool = True,
        service_uuid: str | None = None,
    ) -> None:
        self.adapter = adapter
        self.connect_timeout_s = connect_timeout_s
        self.acquire_notify = acquire_notify
        self.service_uuid = service_uuid

    async def _already_connected(self, device: str, pinned: str | None) -> Any | None:
        if self.service_uuid is None:
            return None
        bleak = _bleak()
        try:
            adapter = await bleak.BleakAdapter.get(bluez=self._bluez())
            devices = await adapter.get_connected_devices(service_uuids=[self.service_uuid])
        except Exception as exc:  # not supported here, or no adapter: scanning will tell
            log.debug("listing connected devices failed: %s", exc)
            return None
        hits = [
            d
            for d in devices
            if matches_device(device, name=d.name, address=d.address)
            and (pinned is None or normalize_address(d.address) == pinned)
        ]
        if len(hits) == 1:
            log.info("%s is already connected: taking over the connection", hits[0].address)
            return hits[0]
        return None

    def _bluez(self) -> dict[str, Any]:
        return {"adapter": self.adapter} if self.adapter else {}

    async def find(self, device: str, *, timeout_s: float, address: str | None = None) -> Link:
        bleak = _bleak()
        pinned = normalize_address(address) if address else None
        connected = await self._already_connected(device, pinned)
        if connected is not None:
            return self._link(connected, None)
        found: dict[str, tuple[Any, int | None]] = {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        first_seen = 0.0

        def wanted(bd: Any, ad: Any) -> bool:
            if pinned is not None and normalize_address(bd.address) != pinned:
                return False
            return matches_device(device, name=ad.local_name, address=bd.address) or (
                bd.name is not None and matches_device(device, name=bd.name, address=bd.address)
            )

        try:
            async with bleak.BleakScanner(bluez=self._bluez()) as scanner:
                gen = scanner.advertisement_data()
                try:
                    while True:
                        remaining = deadline - loop.time()
                        if found:
                            remaining = min(remaining, first_seen + AMBIGUITY_WINDOW_S - loop.time())
                        if remaining <= 0:
                            break
                        try:
                            bd, ad = await asyncio.wait_for(anext(gen), remaining)
                        except TimeoutError:
                            break
                        if wanted(bd, ad):
                            if not found:
                                first_seen = loop.time()
                            found[normalize_address(bd.address)] = (bd, ad.rssi)
                            if pinned is not None:
                                break  # the address is known: nothing can be ambiguous
                finally:
                    await gen.aclose()
        except Exception as exc:
            raise LinkError(f"scanning failed: {exc}") from exc
        if not found:
            raise DeviceNotFoundError(
                f"device {device!r} not found within {timeout_s:g} s (is it on, charged and in range?)"
            )
        if len(found) > 1:
            raise LinkError(
                f"more than one device answers to {device!r} ({', '.join(sorted(found))}); give its address instead"
            )
        bd, rssi = next(iter(found.values()))
        return self._link(bd, rssi)

    def _link(self, ble_device: Any, rssi: int | None) -> BleakLink:
        return BleakLink(
            ble_device,
            rssi_dbm=rssi,
            bluez=self._bluez(),
            connect_timeout_s=self.connect_timeout_s,
            acquire_notify=self.acquire_notify,
        )


class BleakLink(Link):
    """One connection through ``bleak.BleakClient``."""

    def __init__(
        self,
        ble_device: Any,
        *,
        rssi_dbm: int | None = None,
        bluez: dict[str, Any] | None = None,
        connect_timeout_s: float = 20.0,
        acquire_notify: bool = True,
    ) -> None:
        self.acquire_notify = acquire_notify
        self._device = ble_device
        self.address = normalize_address(ble_device.address)
        self.name = ble_device.name
        self._rssi = rssi_dbm
        self._bluez = dict(bluez or {})
        self._timeout = connect_timeout_s
        self._client: Any = None
        self._on_disconnect: DisconnectCallback | None = None

    async def connect(self, on_disconnect: DisconnectCallback) -> None:
        bleak = _bleak()
        self._on_disconnect = on_disconnect
        self._client = bleak.BleakClient(
            self._device, disconnected_callback=self._disconnected, timeout=self._timeout, bluez=self._bluez
        )
        try:
            await self._client.connect()
        except Exception as exc:
            raise LinkError(f"connecting to {self.address} failed: {exc}") from exc

    def _disconnected(self, _client: Any) -> None:
        cb, self._on_disconnect = self._on_disconnect, None
        if cb is not None:
            cb()

    async def disconnect(self) -> None:
        client, self._client = self._client, None
        self._on_disconnect = None
        if client is None:
            return
        try:
            await asyncio.wait_for(client.disconnect(), 10.0)
        except Exception as exc:  # e.g. UnknownObject after a bluetoothd restart: the link is gone anyway
            log.debug("disconnect from %s: %s", self.address, exc)

    @property
    def is_connected(self) -> bool:
        return self._client is not None and bool(self._client.is_connected)

    def _need(self) -> Any:
        if self._client is None:
            raise LinkError(f"{self.address}: not connected")
        return self._client

    def has_characteristic(self, uuid: str) -> bool:
        client = self._need()
        try:
            return client.services.get_characteristic(uuid) is not None
        except Exception:
            return False

    async def start_notify(self, uuid: str, callback: NotifyCallback) -> None:
        client = self._need()
        try:
            char = client.services.get_characteristic(uuid)
            # AcquireNotify only where BlueZ offers it (notify, not indicate); bleak checks NotifyAcquired
            acquire = self.acquire_notify and char is not None and "notify" in char.properties

            def deliver(_char: Any, data: bytearray) -> None:
                # bleak routes notifications by device path: a client left over from before a
                # bluetoothd restart would see the new connection's data too
                if self._client is client:
                    callback(bytes(data))

            await client.start_notify(uuid, deliver, bluez={"use_start_notify": not acquire})
        except Exception as exc:
            raise LinkError(f"{self.address}: subscribing to {uuid} failed: {exc}") from exc

    async def write(self, uuid: str, data: bytes, *, response: bool = True) -> None:
        client = self._need()
        try:
            await client.write_gatt_char(uuid, data, response=response)
        except Exception as exc:
            raise LinkError(f"{self.address}: write to {uuid} failed: {exc}") from exc

    async def read(self, uuid: str) -> bytes:
        client = self._need()
        try:
            return bytes(await client.read_gatt_char(uuid))
        except Exception as exc:
            raise LinkError(f"{self.address}: read of {uuid} failed: {exc}") from exc

    def rssi_dbm(self) -> int | None:
        return self._rssi
