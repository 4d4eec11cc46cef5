"""What a start that fails leaves running on the sensor.

A failed first start ends the night, so the session stops whatever the start got going (see
test_polar_h10.py for the Polar H10). A stream being continued after a reconnect on a sensor with a
ring buffer (the open profile) is left running instead: the next connection continues it, and the
ring fills the outage.
"""

from __future__ import annotations

import numpy as np

from firmware_sim.bluez import OpenProfilePeripheral
from firmware_sim.device import FirmwareConfig, SensorFirmware
from firmware_sim.faults import FaultPlan
from firmware_sim.sources import FunctionSource
from lmdetect import protocol
from lmdetect.io.native import read_lmr
from tests.collector.sim import ADDRESS, NAME, assert_matches_truth, leg, packet_seqs, record


class BrokenTimeSyncOnReconnect(OpenProfilePeripheral):
    """Answers the TIME_SYNC of the first reconnect's start with a reply one byte short."""

    def __init__(self, firmware: SensorFirmware):
        super().__init__(firmware, NAME, ADDRESS)
        self.commands: list[int] = []
        self.broken = False

    def _on_control_write(self, value: bytes) -> bytes:
        reply = super()._on_control_write(value)
        self.commands.append(value[0])
        if value[0] == protocol.Opcode.TIME_SYNC and self.firmware.stats["connects"] == 2 and not self.broken:
            self.broken = True
            return reply[:-1]
        return reply


def test_a_continued_stream_is_not_stopped_when_its_start_fails(tmp_path):
    fw = SensorFirmware(FunctionSource(leg), FirmwareConfig(), FaultPlan(drop_every_s=120.0, drop_for_s=10.0))
    per = BrokenTimeSyncOnReconnect(fw)
    out = tmp_path / "night.lmr"
    s = record([per], out, duration_s=300)
    assert per.broken and s.reconnects >= 2
    assert per.commands.count(protocol.Opcode.STOP) == 1  # the end of the night, nothing before
    rec = read_lmr(out)
    seqs = packet_seqs(rec)
    np.testing.assert_array_equal(seqs, np.arange(seqs.size))  # the outages were backfilled
    assert s.lost_packets == 0 and rec.gaps().empty
    assert_matches_truth(rec, fw)
