"""A peripheral's GATT table: services, characteristics and descriptors with attribute handles.

The table is transport-neutral: the virtual BlueZ turns it into D-Bus objects, the bless peripheral
into a GATT server application. Handles are assigned the way a GATT server lays out its attribute
database (Bluetooth Core Spec. Vol 3 Part G 3.1-3.3): a service declaration, then for every
characteristic a declaration and a value handle, then its descriptors. BlueZ names its D-Bus
objects after these handles (``serviceXXXX``, ``charXXXX`` = declaration handle, ``descXXXX``), and
bleak reads the handles back from the last four hex digits of each path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from .names import CCCD_UUID

__all__ = ["GattError", "Descriptor", "Characteristic", "Service", "assign_handles"]


class GattError(Exception):
    """An ATT-level failure of a read or write, reported to the central as a BlueZ D-Bus error."""

    def __init__(self, dbus_error: str, text: str):
        super().__init__(f"{dbus_error}: {text}")
        self.dbus_error = dbus_error
        self.text = text


@dataclasses.dataclass(eq=False)
class Descriptor:
    uuid: str
    value: bytes = b""
    handle: int = 0


@dataclasses.dataclass(eq=False)
class Characteristic:
    """One characteristic.

    ``flags`` use BlueZ's names (``read``, ``write``, ``write-without-response``, ``notify``,
    ``indicate``). ``on_read() -> bytes`` answers reads (default: the cached ``value``);
    ``on_write(value) -> bytes | None`` handles writes and may return a value to send back at once
    as a notification/indication on this characteristic (a control-point reply);
    ``on_subscribe(enabled)`` is told when the central enables or disables notifications.
    """

    uuid: str
    flags: tuple[str, ...]
    value: bytes = b""
    on_read: Callable[[], bytes] | None = None
    on_write: Callable[[bytes], bytes | None] | None = None
    on_subscribe: Callable[[bool], None] | None = None
    descriptors: list[Descriptor] = dataclasses.field(default_factory=list)
    handle: int = 0  # declaration handle; the value handle is handle + 1

    def __post_init__(self) -> None:
        if self.notifies and not any(d.uuid == CCCD_UUID for d in self.descriptors):
            # a characteristic that notifies or indicates has a CCCD (Core Spec. Vol 3 Part G 3.3.1.1)
            self.descriptors.insert(0, Descriptor(CCCD_UUID, b"\x00\x00"))

    @property
    def notifies(self) -> bool:
        return "notify" in self.flags or "indicate" in self.flags

    def read(self) -> bytes:
        if "read" not in self.flags:
            raise GattError("org.bluez.Error.NotPermitted", "Read not permitted")
        if self.on_read is not None:
            self.value = bytes(self.on_read())
        return self.value

    def write(self, value: bytes) -> bytes | None:
        if "write" not in self.flags and "write-without-response" not in self.flags:
            raise GattError("org.bluez.Error.NotPermitted", "Write not permitted")
        if self.on_write is None:
            self.value = bytes(value)
            return None
        return self.on_write(bytes(value))


@dataclasses.dataclass(eq=False)
class Service:
    uuid: str
    characteristics: list[Characteristic]
    primary: bool = True
    handle: int = 0


def assign_handles(services: Sequence[Service], first_handle: int = 0x000A) -> None:
    """Number the attributes of ``services`` in order, starting at ``first_handle``.

    Handles 0x0001-0x0009 are left to the GAP and GATT services every server has; BlueZ does not
    export those over D-Bus.
    """
    h = first_handle
    for svc in services:
        svc.handle = h
        h += 1
        for ch in svc.characteristics:
            ch.handle = h
            h += 2  # declaration + value
            for d in ch.descriptors:
                d.handle = h
                h += 1
        h += 1  # a gap between services, as real attribute databases often have
    if h > 0xFFFF:
        raise ValueError("GATT table exceeds 65535 attribute handles")
