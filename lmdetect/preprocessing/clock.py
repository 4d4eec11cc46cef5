"""Fit the sensor clock to the host clock.

A BLE sensor stamps samples with its own crystal clock, which drifts from real time by tens of ppm
(50 ppm is 1.4 s over 8 h). The collector stores the host receive time of every packet. Receive
time = send time + a latency that is never negative (connection interval, radio retries), so the
*lower envelope* of (host - sensor) over the night follows the clock offset and drift, while the
latency jitter only adds above it. We take the minimum of (host - sensor) in windows of a few
minutes and fit a straight line through those minima, rejecting outliers.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from numpy.typing import NDArray

from ..model import Recording

__all__ = ["ClockFit", "fit_clock", "MAX_PLAUSIBLE_DRIFT_PPM"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ClockFit:
    """host_time_s = offset_s + slope * sensor_time_s (both in seconds since the recording start).

    Attributes
    ----------
    offset_s, slope
        The fitted line. ``slope`` < 1 means the sensor clock runs fast.
    drift_ppm
        Sensor clock rate error in parts per million (positive: the sensor clock runs fast).
    source
        ``"host"`` when fitted from host receive times, ``"sensor"`` when no host times exist
        (the sensor clock is then taken as true).
    n_points
        Number of envelope points used by the fit.
    residual_ms
        Median absolute residual of the envelope points around the line (milliseconds).
    """

    offset_s: float
    slope: float
    drift_ppm: float
    source: str
    n_points: int
    residual_ms: float

    def apply(self, sensor_time_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Convert sensor-clock seconds to host-clock seconds."""
        return self.offset_s + self.slope * np.asarray(sensor_time_s, dtype=np.float64)


IDENTITY = ClockFit(offset_s=0.0, slope=1.0, drift_ppm=0.0, source="sensor", n_points=0, residual_ms=float("nan"))


#: Watch crystals are specified within tens of ppm; a fit beyond this is not a clock error but a
#: host reference that does not follow real time (an accelerated replay, a host clock that jumped).
MAX_PLAUSIBLE_DRIFT_PPM = 1000.0


def fit_clock(recording: Recording, *, window_s: float = 300.0) -> ClockFit:
    """Fit the sensor clock of ``recording`` to the host clock.

    Parameters
    ----------
    recording
        A recording with ``host_time_s`` (per-packet host receive times); without them the
        identity fit (``source="sensor"``) is returned.
    window_s
        Length of the windows in which the minimum of host minus sensor time is taken.

    Returns
    -------
    ClockFit
    """
    host = recording.host_time_s
    if host is None:
        return IDENTITY
    ok = np.isfinite(host)
    if recording.backfilled is not None:
        ok &= ~recording.backfilled  # resent packets arrive late by design
    if recording.seq is not None and recording.n_samples > 1:
        # the packet is sent when its last sample is taken: pair host time with that sample
        last = np.ones(recording.n_samples, dtype=bool)
        last[:-1] = recording.seq[1:] != recording.seq[:-1]
        ok &= last
    idx = np.flatnonzero(ok)
    if idx.size < 2:
        return IDENTITY
    s = recording.time_s[idx]
    d = host[idx] - s
    # lower envelope: minimum of (host - sensor) per window
    win = np.floor((s - s[0]) / window_s).astype(np.int64)
    order = np.lexsort((d, win))
    first = np.ones(order.size, dtype=bool)
    first[1:] = win[order][1:] != win[order][:-1]
    env = order[first]
    es, ed = s[env], d[env]
    if es.size < 2 or es[-1] - es[0] < 1.0:
        c1, c0 = 0.0, float(np.min(d))
        resid = np.abs(ed - c0)
    else:
        keep = np.ones(es.size, dtype=bool)
        for _ in range(3):  # refit without envelope points that sit far above the line
            c1, c0 = np.polyfit(es[keep], ed[keep], 1)
            resid = np.abs(ed - (c0 + c1 * es))
            mad = np.median(resid[keep]) + 1e-4
            new_keep = resid <= 5 * mad
            if new_keep.sum() < 2 or np.array_equal(new_keep, keep):
                break
            keep = new_keep
        resid = resid[keep]
    slope = 1.0 + float(c1)
    drift_ppm = (1.0 / slope - 1.0) * 1e6 if slope > 0 else float("inf")
    if not abs(drift_ppm) <= MAX_PLAUSIBLE_DRIFT_PPM:
        log.warning(
            "host receive times imply a clock drift of %.0f ppm, beyond any crystal; "
            "keeping the sensor clock (accelerated replay or a host clock jump?)",
            drift_ppm,
        )
        return dataclasses.replace(IDENTITY, source="sensor (host times implausible)")
    return ClockFit(
        offset_s=float(c0),
        slope=slope,
        drift_ppm=drift_ppm,
        source="host",
        n_points=int(es.size),
        residual_ms=float(np.median(resid) * 1e3),
    )
