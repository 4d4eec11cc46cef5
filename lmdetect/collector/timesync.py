"""Online fit of the sensor clock to the host clock: ``host_ns = a + b * tick``.

Two kinds of observation constrain the line, both by causality alone:

* Every live packet: the tick of its last sample (when it could be sent) and its host receive
  time. Receipt is never earlier than sending, so the true line lies *below* every such point.
* Every two-way time exchange (the open profile's TIME_SYNC): the host sent the request at
  ``t1``, the sensor read its clock ``T`` while handling it, the reply arrived at ``t2``; so the
  true line passes between ``t1`` and ``t2`` at ``T``.

With two-way exchanges the feasible lines form a convex set (Duda, Harrus, Haddad & Bernard,
Estimating global time in distributed systems, Proc. 7th IEEE ICDCS 1987): the slope is taken
in the middle of the feasible slopes, and the offset in the middle of the feasible offsets
``[L, U]`` at that slope (``U`` from the packets and replies, ``L`` from the requests), so the
worst-case offset error is half the width. Without exchanges (or if they are inconsistent) the
slope is that of Moon, Skelly & Towsley (Estimation and removal of clock skew from network
delay measurements, Proc. IEEE INFOCOM 1999): the line below every packet point minimising the
summed distance to them, which supports the lower convex hull of the points at their mean
abscissa (an incrementally maintained hull, Andrew's monotone chain); the offset is then ``U``,
late by the smallest transport delay seen.

Resent (backfilled) packets are not used: their delay includes the outage.
"""

from __future__ import annotations

import bisect
import dataclasses

import numpy as np

__all__ = ["ClockFit", "OnlineClockFit"]

_MAX_EXCHANGES = 10_000


@dataclasses.dataclass(frozen=True)
class ClockFit:
    """``host_ns = offset_ns + slope * (tick - tick0)``.

    Attributes
    ----------
    tick0 : int
        Reference tick (the first point's).
    offset_ns : float
        Host time at ``tick0`` (ns since the Unix epoch).
    slope : float
        Host nanoseconds per sensor tick.
    tick_hz : int
        Nominal tick rate.
    n_points : int
        Packets the fit used.
    n_exchanges : int
        Two-way exchanges the fit used.
    span_s : float
        Sensor time covered by the packets, in seconds.
    bound_ns : float or None
        Half the width of the feasible offset interval (worst-case offset error) when two-way
        exchanges bound it; None otherwise.
    """

    tick0: int
    offset_ns: float
    slope: float
    tick_hz: int
    n_points: int
    n_exchanges: int
    span_s: float
    bound_ns: float | None

    @property
    def drift_ppm(self) -> float:
        """Sensor clock rate error in parts per million (positive: the sensor clock runs fast)."""
        return (1e9 / (self.slope * self.tick_hz) - 1.0) * 1e6

    def host_ns(self, tick: int | float) -> float:
        """Host time (ns since the Unix epoch) of sensor tick ``tick``."""
        return self.offset_ns + self.slope * (tick - self.tick0)


