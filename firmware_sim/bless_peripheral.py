"""Serve a simulated peripheral on a real Bluetooth adapter with bless (a GATT server for BlueZ).

This runs the same :class:`~firmware_sim.bluez.peripheral.Peripheral` the virtual BlueZ serves
(the reference firmware of the open profile, or the Polar-like device) on real hardware, so a
collector can be tried over the air without a sensor. bless registers a GATT application and an
advertisement with the local bluetoothd (``GattManager1.RegisterApplication``,
``LEAdvertisingManager1.RegisterAdvertisement``).

Requirements (not needed for the test suite): ``pip install bless`` (Linux: it uses dbus-next),
a running bluetoothd, and an adapter that supports the LE peripheral role. The central must use a
*different* controller (a second USB dongle, or another machine): a controller cannot connect to
itself. See docs/virtual-bluez.md, "Real radio".

Limits: bless's Linux backend does not report which centrals enabled notifications, so the
firmware treats notifications as enabled while a central is connected; bless advertises only the
first service UUID.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from lmdetect.errors import LmdetectError

from .bluez.clock import SimClock
from .bluez.gatt import GattError
from .bluez.names import CCCD_UUID
from .bluez.peripheral import Peripheral

__all__ = ["serve_bless"]

log = logging.getLogger(__name__)


def _import_bless() -> Any:
    try:
        import bless
    except ImportError as exc:
        raise LmdetectError("serving on a real radio needs bless: pip install bless") from exc
    return bless


async def serve_bless(
    peripheral: Peripheral,
    *,
    adapter: str | None = None,
    speed: float = 1.0,
    tick_s: float = 0.01,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve ``peripheral`` with bless until ``stop`` is set (or SIGINT/SIGTERM)."""
    bless = _import_bless()
    props = bless.GATTCharacteristicProperties
    perms = bless.GATTAttributePermissions
    loop = asyncio.get_running_loop()
    clock = SimClock(speed)
    clock.start()
    peripheral.attach_clock(clock.now)
    kwargs: dict[str, Any] = {"name": peripheral.name, "loop": loop}
    if adapter:
        kwargs["adapter"] = adapter
    server = bless.BlessServer(**kwargs)
    chars = {ch.uuid: (svc.uuid, ch) for svc in peripheral.services for ch in svc.characteristics}

    def on_read(characteristic: Any, **_: Any) -> bytearray:
        _svc, ch = chars[str(characteristic.uuid).lower()]
        try:
            return bytearray(ch.read())
        except GattError as exc:
            log.warning("read of %s refused: %s", ch.uuid, exc)
            return bytearray()

    def on_write(characteristic: Any, value: Any, **_: Any) -> None:
        svc_uuid, ch = chars[str(characteristic.uuid).lower()]
        try:
            reply = ch.write(bytes(value))
        except GattError as exc:
            log.warning("write to %s refused: %s", ch.uuid, exc)
            return
        if reply is not None:
            _send(svc_uuid, ch.uuid, reply)

    def _send(svc_uuid: str, char_uuid: str, value: bytes) -> None:
        target = server.get_characteristic(char_uuid)
        target.value = bytearray(value)
        server.update_value(svc_uuid, char_uuid)

    server.read_request_func = on_read
    server.write_request_func = on_write
    for svc in peripheral.services:
        await server.add_new_service(svc.uuid)
        for ch in svc.characteristics:
            flags = 0
            for name, flag in (
                ("read", props.read),
                ("write", props.write),
                ("write-without-response", props.write_without_response),
                ("notify", props.notify),
                ("indicate", props.indicate),
            ):
                if name in ch.flags:
                    flags |= flag
            permissions = perms.readable | (perms.writeable if "write" in ch.flags else 0)
            value = bytearray(ch.value) if ch.value else None
            await server.add_new_characteristic(svc.uuid, ch.uuid, flags, value, permissions)
            for desc in ch.descriptors:
                if desc.uuid != CCCD_UUID:  # bluetoothd adds the CCCD itself
                    log.debug("descriptor %s of %s is not served over bless", desc.uuid, ch.uuid)

    stop = stop or asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await server.start()
    print(f"advertising {peripheral.name} ({peripheral.kind}) with bless; Ctrl-C to stop", flush=True)
    connected = False
    try:
        while not stop.is_set():
            now = clock.now()
            is_conn = bool(await server.is_connected())
            if is_conn and not connected:
                peripheral.on_connect(now)
                for _svc_uuid, ch in chars.values():
                    if ch.notifies and ch.on_subscribe is not None:
                        ch.on_subscribe(True)  # bless cannot tell who subscribed
            elif connected and not is_conn:
                peripheral.on_disconnect(now)
            connected = is_conn
            for ch, value in peripheral.poll(now):
                _send(chars[ch.uuid][0], ch.uuid, value)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), tick_s)
    finally:
        await server.stop()
