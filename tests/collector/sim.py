"""Helpers for collector tests: simulated devices on the in-memory radio, and ground-truth checks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np

from firmware_sim.bluez import OpenProfilePeripheral
from firmware_sim.device import FirmwareConfig, SensorFirmware
from firmware_sim.faults import FaultPlan
from firmware_sim.sources import FunctionSource
from lmdetect.adapters.open_profile import OpenProfileAdapter
from lmdetect.collector.hostclock import HostClock
from lmdetect.collector.link import LinkFaults, MemoryConnector, MemoryRadio
from lmdetect.collector.session import CollectorParams, NightPlan, RecordSession, SessionSummary
from lmdetect.model import Recording

NAME, ADDRESS = "LMD-ANKLE-01", "C0:FF:EE:00:00:01"

#: Fast timing for accelerated nights (host seconds; every wait is divided by the clock speed).
FAST = CollectorParams(
    watchdog_s=60.0,
    backoff_initial_s=1.0,
    backoff_max_s=8.0,
    resend_retry_s=3.0,
    final_backfill_s=30.0,
    scan_timeout_s=2.0,
    time_sync_interval_s=60.0,
    status_interval_s=0.05,
    flush_interval_s=0.2,
    fsync_interval_s=1.0,
)


def leg(t: np.ndarray) -> np.ndarray:
    """A slowly moving ankle (g): distinct values everywhere, so misplaced samples show."""
    return np.stack(
        [0.3 * np.sin(2 * np.pi * 0.05 * t), 0.2 * np.cos(2 * np.pi * 0.013 * t), 0.9 + 0.05 * np.sin(0.7 * t)], axis=1
    )


def open_device(
    *, name: str = NAME, address: str = ADDRESS, faults: FaultPlan | None = None, **config: Any
) -> OpenProfilePeripheral:
    fw = SensorFirmware(FunctionSource(leg), FirmwareConfig(**config), faults or FaultPlan())
    return OpenProfilePeripheral(fw, name, address)


async def record_async(
    radio: MemoryRadio,
    out: Path,
    *,
    device: str = NAME,
    duration_s: float | None,
    adapter: Any = None,
    params: CollectorParams = FAST,
    side: str | None = None,
    statuses: list | None = None,
) -> SessionSummary:
    session = RecordSession(
        NightPlan(device, out, duration_s=duration_s, side=side),
        adapter or OpenProfileAdapter(),
        MemoryConnector(radio),
        params=params,
        clock=radio.clock,
        on_status=None if statuses is None else statuses.append,
    )
    return await session.run()


def record(
    peripherals: list,
    out: Path,
    *,
    speed: float = 300.0,
    faults: LinkFaults | None = None,
    **kw: Any,
) -> SessionSummary:
    async def go() -> SessionSummary:
        async with MemoryRadio(peripherals, HostClock(speed=speed), faults=faults) as radio:
            return await record_async(radio, out, **kw)

    return asyncio.run(go())


def sample_ticks(rec: Recording) -> np.ndarray:
    tick_hz = float(rec.meta["lmr.tick_hz"])
    return int(rec.meta["lmr.first_tick"]) + np.rint(rec.time_s * tick_hz).astype(np.int64)


def assert_matches_truth(rec: Recording, fw: SensorFirmware) -> None:
    """Every sample in the file is what the sensor measured at that sample's tick."""
    t = fw.true_time_s(sample_ticks(rec).astype(np.float64)) - fw.source_origin_s
    want = np.rint(leg(t) * (32768 / rec.range_g)) * (rec.range_g / 32768)
    np.testing.assert_allclose(rec.accel_g, want, atol=1.5 * rec.range_g / 32768)


def packet_seqs(rec: Recording) -> np.ndarray:
    return np.unique(rec.seq)
