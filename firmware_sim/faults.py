"""Fault injection for the reference firmware and the virtual BlueZ.

A :class:`FaultPlan` describes, in *simulated* seconds since the device was powered on, what goes
wrong during a night: packets lost on the air, periodic link drops, long outages, a drifting sensor
clock and restarts of the (virtual) ``bluetoothd``. Every decision is a pure function of the plan,
the time and the packet sequence number, so a fault pattern is reproducible from its seed and a
test can compute exactly which packets were lost.

Where each fault acts:

* packet loss and link state are applied by :class:`firmware_sim.device.SensorFirmware` (a lost
  live packet is still written to the ring buffer and can be resent) and by the virtual BlueZ,
  which disconnects the central while :meth:`FaultPlan.link_up` is false;
* clock drift sets the firmware's tick clock;
* BlueZ restarts are carried out by :class:`firmware_sim.bluez.VirtualBlueZ` (the fake bluetoothd
  leaves the bus and comes back; bleak gets no signal).
"""

from __future__ import annotations

import dataclasses
import math

from lmdetect._params import Params, check_nonnegative, check_range
from lmdetect.errors import ConfigError

__all__ = ["FaultPlan", "packet_lost"]

_MASK64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    """One step of SplitMix64 (Steele, Lea & Flood, OOPSLA 2014): a fast, well-mixed 64-bit hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def packet_lost(seed: int, seq: int, loss_prob: float) -> bool:
    """Whether the live transmission of packet ``seq`` is lost.

    A deterministic function of ``(seed, seq)``: the same plan loses the same packets whatever the
    timing of the run, so tests can list the expected losses in advance.
    """
    if loss_prob <= 0.0:
        return False
    u = _splitmix64(_splitmix64(seed & _MASK64) ^ (seq & _MASK64)) / float(1 << 64)
    return u < loss_prob


def _windows(value: object, name: str) -> tuple[tuple[float, float], ...]:
    out = []
    for item in value or ():  # type: ignore[attr-defined]
        try:
            start, dur = (float(v) for v in item)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a list of (start_s, duration_s) pairs, got {item!r}") from None
        if not (math.isfinite(start) and start >= 0 and math.isfinite(dur) and dur > 0):
            raise ConfigError(f"{name}: start must be >= 0 and duration > 0 seconds, got {item!r}")
        out.append((start, dur))
    return tuple(sorted(out))


@dataclasses.dataclass(frozen=True)
class FaultPlan(Params):
    """What goes wrong, when. Times are simulated seconds since power-on.

    Parameters
    ----------
    loss_prob : float
        Probability that a live data packet is lost on the air (0..1). Resent packets are never
        lost, so a backfill always completes.
    drop_every_s, drop_for_s : float or None, float
        Periodic link drops: the link is down during ``[first + k * drop_every_s, ... + drop_for_s)``
        for k = 0, 1, ...; ``first`` is ``drop_first_at_s`` or, when None, ``drop_every_s``.
    outages : sequence of (start_s, duration_s)
        Extra link outages, e.g. one longer than the firmware ring buffer.
    drift_ppm : float
        Sensor clock error: the tick clock runs at ``(1 + drift_ppm * 1e-6)`` times true time.
    bluez_restarts : sequence of (at_s, down_s)
        The virtual bluetoothd leaves the bus at ``at_s`` and returns ``down_s`` later.
    seed : int
        Seed of the packet-loss pattern.
    """

    loss_prob: float = 0.0
    drop_every_s: float | None = None
    drop_for_s: float = 0.0
    drop_first_at_s: float | None = None
    outages: tuple[tuple[float, float], ...] = ()
    drift_ppm: float = 0.0
    bluez_restarts: tuple[tuple[float, float], ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        check_range("loss_prob", self.loss_prob, 0.0, 1.0)
        check_nonnegative("drop_for_s", self.drop_for_s)
        check_range("drift_ppm", self.drift_ppm, -10_000.0, 10_000.0)
        if self.drop_every_s is not None:
            if not (isinstance(self.drop_every_s, (int, float)) and self.drop_every_s > 0):
                raise ConfigError(f"drop_every_s must be > 0 seconds, got {self.drop_every_s!r}")
            if self.drop_for_s >= self.drop_every_s:
                raise ConfigError(
                    f"drop_for_s ({self.drop_for_s}) must be shorter than drop_every_s ({self.drop_every_s})"
                )
        if self.drop_first_at_s is not None:
            check_nonnegative("drop_first_at_s", self.drop_first_at_s)
        if not isinstance(self.seed, int):
            raise ConfigError(f"seed must be an integer, got {self.seed!r}")
        object.__setattr__(self, "outages", _windows(self.outages, "outages"))
        object.__setattr__(self, "bluez_restarts", _windows(self.bluez_restarts, "bluez_restarts"))

    # ------------------------------------------------------------------ link state
    def link_up(self, t_s: float) -> bool:
        """False while a periodic drop or an outage is in progress at simulated time ``t_s``."""
        for start, dur in self.outages:
            if start <= t_s < start + dur:
                return False
        if self.drop_every_s is not None and self.drop_for_s > 0:
            first = self.drop_every_s if self.drop_first_at_s is None else self.drop_first_at_s
            if t_s >= first:
                phase = (t_s - first) % self.drop_every_s
                if phase < self.drop_for_s:
                    return False
        return True

    def bluez_down(self, t_s: float) -> bool:
        """True while a scheduled bluetoothd restart keeps ``org.bluez`` off the bus."""
        return any(at <= t_s < at + down for at, down in self.bluez_restarts)

    def lost(self, seq: int) -> bool:
        """Whether the live transmission of packet ``seq`` is lost (see :func:`packet_lost`)."""
        return packet_lost(self.seed, seq, self.loss_prob)
