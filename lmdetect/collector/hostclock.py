"""The host clock of the collector: receive timestamps and every timeout of the session.

Receive times come from the monotonic clock anchored once to the wall clock, so an NTP step
during the night cannot make host timestamps jump. ``speed`` runs the clock faster than real
time for accelerated simulations (a virtual sensor streaming a night at x60): all session
intervals (watchdog, backoff, resend retries, duration) are given in host seconds and are
waited for in ``host_s / speed`` wall seconds.
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["HostClock"]


class HostClock:
    """Host time in integer nanoseconds since the Unix epoch.

    Parameters
    ----------
    speed : float
        Host seconds per wall-clock second (1 for a real night).
    origin_ns : int or None
        Host time at the anchor; default: the wall clock now.
    anchor_monotonic_ns : int or None
        ``time.monotonic_ns()`` at which the clock reads ``origin_ns``; default: now. Giving both
        lets the clock share the time line of a simulator started earlier.
    """

    def __init__(
        self, *, speed: float = 1.0, origin_ns: int | None = None, anchor_monotonic_ns: int | None = None
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        self.speed = float(speed)
        self._mono0 = time.monotonic_ns() if anchor_monotonic_ns is None else int(anchor_monotonic_ns)
        self.origin_ns = time.time_ns() if origin_ns is None else int(origin_ns)

    def now_ns(self) -> int:
        """Host time now (ns since the Unix epoch)."""
        elapsed = time.monotonic_ns() - self._mono0
        if self.speed == 1.0:
            return self.origin_ns + elapsed
        return self.origin_ns + int(elapsed * self.speed)

    def now_s(self) -> float:
        return self.now_ns() / 1e9

    def wall_s(self, host_s: float) -> float:
        """Wall-clock seconds that ``host_s`` host seconds take."""
        return host_s / self.speed

    async def sleep(self, host_s: float) -> None:
        await asyncio.sleep(max(0.0, host_s) / self.speed)
