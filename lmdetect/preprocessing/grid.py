"""Place samples on a uniform grid, with gaps masked (never interpolated).

The sensor samples at a fixed period on its own clock, so each sample has an integer index
``round(time_s * fs)``. Indices that no sample occupies are gaps: they are marked invalid and
their values lie on a straight line between the samples either side, only so that filters can run
over them; every stage downstream ignores invalid samples (no event is detected in a gap or in
the filter's settling time around it).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray

from ..model import Recording
from .clock import ClockFit

__all__ = ["RegularSignal", "to_regular_grid"]


@dataclasses.dataclass(frozen=True, eq=False)
class RegularSignal:
    """Acceleration on a uniform grid.

    Attributes
    ----------
    accel_g : ndarray (m, 3) float32
        Acceleration in g; values at invalid indices lie on a straight line between the valid
        samples either side (filter padding only).
    valid : ndarray (m,) bool
        False where no sample was recorded (a gap).
    fs : float
        Grid rate in Hz on the host clock (the effective rate).
    t0_s : float
        Host-clock time of index 0, seconds since the recording start.
    """

    accel_g: NDArray[np.float32]
    valid: NDArray[np.bool_]
    fs: float
    t0_s: float

    @property
    def n(self) -> int:
        return int(self.valid.size)

    def time_of(self, index: NDArray[np.integer] | NDArray[np.floating] | float) -> NDArray[np.float64]:
        """Host-clock time (s since start) of grid index (may be fractional)."""
        return self.t0_s + np.asarray(index, dtype=np.float64) / self.fs

    def index_of(self, time_s: NDArray[np.floating] | float) -> NDArray[np.int64]:
        return np.rint((np.asarray(time_s, dtype=np.float64) - self.t0_s) * self.fs).astype(np.int64)

    @property
    def duration_s(self) -> float:
        return self.n / self.fs


def to_regular_grid(recording: Recording, clock: ClockFit) -> RegularSignal:
    """Put ``recording`` on a uniform grid in host time (see module notes)."""
    n = recording.n_samples
    if n == 0:
        return RegularSignal(np.zeros((0, 3), np.float32), np.zeros(0, bool), recording.fs, 0.0)
    fs_sensor = recording.fs_effective
    if abs(fs_sensor / recording.fs - 1.0) < 2e-3:
        fs_sensor = recording.fs  # nominal period on the sensor clock: indices are exact
    t = recording.time_s - recording.time_s[0]
    np.multiply(t, fs_sensor, out=t)  # in place: one whole-night float64 temporary, not three
    np.rint(t, out=t)
    idx = t.astype(np.int64)
    del t
    m = int(idx[-1]) + 1
    if m == n and bool(np.all(idx[1:] > idx[:-1])):
        # n strictly increasing indices from 0 to n - 1: every slot is filled once, no gap.
        # The grid is the recording's own array (a view, no copy).
        return RegularSignal(
            accel_g=np.ascontiguousarray(recording.accel_g, dtype=np.float32),
            valid=np.ones(n, dtype=bool),
            fs=fs_sensor / clock.slope,
            t0_s=float(clock.apply(np.array([recording.time_s[0]]))[0]),
        )
    keep = np.ones(n, dtype=bool)
    keep[1:] = idx[1:] != idx[:-1]  # jittery timestamps: first sample wins a slot
    idx = idx[keep]
    m = int(idx[-1]) + 1
    valid = np.zeros(m, dtype=bool)
    valid[idx] = True
    if idx.size == m:
        accel = recording.accel_g[keep]
    else:
        # bridge gaps with a straight line between the samples either side: filter padding only,
        # the gaps stay invalid. A line, unlike holding the last sample, puts no step into the
        # filters when the leg moved across a lost packet, so they settle within the gap.
        kept = recording.accel_g[keep].astype(np.float64, copy=False)
        pos = np.arange(m)
        accel = np.empty((m, 3), dtype=np.float32)
        for j in range(3):
            accel[:, j] = np.interp(pos, idx, kept[:, j])
    fs_host = fs_sensor / clock.slope
    t0 = float(clock.apply(np.array([recording.time_s[0]]))[0])
    return RegularSignal(accel_g=np.ascontiguousarray(accel, dtype=np.float32), valid=valid, fs=fs_host, t0_s=t0)
