"""The Polar H10 recorded end to end with the control-point replies Polar documents.

Polar's protocol documents (polar-ble-sdk, technical_documentation/Polar_Measurement_Data_Specification.pdf,
2019, and online_measurement.pdf, 2024) show the H10 answering the ACC start with
``F0 02 02 00 00 01``: a reserved byte where settings could be. The simulated H10 answers so
(tests/firmware_sim/test_device_pmd.py checks its replies byte for byte); here the collector
records a night from it, through the in-memory radio and through bleak on the virtual BlueZ, and a
start that fails half way still stops the sensor's stream.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from firmware_sim.bluez import PolarPeripheral, PolarPmdFirmware
from firmware_sim.faults import FaultPlan
from firmware_sim.sources import FunctionSource
from lmdetect.adapters.polar import PolarAdapter
from lmdetect.errors import ProtocolError
from lmdetect.io.native import read_lmr
from tests.collector.sim import FAST, leg, record, sample_ticks

NAME, ADDRESS = "Polar H10 0A1B2C3D", "A0:9E:1A:00:00:01"
H10_START_REPLY = "F0 02 02 00 00 01"  # both documents
H10_ACC_SETTINGS = "F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00"
ACC_STOP, ACC_STOP_REPLY = "03 02", "F0 03 02 00 00"


class LoggingH10(PolarPeripheral):
    """The simulated H10, keeping every control-point request and its reply (hex)."""

    def __init__(self, firmware: PolarPmdFirmware, start_reply: bytes | None = None):
        super().__init__(firmware, NAME, ADDRESS)
        self.exchanges: list[tuple[str, str]] = []
        self.start_reply = start_reply

    def _on_control_write(self, value: bytes) -> bytes:
        reply = super()._on_control_write(value)
        if self.start_reply is not None and value[:2] == b"\x02\x02" and reply[3] == 0:
            reply = self.start_reply  # the stream did start; only the reply is broken
        self.exchanges.append((bytes(value).hex(" ").upper(), reply.hex(" ").upper()))
        return reply


def h10(faults: FaultPlan | None = None, start_reply: bytes | None = None) -> LoggingH10:
    fw = PolarPmdFirmware(FunctionSource(leg), model="h10", faults=faults or FaultPlan(drift_ppm=25.0))
    return LoggingH10(fw, start_reply)


def assert_is_the_source(rec, fw: PolarPmdFirmware) -> None:
    t = fw.true_time_s(sample_ticks(rec)) - fw.source_origin_s
    np.testing.assert_allclose(rec.accel_g, np.rint(leg(t) * 1000) / 1000, atol=0.0011)


@pytest.mark.parametrize("hours", [1, pytest.param(8, marks=pytest.mark.slow)])
def test_an_h10_night_records_with_the_documented_replies(tmp_path, hours):
    per = h10()
    out = tmp_path / "h10.lmr"
    # no faults: a watchdog of 10 simulated minutes (1 s of wall time) keeps a loaded machine's
    # scheduling pauses from reading as a silent sensor
    params = FAST.replace(watchdog_s=600.0)
    s = record([per], out, speed=600, device=NAME, duration_s=hours * 3600, adapter=PolarAdapter(rate_hz=50), params=params)
    assert s.watchdog_trips == 0 and s.reconnects == 0
    rec = read_lmr(out)
    start_request = "02 02 00 01 32 00 01 01 10 00 02 01 08 00"  # 50 Hz, 16 bit, 8 g
    assert per.exchanges == [("01 02", H10_ACC_SETTINGS), (start_request, H10_START_REPLY), (ACC_STOP, ACC_STOP_REPLY)]
    assert rec.fs == 50.0 and rec.range_g == 8.0 and rec.meta["sensor"] == "Polar H10"
    assert rec.duration_s == pytest.approx(hours * 3600, abs=1.0) and rec.gaps().empty
    assert rec.n_samples == pytest.approx(hours * 3600 * 50, abs=50)
    assert s.garbage == 0 and s.implausible == 0 and s.lost_samples == 0
    assert_is_the_source(rec, per.firmware)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (bytes.fromhex("F0 02 02 00 00 05 01 00 00 C0 7F"), "factor nan"),  # a NaN factor
        (bytes.fromhex("F0 02 02 00 00 07 01 00"), "unknown PMD setting type 7"),
        (bytes.fromhex("F0 02 02 00 00 00 04 19 00"), "sample_rate truncated"),
    ],
)
def test_a_start_that_fails_after_the_stream_started_still_stops_it(tmp_path, reply, message):
    per = h10(start_reply=reply)
    out = tmp_path / "h10.lmr"
    with pytest.raises(ProtocolError, match=message):
        record([per], out, speed=100, device=NAME, duration_s=60, adapter=PolarAdapter(rate_hz=50))
    requests = [req for req, _ in per.exchanges]
    assert requests[-2:] == ["02 02 00 01 32 00 01 01 10 00 02 01 08 00", ACC_STOP]
    assert not per.firmware.streaming and not out.exists()


def test_an_impossible_settings_list_is_refused_before_any_start(tmp_path):
    class ZeroHz(LoggingH10):
        def _on_control_write(self, value: bytes) -> bytes:
            if value == b"\x01\x02":  # lists 0 Hz among the rates
                reply = bytes.fromhex("F0 01 02 00 00 00 02") + struct.pack("<2H", 0, 50)
                self.exchanges.append(("01 02", reply.hex(" ").upper()))
                return reply
            return super()._on_control_write(value)

    per = ZeroHz(PolarPmdFirmware(FunctionSource(leg), model="h10"))
    with pytest.raises(ProtocolError, match="impossible ACC sample rate of 0 Hz"):
        record([per], tmp_path / "h10.lmr", speed=100, device=NAME, duration_s=60, adapter=PolarAdapter(rate_hz=50))
    assert [req for req, _ in per.exchanges] == ["01 02", ACC_STOP] and per.firmware.stats["frames"] == 0


@pytest.mark.ble
@pytest.mark.slow
async def test_an_h10_night_through_bleak_and_the_virtual_bluez(virtual_bluez, tmp_path):
    pytest.importorskip("bleak")
    from tests.collector.test_ble_e2e import collect

    # one 40-s outage: PMD cannot resend, so it is one gap, and the stream is started again
    per = h10(FaultPlan(drift_ppm=25.0, outages=((1800.0, 40.0),)))
    vbz = await virtual_bluez([per], speed=60)
    out = tmp_path / "h10.lmr"
    s = await collect(vbz, out, duration_s=3600, adapter=PolarAdapter(rate_hz=50), device=ADDRESS)
    rec = read_lmr(out)
    starts = [reply for req, reply in per.exchanges if req.startswith("02 02")]
    assert starts == [H10_START_REPLY, H10_START_REPLY] and per.exchanges[-1] == (ACC_STOP, ACC_STOP_REPLY)
    assert rec.duration_s == pytest.approx(3600, abs=1.5) and s.reconnects >= 1
    [gap] = rec.gaps(min_gap_s=1.0).itertuples()
    origin = per.firmware.source_origin_s  # simulated time of the first start (after the scan)
    assert gap.onset_s == pytest.approx(1800 - origin, abs=5) and 40 <= gap.duration_s <= 60
    assert s.garbage == 0 and s.implausible == 0 and s.lost_samples == pytest.approx(gap.n_missing, abs=2)
    assert rec.n_samples == pytest.approx(3600 * 50 - gap.n_missing, abs=60)
    assert_is_the_source(rec, per.firmware)
