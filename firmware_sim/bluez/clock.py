"""Simulated time for the virtual peripherals: a fixed linear map from the host's clocks.

``sim = sim_start + (wall - wall_start) * speed``. The map never jumps (a late pacing tick just
emits a little later), so the true time of any sample can be converted to the host's
``time.time()`` or ``time.monotonic()`` exactly, which is what a test of the collector's
timestamps needs at an accelerated speed.
"""

from __future__ import annotations

import time

from lmdetect.errors import ConfigError

__all__ = ["SimClock"]


class SimClock:
    """Simulated seconds, running ``speed`` times faster than the host clock.

    Parameters
    ----------
    speed : float
        Simulated seconds per wall-clock second (1 = real time, 60 = an hour per minute).
    start_s : float
        Simulated time at :meth:`start`.
    """

    def __init__(self, speed: float = 1.0, start_s: float = 0.0):
        if not (isinstance(speed, (int, float)) and 0 < speed <= 1e5):
            raise ConfigError(f"speed must be within (0, 100000], got {speed!r}")
        self.speed = float(speed)
        self.start_s = float(start_s)
        self.mono0: float | None = None
        self.unix0: float | None = None

    def start(self) -> None:
        """Fix the map: simulated ``start_s`` is now."""
        self.unix0 = time.time()
        self.mono0 = time.monotonic()

    @property
    def started(self) -> bool:
        return self.mono0 is not None

    def now(self) -> float:
        """Current simulated time in seconds."""
        return self.from_monotonic(time.monotonic())

    def from_monotonic(self, mono_s: float) -> float:
        if self.mono0 is None:
            return self.start_s
        return self.start_s + (mono_s - self.mono0) * self.speed

    def from_unix(self, unix_s: float) -> float:
        """Simulated time at host ``time.time()`` value ``unix_s``."""
        if self.unix0 is None:
            return self.start_s
        return self.start_s + (unix_s - self.unix0) * self.speed

    def to_unix(self, sim_s: float) -> float:
        """Host ``time.time()`` value at simulated time ``sim_s``."""
        if self.unix0 is None:
            raise ConfigError("the simulated clock has not been started")
        return self.unix0 + (sim_s - self.start_s) / self.speed

    def to_monotonic(self, sim_s: float) -> float:
        if self.mono0 is None:
            raise ConfigError("the simulated clock has not been started")
        return self.mono0 + (sim_s - self.start_s) / self.speed

    def wall_s(self, sim_duration_s: float) -> float:
        """Wall-clock seconds that ``sim_duration_s`` simulated seconds take."""
        return sim_duration_s / self.speed

    def describe(self) -> dict[str, float]:
        return {
            "speed": self.speed,
            "sim_start_s": self.start_s,
            "unix_at_sim_start": float(self.unix0 or 0.0),
            "sim_now_s": self.now(),
        }
