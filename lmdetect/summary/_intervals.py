"""Interval arithmetic shared by the RLS, pad and intervention summaries: unions, overlaps, observable time,
and counts of CLMs and PLMs inside intervals.

Intervals are ``(start_s, end_s)`` pairs in seconds since the recording start, half-open
``[start, end)``. "Observable" time is time in the analysis window (time in bed) during which the
LM detector could see movements: recorded, not in a gap, and not masked as a vibration-pad
session. It comes from the detector's per-block coverage (``MovementTrace.valid_frac``), so a rate
over an interval that was half masked is counts per *observable* hour, not per clock hour.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..scoring.imi import counted_clm
from ..scoring.rules import RuleSet

__all__ = [
    "MIN_OBSERVED_S",
    "CoverageTrace",
    "Exposure",
    "intervals_from_table",
    "merge_intervals",
    "overlap_s",
    "in_intervals",
    "rate_per_h",
    "complement",
    "Movements",
    "rate_block",
    "WindowSpan",
    "window_blocks",
]

#: A window around an interval ``[a, b)``: ``(a, b) -> (start_s, end_s)``.
WindowSpan = Callable[[float, float], tuple[float, float]]

#: Rates over less observable time than this are not reported (None): with 10 min a single
#: movement moves a rate by 6/h, and less than that says nothing. A project convention.
MIN_OBSERVED_S = 600.0

_SECONDS_PER_HOUR = 3600.0


class CoverageTrace(Protocol):
    """What :class:`Exposure` needs of :class:`lmdetect.detect.lm.MovementTrace`."""

    # read-only: the trace is a frozen dataclass
    @property
    def block_s(self) -> float: ...
    @property
    def t0_s(self) -> float: ...
    @property
    def valid_frac(self) -> NDArray[np.float32]: ...


def intervals_from_table(table: pd.DataFrame | None) -> NDArray[np.float64]:
    """``(k, 2)`` array of ``[onset_s, onset_s + duration_s)`` from a table, sorted by start.

    Rows with a missing onset or a non-positive duration are dropped.
    """
    if table is None or len(table) == 0:
        return np.zeros((0, 2))
    a = pd.to_numeric(table["onset_s"]).to_numpy(dtype=np.float64, na_value=np.nan)
    d = pd.to_numeric(table["duration_s"]).to_numpy(dtype=np.float64, na_value=np.nan)
    ok = np.isfinite(a) & np.isfinite(d) & (d > 0)
    iv = np.column_stack([a[ok], a[ok] + d[ok]])
    return iv[np.argsort(iv[:, 0], kind="stable")]


def merge_intervals(iv: NDArray[np.float64]) -> NDArray[np.float64]:
    """Union of intervals as disjoint, sorted intervals (touching intervals are joined)."""
    iv = np.asarray(iv, dtype=np.float64).reshape(-1, 2)
    if len(iv) == 0:
        return iv
    iv = iv[np.argsort(iv[:, 0], kind="stable")]
    out = [list(iv[0])]
    for a, b in iv[1:]:
        if a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return np.asarray(out, dtype=np.float64)


def overlap_s(a0: float, a1: float, iv: NDArray[np.float64]) -> float:
    """Seconds of ``[a0, a1)`` covered by the union of ``iv``."""
    m = merge_intervals(iv)
    if len(m) == 0 or a1 <= a0:
        return 0.0
    lo = np.maximum(m[:, 0], a0)
    hi = np.minimum(m[:, 1], a1)
    return float(np.clip(hi - lo, 0.0, None).sum())


def in_intervals(t: NDArray[np.float64], iv: NDArray[np.float64]) -> NDArray[np.bool_]:
    """True for times inside any ``[start, end)`` of ``iv``."""
    t = np.asarray(t, dtype=np.float64)
    m = merge_intervals(iv)
    if len(m) == 0:
        return np.zeros(t.shape, dtype=bool)
    i = np.searchsorted(m[:, 0], t, side="right") - 1
    ok = i >= 0
    out = np.zeros(t.shape, dtype=bool)
    out[ok] = t[ok] < m[i[ok], 1]
    return out


def rate_per_h(count: int, observed_s: float, min_observed_s: float = MIN_OBSERVED_S) -> float | None:
    """``count`` per observable hour; None below ``min_observed_s`` of observable time."""
    if observed_s < min_observed_s or observed_s <= 0:
        return None
    return count / (observed_s / _SECONDS_PER_HOUR)


class Exposure:
    """Observable seconds inside an analysis window.

    Parameters
    ----------
    window
        ``(start_s, end_s)``, normally time in bed.
    trace
        The detector's coverage per block (:class:`lmdetect.detect.lm.MovementTrace`); without
        it every second of the window counts as observable.
    """

    def __init__(self, window: tuple[float, float], trace: CoverageTrace | None = None) -> None:
        self.start_s = float(window[0])
        self.end_s = float(max(window[0], window[1]))
        if trace is not None and np.asarray(trace.valid_frac).size:
            v = np.nan_to_num(np.asarray(trace.valid_frac, dtype=np.float64), nan=0.0)
            edges = float(trace.t0_s) + float(trace.block_s) * np.arange(v.size + 1, dtype=np.float64)
            self._edges: NDArray[np.float64] | None = edges
            self._cum = np.concatenate(([0.0], np.cumsum(np.clip(v, 0.0, 1.0) * float(trace.block_s))))
        else:
            self._edges = None
            self._cum = np.zeros(1)

    def seconds(self, t0_s: float, t1_s: float) -> float:
        """Observable seconds in ``[t0_s, t1_s)`` within the window."""
        a, b = max(t0_s, self.start_s), min(t1_s, self.end_s)
        if b <= a:
            return 0.0
        if self._edges is None:
            return b - a
        # coverage is constant within a block, so interpolating the cumulative sum is exact
        c = np.interp(np.array([a, b]), self._edges, self._cum)
        return float(c[1] - c[0])

    def seconds_in(self, iv: NDArray[np.float64]) -> float:
        """Observable seconds in the union of ``iv`` within the window."""
        return float(sum(self.seconds(a, b) for a, b in merge_intervals(iv)))

    @property
    def total_s(self) -> float:
        """Observable seconds in the whole window."""
        return self.seconds(self.start_s, self.end_s)


def complement(iv: NDArray[np.float64], window: tuple[float, float]) -> NDArray[np.float64]:
    """The parts of ``window`` not covered by ``iv``, as disjoint sorted intervals."""
    w0, w1 = float(window[0]), float(window[1])
    out = []
    t = w0
    for a, b in merge_intervals(iv):
        if b <= t:
            continue
        if a >= w1:
            break
        if a > t:
            out.append((t, a))
        t = max(t, b)
    if t < w1:
        out.append((t, w1))
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


class Movements:
    """Onsets of counted CLMs and PLMs inside an analysis window.

    Parameters
    ----------
    events
        Scored movements (:func:`lmdetect.scoring.score_lms` output).
    rules
        The rule set they were scored with; decides which CLMs count
        (:func:`lmdetect.scoring.imi.counted_clm`).
    window
        ``(start_s, end_s)``: only onsets in ``[start_s, end_s)`` are counted, as for the night
        indices (time in bed).
    """

    def __init__(self, events: pd.DataFrame, rules: RuleSet, window: tuple[float, float]) -> None:
        onset = events["onset_s"].to_numpy(dtype=np.float64) if len(events) else np.zeros(0)
        inside = (onset >= window[0]) & (onset < window[1])
        clm = counted_clm(events, rules) if len(events) else np.zeros(0, bool)
        plm = events["in_plm_series"].to_numpy(dtype=bool) if len(events) else np.zeros(0, bool)
        self.clm_onset_s = np.sort(onset[clm & inside])
        self.plm_onset_s = np.sort(onset[plm & inside])

    def count(self, iv: NDArray[np.float64]) -> tuple[int, int]:
        """(PLMs, CLMs) with onset inside the union of ``iv``."""
        return (
            int(in_intervals(self.plm_onset_s, iv).sum()),
            int(in_intervals(self.clm_onset_s, iv).sum()),
        )


def rate_block(
    movements: Movements, exposure: Exposure, iv: NDArray[np.float64]
) -> dict[str, float | int | None]:
    """Counts, observable hours and rates in the union of ``iv`` (inside the analysis window).

    Returns
    -------
    dict
        ``observed_h`` (observable hours), ``n_plm``, ``n_clm``, ``plm_per_h``, ``clm_per_h``
        (per observable hour; None under :data:`MIN_OBSERVED_S`).
    """
    iv = merge_intervals(iv)
    # millisecond resolution: the cumulative coverage sum carries float noise below that
    seen_s = round(exposure.seconds_in(iv), 3)
    n_plm, n_clm = movements.count(iv)
    return {
        "observed_h": round(seen_s / _SECONDS_PER_HOUR, 4),
        "n_plm": n_plm,
        "n_clm": n_clm,
        "plm_per_h": rate_per_h(n_plm, seen_s),
        "clm_per_h": rate_per_h(n_clm, seen_s),
    }


def subtract_intervals(iv: NDArray[np.float64], cut: NDArray[np.float64]) -> NDArray[np.float64]:
    """The parts of the union of ``iv`` outside the union of ``cut``, as disjoint sorted intervals."""
    out = [complement(cut, (float(a), float(b))) for a, b in merge_intervals(iv)]
    return np.concatenate(out).reshape(-1, 2) if out else np.zeros((0, 2))


def window_blocks(
    movements: Movements, exposure: Exposure, spans: NDArray[np.float64], windows: Mapping[str, WindowSpan],
    exclude: Mapping[str, NDArray[np.float64]] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Rate blocks in named windows around each of ``spans``, per span and pooled.

    Parameters
    ----------
    movements, exposure
        The night's movements and observable time.
    spans
        ``(k, 2)`` intervals ``[a, b)`` (s since the recording start; ``a == b`` for a time).
    windows
        Window name -> ``(a, b) -> (start_s, end_s)``, e.g. ``before``: ``(a - 1800, a)``.
    exclude
        Window name -> intervals left out of that window (e.g. the time under any of ``spans``,
        so the window before a second period does not count the first).

    Returns
    -------
    pooled, per_span
        ``pooled[name]``: the rate block over the union of that window of every span (so
        overlapping windows of back-to-back spans are not counted twice); ``per_span[i][name]``:
        the block of span ``i`` alone.
    """
    spans = np.asarray(spans, dtype=np.float64).reshape(-1, 2)
    cut = dict(exclude or {})

    def block(name: str, iv: NDArray[np.float64]) -> dict[str, Any]:
        iv = np.asarray(iv, dtype=np.float64).reshape(-1, 2)
        return rate_block(movements, exposure, subtract_intervals(iv, cut[name]) if name in cut else iv)

    per = [{name: block(name, np.array([f(float(a), float(b))])) for name, f in windows.items()} for a, b in spans]
    pooled = {name: block(name, np.array([f(float(a), float(b)) for a, b in spans])) for name, f in windows.items()}
    return pooled, per
