"""D-Bus names used by BlueZ (the parts bleak talks to) and by the simulator's control service.

BlueZ names follow the BlueZ D-Bus API documents (bluez/doc/org.bluez.Adapter.rst,
org.bluez.Device.rst, org.bluez.GattService.rst, org.bluez.GattCharacteristic.rst,
org.bluez.GattDescriptor.rst).
"""

from __future__ import annotations

__all__ = [
    "BLUEZ",
    "OBJECT_MANAGER",
    "PROPERTIES",
    "INTROSPECTABLE",
    "ADAPTER",
    "DEVICE",
    "GATT_SERVICE",
    "GATT_CHARACTERISTIC",
    "GATT_DESCRIPTOR",
    "CCCD_UUID",
    "ERR_FAILED",
    "ERR_NOT_READY",
    "ERR_NOT_SUPPORTED",
    "ERR_NOT_PERMITTED",
    "ERR_IN_PROGRESS",
    "ERR_ALREADY_CONNECTED",
    "ERR_NOT_CONNECTED",
    "ERR_DOES_NOT_EXIST",
    "ERR_INVALID_ARGS",
    "ERR_UNKNOWN_OBJECT",
    "ERR_UNKNOWN_METHOD",
    "CONTROL_NAME",
    "CONTROL_PATH",
    "CONTROL_INTERFACE",
]

BLUEZ = "org.bluez"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
PROPERTIES = "org.freedesktop.DBus.Properties"
INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"
ADAPTER = "org.bluez.Adapter1"
DEVICE = "org.bluez.Device1"
GATT_SERVICE = "org.bluez.GattService1"
GATT_CHARACTERISTIC = "org.bluez.GattCharacteristic1"
GATT_DESCRIPTOR = "org.bluez.GattDescriptor1"

#: Client Characteristic Configuration descriptor (Bluetooth Core Spec. Vol 3 Part G 3.3.3.3).
CCCD_UUID = "00002902-0000-1000-8000-00805f9b34fb"

ERR_FAILED = "org.bluez.Error.Failed"
ERR_NOT_READY = "org.bluez.Error.NotReady"
ERR_NOT_SUPPORTED = "org.bluez.Error.NotSupported"
ERR_NOT_PERMITTED = "org.bluez.Error.NotPermitted"
ERR_IN_PROGRESS = "org.bluez.Error.InProgress"
ERR_ALREADY_CONNECTED = "org.bluez.Error.AlreadyConnected"
ERR_NOT_CONNECTED = "org.bluez.Error.NotConnected"
ERR_DOES_NOT_EXIST = "org.bluez.Error.DoesNotExist"
ERR_INVALID_ARGS = "org.bluez.Error.InvalidArguments"
ERR_UNKNOWN_OBJECT = "org.freedesktop.DBus.Error.UnknownObject"
ERR_UNKNOWN_METHOD = "org.freedesktop.DBus.Error.UnknownMethod"

#: The simulator's own control service. It lives on a separate bus connection, so it stays
#: reachable while the fake bluetoothd is "restarting".
CONTROL_NAME = "org.lmdetect.FirmwareSim"
CONTROL_PATH = "/org/lmdetect/FirmwareSim"
CONTROL_INTERFACE = "org.lmdetect.FirmwareSim1"