class OnlineClockFit:
    """Accumulates observations and fits the line on demand.

    Packet points must come with increasing ticks; one whose tick is not after the previous one
    is ignored (it cannot be a live packet of the same stream).
    """

    def __init__(self, tick_hz: int) -> None:
        self.tick_hz = int(tick_hz)
        self._tick0: int | None = None
        self._host0 = 0
        self._hull: list[tuple[int, int]] = []  # lower hull, points relative to (tick0, host0)
        self._xs: list[int] = []  # x of hull points, for bisect
        self._n = 0
        self._sum_x = 0
        self._first_x = 0
        self._last_x: int | None = None
        self._exchanges: list[tuple[int, int, int]] = []  # (x, t1 - host0, t2 - host0)

    @property
    def n_points(self) -> int:
        return self._n

    def _origin(self, tick: int, host_ns: int) -> None:
        if self._tick0 is None:
            self._tick0, self._host0 = int(tick), int(host_ns)

    def add(self, tick: int, host_ns: int) -> None:
        """Add one live packet: tick of its last sample, host receive time in ns."""
        self._origin(tick, host_ns)
        assert self._tick0 is not None
        x = int(tick) - self._tick0
        if self._last_x is not None and x <= self._last_x:
            return
        if self._last_x is None:
            self._first_x = x
        y = int(host_ns) - self._host0
        self._last_x = x
        self._n += 1
        self._sum_x += x
        hull = self._hull
        # exact integer cross products: ticks times nanoseconds overflow float precision
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1) <= 0:
                hull.pop()
                self._xs.pop()
            else:
                break
        hull.append((x, y))
        self._xs.append(x)

    def add_exchange(self, tick: int, sent_ns: int, received_ns: int) -> None:
        """Add a two-way exchange: the sensor read ``tick`` between ``sent_ns`` and ``received_ns``."""
        if received_ns < sent_ns:
            return
        self._origin(tick, sent_ns)
        assert self._tick0 is not None
        self._exchanges.append((int(tick) - self._tick0, int(sent_ns) - self._host0, int(received_ns) - self._host0))
        if len(self._exchanges) > _MAX_EXCHANGES:
            # keep the tightest half: they carry the information
            self._exchanges.sort(key=lambda e: e[2] - e[1])
            del self._exchanges[_MAX_EXCHANGES // 2 :]

    def _slope(self) -> float | None:
        """Moon et al.: slope of the lower hull edge spanning the packets' mean tick."""
        hull = self._hull
        if len(hull) < 2:
            return None
        mean_x = self._sum_x / self._n
        i = bisect.bisect_right(self._xs, mean_x) - 1
        i = min(max(i, 0), len(hull) - 2)
        (x1, y1), (x2, y2) = hull[i], hull[i + 1]
        return (y2 - y1) / (x2 - x1)

    def _two_way_slope(self) -> float | None:
        """Middle of the slopes of all lines below the upper and above the lower constraints.

        Eliminating the offset, a slope ``b`` is feasible iff ``t1_l - b x_l <= y_u - b x_u`` for
        every lower point ``l`` and upper point ``u``; each pair bounds ``b`` from one side. Only
        hull vertices can be binding, so the pairs are few.
        """
        if not self._exchanges:
            return None
        uppers = _lower_hull(sorted(list(self._hull) + [(x, t2) for x, _t1, t2 in self._exchanges]))
        lowers = _upper_hull(sorted((x, t1) for x, t1, _t2 in self._exchanges))
        xu = np.array([p[0] for p in uppers], dtype=np.float64)
        yu = np.array([p[1] for p in uppers], dtype=np.float64)
        xl = np.array([p[0] for p in lowers], dtype=np.float64)
        yl = np.array([p[1] for p in lowers], dtype=np.float64)
        dx = xu[:, None] - xl[None, :]
        dy = yu[:, None] - yl[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = dy / dx
        hi = r[dx > 0]
        lo = r[dx < 0]
        if hi.size == 0 or lo.size == 0:
            return None  # all constraints at one tick: the slope is not bounded both ways
        b_min, b_max = float(lo.max()), float(hi.min())
        if b_min > b_max:
            return None  # inconsistent (e.g. a host clock step): fall back to the packets alone
        return 0.5 * (b_min + b_max)

    def fit(self) -> ClockFit | None:
        """The current estimate, or None before it is defined (two packets, or one exchange)."""
        if self._tick0 is None:
            return None
        slope = self._two_way_slope()
        if slope is None:
            slope = self._slope()
        if slope is None:
            if not self._exchanges:
                return None
            slope = 1e9 / self.tick_hz
        upper = [y - slope * x for x, y in self._hull]
        upper += [t2 - slope * x for x, _t1, t2 in self._exchanges]
        lower = [t1 - slope * x for x, t1, _t2 in self._exchanges]
        u = min(upper)
        bound: float | None = None
        offset = u
        if lower:
            lo = max(lower)
            if lo <= u:
                offset = 0.5 * (lo + u)
                bound = 0.5 * (u - lo)
        return ClockFit(
            tick0=self._tick0,
            offset_ns=float(self._host0 + offset),
            slope=float(slope),
            tick_hz=self.tick_hz,
            n_points=self._n,
            n_exchanges=len(self._exchanges),
            span_s=((self._last_x or 0) - self._first_x) / self.tick_hz,
            bound_ns=bound,
        )


def _cross(o: tuple[int, int], a: tuple[int, int], b: tuple[int, int]) -> int:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _lower_hull(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Andrew's monotone chain, lower part; ``points`` sorted by x."""
    hull: list[tuple[int, int]] = []
    for p in points:
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) <= 0:
            hull.pop()
        hull.append(p)
    return hull


def _upper_hull(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    hull: list[tuple[int, int]] = []
    for p in points:
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) >= 0:
            hull.pop()
        hull.append(p)
    return hull
