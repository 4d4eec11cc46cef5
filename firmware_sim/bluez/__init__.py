"""Peripherals for the reference firmware: a virtual BlueZ on a private D-Bus (no hardware needed).

bleak's Linux backend talks to BlueZ only over D-Bus; :class:`VirtualBlueZ` implements that D-Bus
API for simulated devices, so the collector's real bleak code path runs end to end in tests and
demos. See docs/virtual-bluez.md.
"""

from .clock import SimClock
from .control import ControlClient, ControlService
from .daemon import VirtualBlueZ
from .gatt import Characteristic, Descriptor, GattError, Service
from .gsp import MovesenseGspFirmware
from .movesense import MovesensePeripheral
from .open_profile import OpenProfilePeripheral
from .peripheral import Notification, Peripheral
from .pmd import PolarPmdFirmware
from .polar import PolarPeripheral
from .private_bus import PrivateBus, dbus_daemon_path

__all__ = [
    "SimClock",
    "ControlClient",
    "ControlService",
    "VirtualBlueZ",
    "Characteristic",
    "Descriptor",
    "GattError",
    "Service",
    "MovesenseGspFirmware",
    "MovesensePeripheral",
    "OpenProfilePeripheral",
    "Notification",
    "Peripheral",
    "PolarPmdFirmware",
    "PolarPeripheral",
    "PrivateBus",
    "dbus_daemon_path",
]
