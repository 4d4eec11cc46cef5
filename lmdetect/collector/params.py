"""What to record and with which timing: :class:`NightPlan` and :class:`CollectorParams`.

Intervals are *host* seconds of the session's :class:`~lmdetect.collector.hostclock.HostClock`
(the wall clock, or a faster one for accelerated simulations), except ``scan_timeout_s``,
``status_interval_s`` and the file writer's intervals, which are wall-clock seconds.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .._params import Params, check_nonnegative, check_positive
from ..errors import ConfigError

__all__ = ["CollectorParams", "NightPlan"]


@dataclasses.dataclass(frozen=True)
class CollectorParams(Params):
    """Timing of the collector (see the module docstring for host vs wall seconds).

    Parameters
    ----------
    scan_timeout_s : float
        Wall seconds one scan looks for the device.
    watchdog_s : float
        Host seconds without any notification after which the link is considered dead.
    backoff_initial_s, backoff_max_s : float
        First and largest pause between reconnection attempts (doubling in between).
    resend_retry_s : float
        Pause before a hole that was requested but not filled is requested again.
    resend_max_attempts : int
        Requests per hole before its packets are declared lost.
    final_backfill_s : float
        At the end of the night, how long to wait for outstanding holes to be filled.
    battery_interval_s : float
        How often to read the battery level.
    time_sync_interval_s : float
        How often to read the sensor clock by a request/reply exchange (sensors that support it).
    status_interval_s : float
        Wall seconds between status updates.
    first_connect_attempts : int
        Connection attempts (after the device was found) before the first connection gives up.
    queue_packets : int
        Notifications buffered between the callback and the writer task.
    flush_interval_s, fsync_interval_s : float
        Passed to :class:`~lmdetect.io.native.LmrWriter` (wall seconds).
    memory_buffer_samples : int
        Samples held in memory while writes fail (a full disk); beyond it, further packets are
        left in the sensor's ring buffer and requested when writing works again. The default,
        about 5.5 h at 50 Hz, takes some 30 MB.
    """

    scan_timeout_s: float = 20.0
    watchdog_s: float = 10.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    resend_retry_s: float = 3.0
    resend_max_attempts: int = 5
    final_backfill_s: float = 10.0
    battery_interval_s: float = 300.0
    time_sync_interval_s: float = 60.0
    status_interval_s: float = 1.0
    first_connect_attempts: int = 3
    queue_packets: int = 200_000
    flush_interval_s: float = 1.0
    fsync_interval_s: float = 10.0
    memory_buffer_samples: int = 1_000_000

    def __post_init__(self) -> None:
        for name in (
            "scan_timeout_s",
            "watchdog_s",
            "backoff_initial_s",
            "backoff_max_s",
            "resend_retry_s",
            "battery_interval_s",
            "time_sync_interval_s",
            "status_interval_s",
            "flush_interval_s",
            "fsync_interval_s",
        ):
            check_positive(name, getattr(self, name))
        check_nonnegative("final_backfill_s", self.final_backfill_s)
        for name in ("resend_max_attempts", "first_connect_attempts", "queue_packets", "memory_buffer_samples"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        if self.backoff_max_s < self.backoff_initial_s:
            raise ConfigError("backoff_max_s must be >= backoff_initial_s")


@dataclasses.dataclass(frozen=True)
class NightPlan:
    """What to record: the device, the file, and for how long.

    Parameters
    ----------
    device : str
        Exact advertised name or address of the sensor.
    out : path
        The ``.lmr`` file; an existing one is continued (same device required).
    duration_s : float or None
        Length of the night in host seconds, counted from the start of the file (so a restarted
        collector ends at the same time); None records until stopped.
    side : str or None
        Ankle (left/right/both/unknown); None keeps the file's, or "unknown" for a new file.
    """

    device: str
    out: Path
    duration_s: float | None = None
    side: str | None = None
