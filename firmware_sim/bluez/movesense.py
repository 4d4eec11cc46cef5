"""A Movesense-like peripheral: the GSP service (see :mod:`firmware_sim.bluez.gsp`) plus battery and
device information, so the collector's Movesense control flow runs end to end on the virtual BlueZ.
"""

from __future__ import annotations

import re

from lmdetect.errors import ConfigError

from .gatt import Characteristic, Service
from .gsp import GSP_NOTIFY_UUID, GSP_SERVICE_UUID, GSP_WRITE_UUID, MovesenseGspFirmware
from .peripheral import Notification, Peripheral, battery_service, device_info_service

__all__ = ["MovesensePeripheral", "SUUNTO_COMPANY_ID"]

#: Suunto Oy's Bluetooth SIG company identifier (Assigned Numbers, company identifiers), which
#: Movesense sensors put in their manufacturer data.
SUUNTO_COMPANY_ID = 0x009F

#: Movesense sensors advertise as "Movesense" followed by their 12-digit serial number.
_NAME = re.compile(r"^Movesense (\d{12})$")


class MovesensePeripheral(Peripheral):
    """A :class:`MovesenseGspFirmware` behind a Movesense-like GATT table.

    The device is a simulation and says so in its Device Information strings; only the GSP
    protocol and the advertised name pattern ("Movesense <12-digit serial>") follow the real
    sensors.
    """

    kind = "Movesense-like GSP"

    def __init__(self, firmware: MovesenseGspFirmware, name: str, address: str, *, rssi: int = -64):
        m = _NAME.match(name)
        if m is None:
            raise ConfigError(f"a Movesense name is 'Movesense' and a 12-digit serial number, got {name!r}")
        self.firmware = firmware
        self.serial = m.group(1)
        self._pending: list[Notification] = []
        self._battery_pct = 88
        super().__init__(name, address, faults=firmware.faults, rssi=rssi)
        self.manufacturer_data = {SUUNTO_COMPANY_ID: b"\x00"}
        self.data_char = self.characteristic(GSP_NOTIFY_UUID)

    def build_services(self) -> list[Service]:
        fw = self.firmware
        return [
            Service(
                GSP_SERVICE_UUID,
                [
                    Characteristic(GSP_WRITE_UUID, ("write",), on_write=self._on_command),
                    Characteristic(GSP_NOTIFY_UUID, ("notify",), on_subscribe=fw.set_notifying),
                ],
            ),
            battery_service(lambda: self._battery_pct),
            device_info_service("firmware_sim (Movesense-like)", "Movesense (simulated)", "sim-gsp-1", self.serial),
        ]

    def _on_command(self, value: bytes) -> None:
        # data that fell due before the command go out first; results go out on the notify
        # characteristic (not as a reply to the write), in order with the data
        self._pending.extend((self.data_char, n) for n in self.firmware.advance(self._now()))
        self._pending.extend((self.data_char, n) for n in self.firmware.handle_command(value))
        return None

    def on_connect(self, now_s: float) -> None:
        self.firmware.advance(now_s)
        self.firmware.on_connect()

    def on_disconnect(self, now_s: float) -> None:
        self._pending.clear()
        self.firmware.on_disconnect(now_s)  # samples up to the drop were taken, never delivered

    def poll(self, now_s: float) -> list[Notification]:
        out, self._pending = self._pending, []
        out.extend((self.data_char, n) for n in self.firmware.advance(now_s))
        return out

    def stats(self) -> dict[str, object]:
        fw = self.firmware
        return {**fw.stats, "streaming": fw.streaming, "rate_hz": fw.rate_hz, "range_g": fw.range_g}
