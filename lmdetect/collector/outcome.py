"""What a session reports: :class:`SessionStatus` while it runs, :class:`SessionSummary` at the end."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .gaps import LostRange
from .timesync import ClockFit

__all__ = ["SessionStatus", "SessionSummary"]


@dataclasses.dataclass(frozen=True)
class SessionStatus:
    """A snapshot for the live status line."""

    state: str
    elapsed_s: float
    duration_s: float | None
    samples: int
    rate_hz: float
    missing_packets: int
    lost_packets: int
    lost_samples: int
    backfilled_samples: int
    rejected: int
    battery_pct: int | None
    rssi_dbm: int | None
    drift_ppm: float | None
    reconnects: int


@dataclasses.dataclass(frozen=True)
class SessionSummary:
    """The outcome of a session (also logged at the end)."""

    out: Path
    appended: bool
    samples: int
    backfilled_samples: int
    lost_packets: int
    lost_samples: int
    lost: tuple[LostRange, ...]
    duplicates: int
    implausible: int
    garbage: int
    queue_overflows: int
    reconnects: int
    watchdog_trips: int
    clock: ClockFit | None
    stopped_by: str

    def describe(self) -> dict[str, object]:
        return {
            "out": str(self.out),
            "appended": self.appended,
            "samples": self.samples,
            "backfilled_samples": self.backfilled_samples,
            "lost_packets": self.lost_packets,
            "lost_samples": self.lost_samples,
            "duplicates": self.duplicates,
            "implausible": self.implausible,
            "garbage": self.garbage,
            "queue_overflows": self.queue_overflows,
            "reconnects": self.reconnects,
            "watchdog_trips": self.watchdog_trips,
            "drift_ppm": None if self.clock is None else round(self.clock.drift_ppm, 3),
            "stopped_by": self.stopped_by,
        }
