"""A Polar-like peripheral: the PMD service (see :mod:`firmware_sim.bluez.pmd`) plus battery and
device information, so the collector's Polar control flow runs end to end on the virtual BlueZ.
"""

from __future__ import annotations

from .gatt import Characteristic, Service
from .peripheral import Notification, Peripheral, battery_service, device_info_service
from .pmd import PMD_CONTROL_UUID, PMD_DATA_UUID, PMD_SERVICE_UUID, PolarPmdFirmware

__all__ = ["PolarPeripheral"]

#: Polar Electro Oy's Bluetooth SIG company identifier (Assigned Numbers, company identifiers).
POLAR_COMPANY_ID = 0x006B


class PolarPeripheral(Peripheral):
    """A :class:`PolarPmdFirmware` behind a Polar-like GATT table.

    The device is a simulation and says so in its Device Information strings; only the PMD
    protocol and the advertised name pattern ("Polar <model> <id>") follow the real sensors.
    """

    kind = "Polar-like PMD"

    def __init__(self, firmware: PolarPmdFirmware, name: str, address: str, *, rssi: int = -62):
        self.firmware = firmware
        self._pending: list[Notification] = []
        self._battery_pct = 90
        super().__init__(name, address, faults=firmware.faults, rssi=rssi)
        self.manufacturer_data = {POLAR_COMPANY_ID: b"\x00"}
        self.data_char = self.characteristic(PMD_DATA_UUID)

    def build_services(self) -> list[Service]:
        fw = self.firmware
        return [
            Service(
                PMD_SERVICE_UUID,
                [
                    Characteristic(
                        PMD_CONTROL_UUID,
                        ("read", "write", "indicate"),
                        on_read=fw.features,
                        on_write=self._on_control_write,
                    ),
                    Characteristic(PMD_DATA_UUID, ("notify",), on_subscribe=fw.set_notifying),
                ],
            ),
            battery_service(lambda: self._battery_pct),
            device_info_service("firmware_sim (Polar-like)", fw.model.name, "sim-pmd-1"),
        ]

    def _on_control_write(self, value: bytes) -> bytes:
        self._pending.extend((self.data_char, f) for f in self.firmware.advance(self._now()))
        return self.firmware.handle_control(value)

    def on_connect(self, now_s: float) -> None:
        self.firmware.advance(now_s)
        self.firmware.on_connect()

    def on_disconnect(self, now_s: float) -> None:
        self._pending.clear()
        self.firmware.on_disconnect()
        self.firmware.advance(now_s)

    def poll(self, now_s: float) -> list[Notification]:
        out, self._pending = self._pending, []
        out.extend((self.data_char, f) for f in self.firmware.advance(now_s))
        return out

    def stats(self) -> dict[str, object]:
        fw = self.firmware
        return {**fw.stats, "streaming": fw.streaming, "rate_hz": fw.rate_hz, "range_g": fw.range_g}
