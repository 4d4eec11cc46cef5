"""The reference firmware (:class:`~firmware_sim.device.SensorFirmware`) as a BLE peripheral.

GATT table (docs/profile.md):

* the ankle-sensor service: data (notify), control (write, indicate; read returns the last reply),
  info (read);
* Battery Service 0x180F: Battery Level 0x2A19 (read, notify);
* Device Information Service 0x180A: manufacturer, model, serial number, firmware revision.
"""

from __future__ import annotations

from lmdetect import protocol as p

from ..device import SensorFirmware
from .gatt import Characteristic, Service
from .peripheral import Notification, Peripheral, battery_service, device_info_service

__all__ = ["OpenProfilePeripheral"]


class OpenProfilePeripheral(Peripheral):
    """A :class:`SensorFirmware` behind the open profile's GATT table.

    The firmware's fault plan also drives the link (drops and outages).
    """

    kind = f"open profile v{p.PROFILE_VERSION}"

    def __init__(self, firmware: SensorFirmware, name: str, address: str, *, rssi: int = -60):
        self.firmware = firmware
        self._battery_notify = False
        self._battery_sent: int | None = None
        self._pending: list[Notification] = []
        super().__init__(name, address, faults=firmware.faults, rssi=rssi)
        # company id 0xFFFF is reserved for tests and internal use (Bluetooth Assigned Numbers 7)
        self.manufacturer_data = {0xFFFF: bytes([p.PROFILE_VERSION]) + b"LMD"}
        self.data_char = self.characteristic(p.DATA_UUID)
        self.control_char = self.characteristic(p.CONTROL_UUID)
        self.battery_char = self.characteristic(p.BATTERY_LEVEL_UUID)

    def build_services(self) -> list[Service]:
        fw = self.firmware
        cfg = fw.config
        return [
            Service(
                p.SERVICE_UUID,
                [
                    Characteristic(p.DATA_UUID, ("notify",), on_subscribe=fw.set_notifying),
                    Characteristic(
                        p.CONTROL_UUID,
                        ("read", "write", "indicate"),
                        on_read=lambda: fw.last_reply,
                        on_write=self._on_control_write,
                    ),
                    Characteristic(p.INFO_UUID, ("read",), on_read=fw.info_bytes),
                ],
            ),
            battery_service(lambda: fw.battery_pct, on_subscribe=self._on_battery_subscribe),
            device_info_service(cfg.manufacturer, cfg.model, cfg.firmware_revision, cfg.serial),
        ]

    @property
    def powered(self) -> bool:
        return self.firmware.powered

    def _on_control_write(self, value: bytes) -> bytes:
        # bring the firmware to "now" first, so TIME_SYNC reports the tick at the moment of the
        # write; packets that fell due meanwhile go out before anything the command causes
        self._pending.extend((self.data_char, b) for b in self.firmware.advance(self._now()))
        return self.firmware.handle_command(value)

    def _on_battery_subscribe(self, on: bool) -> None:
        self._battery_notify = on
        self._battery_sent = self.firmware.battery_pct if on else None

    def on_connect(self, now_s: float) -> None:
        self._pending.extend((self.data_char, b) for b in self.firmware.advance(now_s))
        self.firmware.on_connect()

    def on_disconnect(self, now_s: float) -> None:
        self._pending.clear()
        self.firmware.on_disconnect()
        self.firmware.advance(now_s)  # samples up to the drop were taken: into the ring only
        self._battery_notify = False

    def poll(self, now_s: float) -> list[Notification]:
        out, self._pending = self._pending, []
        out.extend((self.data_char, b) for b in self.firmware.advance(now_s))
        level = self.firmware.battery_pct
        if self._battery_notify and level != self._battery_sent:
            self._battery_sent = level
            out.append((self.battery_char, bytes([level])))
        return out

    def stats(self) -> dict[str, object]:
        fw = self.firmware
        return {
            **dict(fw.stats),
            "streaming": fw.streaming,
            "next_seq": fw.next_seq,
            "oldest_seq": fw.oldest_seq,
            "battery_pct": fw.battery_pct,
            "now_s": fw.now_s,
        }
