"""Fixtures for end-to-end BLE tests through bleak's real BlueZ backend, without hardware.

Register in tests/conftest.py with ``pytest_plugins = ["ble_fixtures"]`` (or import the fixtures
into a test module). What they give:

* ``private_system_bus`` (session): a private dbus-daemon, with ``DBUS_SYSTEM_BUS_ADDRESS``
  pointing at it for the whole run. It is started once per process
  (:func:`firmware_sim.bluez.private_bus.shared_private_bus`), before bleak first touches the
  bus, and shared by every module that uses it, however the module was imported. Tests are skipped, with the reason, when
  ``dbus-daemon`` is not installed.
* ``virtual_bluez`` (function, async): a factory ``await virtual_bluez(peripherals, speed=60)``
  returning a started :class:`firmware_sim.bluez.VirtualBlueZ`; stopped after the test.
* ``open_peripheral(...)``: a plain helper building the open-profile device around a
  :class:`~firmware_sim.device.SensorFirmware`.

Mark such tests ``@pytest.mark.ble``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any

import pytest
import pytest_asyncio

from firmware_sim.bluez import OpenProfilePeripheral, Peripheral, PrivateBus, VirtualBlueZ, dbus_daemon_path
from firmware_sim.bluez.private_bus import shared_private_bus
from firmware_sim.device import FirmwareConfig, SensorFirmware
from firmware_sim.faults import FaultPlan
from firmware_sim.sources import ConstantSource, SampleSource

__all__ = ["private_system_bus", "virtual_bluez", "open_peripheral", "NAME", "ADDRESS"]

NAME = "LMD-ANKLE-01"
ADDRESS = "C0:FF:EE:00:00:01"


@pytest.fixture(scope="session")
def private_system_bus() -> Iterator[PrivateBus]:
    if dbus_daemon_path() is None:
        pytest.skip("the BLE end-to-end tests need dbus-daemon (apt-get install dbus-daemon)")
    yield shared_private_bus()


@pytest_asyncio.fixture
async def virtual_bluez(
    private_system_bus: PrivateBus,
) -> AsyncIterator[Callable[..., Awaitable[VirtualBlueZ]]]:
    started: list[VirtualBlueZ] = []

    async def make(peripherals: Sequence[Peripheral], **kwargs: Any) -> VirtualBlueZ:
        vbz = VirtualBlueZ(peripherals, bus_address=private_system_bus.address, **kwargs)
        await vbz.start()
        started.append(vbz)
        return vbz

    yield make
    for vbz in reversed(started):
        await vbz.stop()
    _close_bleak_manager()


def _close_bleak_manager() -> None:
    """Close bleak's per-event-loop BlueZ manager now, not at interpreter exit.

    bleak keeps one manager (with a bus connection) per event loop and only cleans up those of
    closed loops when a new one is made; the last one would be garbage-collected with an open
    socket, which pytest reports as an unraisable ResourceWarning.
    """
    try:
        from bleak.backends.bluezdbus import manager
    except ImportError:
        return
    instances = getattr(manager, "_global_instances", {})
    inst = instances.pop(asyncio.get_running_loop(), None)
    bus = getattr(inst, "_bus", None)
    if bus is not None:
        with contextlib.suppress(Exception):
            bus.disconnect()


def open_peripheral(
    source: SampleSource | None = None,
    *,
    name: str = NAME,
    address: str = ADDRESS,
    faults: FaultPlan | None = None,
    **config: Any,
) -> OpenProfilePeripheral:
    """The open-profile device around a fresh firmware (``config`` goes to FirmwareConfig)."""
    fw = SensorFirmware(source or ConstantSource(), FirmwareConfig(**config), faults)
    return OpenProfilePeripheral(fw, name, address)
