"""What a peripheral presents to a central: advertisement, GATT table, link events, notifications.

:class:`Peripheral` is the interface between a simulated device (the open-profile reference
firmware, the Polar-like PMD device) and a transport (the virtual BlueZ, or bless on a real
radio). The transport calls :meth:`Peripheral.poll` regularly with the simulated time and sends
the notifications it returns; reads and writes go through the GATT table's callbacks.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Callable

from lmdetect import protocol as p
from lmdetect.errors import ConfigError

from ..faults import FaultPlan
from .gatt import Characteristic, Service, assign_handles

__all__ = ["Peripheral", "Notification"]

#: A value to send to the central as a notification or indication of a characteristic.
Notification = tuple[Characteristic, bytes]

_ADDRESS = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")


class Peripheral(abc.ABC):
    """Base class of simulated BLE peripherals.

    Parameters
    ----------
    name : str
        Advertised local name (what ``BleakScanner.find_device_by_name`` matches).
    address : str
        Bluetooth device address, ``XX:XX:XX:XX:XX:XX``.
    faults : FaultPlan
        When the link is unavailable (periodic drops, outages); times in simulated seconds.
    rssi : int
        Advertised signal strength in dBm.
    """

    #: Short description of the device kind (for logs and ``serve`` output).
    kind: str = "peripheral"

    def __init__(self, name: str, address: str, *, faults: FaultPlan | None = None, rssi: int = -60):
        address = address.upper()
        if not _ADDRESS.match(address):
            raise ConfigError(f"invalid Bluetooth address {address!r}; expected XX:XX:XX:XX:XX:XX")
        if not name:
            raise ConfigError("a peripheral needs a name")
        self.name = name
        self.address = address
        self.faults = faults or FaultPlan()
        self.rssi = int(rssi)
        self.advertising = True
        self.manufacturer_data: dict[int, bytes] = {}
        self._now: Callable[[], float] = lambda: 0.0
        self.services: list[Service] = self.build_services()
        assign_handles(self.services)

    # ------------------------------------------------------------------ to implement
    @abc.abstractmethod
    def build_services(self) -> list[Service]:
        """The GATT table (handles are assigned afterwards)."""

    @abc.abstractmethod
    def on_connect(self, now_s: float) -> None:
        """A central connected at simulated time ``now_s``."""

    @abc.abstractmethod
    def on_disconnect(self, now_s: float) -> None:
        """The link ended (either side, or link loss)."""

    @abc.abstractmethod
    def poll(self, now_s: float) -> list[Notification]:
        """Advance the device to ``now_s``; return the notifications to send, in order."""

    @property
    def powered(self) -> bool:
        return True

    def stats(self) -> dict[str, object]:
        return {}

    # ------------------------------------------------------------------ provided
    @property
    def advertised_uuids(self) -> list[str]:
        """Service UUIDs in the advertisement: the primary services other than SIG-standard ones."""
        return [s.uuid for s in self.services if not s.uuid.endswith("-0000-1000-8000-00805f9b34fb")]

    def attach_clock(self, now: Callable[[], float]) -> None:
        """Give the device the transport's simulated clock (used when a write must see "now")."""
        self._now = now

    def link_up(self, now_s: float) -> bool:
        """Whether a central can reach the device at ``now_s`` (powered and no link fault)."""
        return self.powered and self.faults.link_up(now_s)

    def characteristic(self, uuid: str) -> Characteristic:
        uuid = uuid.lower()
        for svc in self.services:
            for ch in svc.characteristics:
                if ch.uuid == uuid:
                    return ch
        raise KeyError(uuid)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.address}>"


def battery_service(
    level_pct: Callable[[], int], on_subscribe: Callable[[bool], None] | None = None
) -> Service:
    """The standard Battery Service: a readable, notifiable Battery Level (percent)."""
    return Service(
        p.BATTERY_SERVICE_UUID,
        [
            Characteristic(
                p.BATTERY_LEVEL_UUID, ("read", "notify"), on_read=lambda: bytes([level_pct()]), on_subscribe=on_subscribe
            )
        ],
    )


def device_info_service(manufacturer: str, model: str, firmware: str, serial: str | None = None) -> Service:
    """The standard Device Information Service with the strings the collector reads."""
    chars = [
        Characteristic(p.MANUFACTURER_NAME_UUID, ("read",), manufacturer.encode()),
        Characteristic(p.MODEL_NUMBER_UUID, ("read",), model.encode()),
    ]
    if serial is not None:
        chars.append(Characteristic(p.SERIAL_NUMBER_UUID, ("read",), serial.encode()))
    chars.append(Characteristic(p.FIRMWARE_REVISION_UUID, ("read",), firmware.encode()))
    return Service(p.DEVICE_INFO_SERVICE_UUID, chars)
