"""Controlling a virtual BlueZ that runs in another process (``python -m firmware_sim serve``).

The serving process exports :data:`~firmware_sim.bluez.names.CONTROL_INTERFACE` at
:data:`~firmware_sim.bluez.names.CONTROL_PATH` under the bus name
:data:`~firmware_sim.bluez.names.CONTROL_NAME`, on its own bus connection so it stays reachable
while the fake bluetoothd is away during a restart. Methods (durations in simulated seconds;
``device`` is a name or address, "" for the only device):

* ``DropLink(s device, d for_s)``: break the link now and keep it down ``for_s`` s;
* ``RestoreLink(s device)``: end a forced outage;
* ``SetAdvertising(s device, b on)``;
* ``RestartBluez(d down_s)``: the fake bluetoothd leaves the bus and returns ``down_s`` s later;
* ``Describe() -> s``: JSON with the clock (speed, and the host time of simulated time 0) and
  per-device statistics;
* ``Stop()``: end the serving process.

:class:`ControlClient` calls them from Python.
"""

import asyncio
import json
import logging
from typing import Any

from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusError
from dbus_fast.service import ServiceInterface, dbus_method

from lmdetect.errors import LmdetectError

from . import names as n
from .daemon import VirtualBlueZ

__all__ = ["ControlService", "ControlClient"]

log = logging.getLogger(__name__)

_ERR = "org.lmdetect.FirmwareSim.Error"


def _bus_kwargs(address: str | None) -> dict[str, Any]:
    return {"bus_address": address} if address else {"bus_type": BusType.SYSTEM}


class _ControlInterface(ServiceInterface):  # type: ignore[misc]
    def __init__(self, vbz: VirtualBlueZ, stop_event: asyncio.Event):
        super().__init__(n.CONTROL_INTERFACE)
        self._vbz = vbz
        self._stop = stop_event

    def _guard(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except LmdetectError as exc:
            raise DBusError(_ERR, str(exc)) from None

    @dbus_method()
    def DropLink(self, device: "s", for_s: "d") -> "":  # type: ignore[name-defined]  # noqa: F821, N802
        self._guard(self._vbz.drop_link, device or None, for_s)

    @dbus_method()
    def RestoreLink(self, device: "s") -> "":  # type: ignore[name-defined]  # noqa: F821, N802
        self._guard(self._vbz.restore_link, device or None)

    @dbus_method()
    def SetAdvertising(self, device: "s", on: "b") -> "":  # type: ignore[name-defined]  # noqa: F821, N802
        self._guard(self._vbz.set_advertising, on, device or None)

    @dbus_method()
    def RestartBluez(self, down_s: "d") -> "":  # type: ignore[name-defined]  # noqa: F821, N802
        asyncio.get_running_loop().create_task(self._vbz.restart_bluez(down_s))

    @dbus_method()
    def Describe(self) -> "s":  # type: ignore[name-defined]  # noqa: F821, N802
        return json.dumps(self._vbz.describe(), default=str)

    @dbus_method()
    def Stop(self) -> "":  # type: ignore[name-defined]  # noqa: F821, N802
        self._stop.set()


class ControlService:
    """Export the control interface of ``vbz`` on its own connection to the bus."""

    def __init__(self, vbz: VirtualBlueZ, bus_address: str | None = None):
        self.vbz = vbz
        self.bus_address = bus_address
        self.stop_requested = asyncio.Event()
        self._bus: MessageBus | None = None

    async def start(self) -> "ControlService":
        kw = _bus_kwargs(self.bus_address)
        self._bus = await MessageBus(**kw).connect()
        self._bus.export(n.CONTROL_PATH, _ControlInterface(self.vbz, self.stop_requested))
        await self._bus.request_name(n.CONTROL_NAME)
        return self

    async def stop(self) -> None:
        if self._bus is not None:
            self._bus.disconnect()
            self._bus = None


class ControlClient:
    """Calls the control interface of a serving process. Use ``async with``.

    Parameters
    ----------
    bus_address : str or None
        The private bus (``DBUS_SYSTEM_BUS_ADDRESS`` printed by ``serve``); None: the system bus
        address from the environment.
    """

    def __init__(self, bus_address: str | None = None):
        self.bus_address = bus_address
        self._bus: MessageBus | None = None

    async def __aenter__(self) -> "ControlClient":
        kw = _bus_kwargs(self.bus_address)
        self._bus = await MessageBus(**kw).connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._bus is not None:
            self._bus.disconnect()
            self._bus = None

    async def _call(self, member: str, signature: str = "", body: list[Any] | None = None) -> list[Any]:
        if self._bus is None:
            raise LmdetectError("ControlClient is not connected (use 'async with')")
        reply = await self._bus.call(
            Message(
                destination=n.CONTROL_NAME,
                path=n.CONTROL_PATH,
                interface=n.CONTROL_INTERFACE,
                member=member,
                signature=signature,
                body=body or [],
            )
        )
        if reply.message_type == MessageType.ERROR:
            text = reply.body[0] if reply.body else ""
            raise LmdetectError(f"firmware_sim control {member} failed: {reply.error_name}: {text}")
        return list(reply.body)

    async def drop_link(self, device: str = "", for_s: float = 0.0) -> None:
        await self._call("DropLink", "sd", [device, float(for_s)])

    async def restore_link(self, device: str = "") -> None:
        await self._call("RestoreLink", "s", [device])

    async def set_advertising(self, on: bool, device: str = "") -> None:
        await self._call("SetAdvertising", "sb", [device, bool(on)])

    async def restart_bluez(self, down_s: float) -> None:
        await self._call("RestartBluez", "d", [float(down_s)])

    async def describe(self) -> dict[str, Any]:
        (text,) = await self._call("Describe")
        return json.loads(text)  # type: ignore[no-any-return]

    async def stop(self) -> None:
        await self._call("Stop")
