"""Figures of one night. Every plot draws into an ``ax=`` it is given (or a new figure's axes).

Figures are built on :class:`matplotlib.figure.Figure` directly, never through pyplot, so no GUI
backend and no global figure registry are involved (safe in worker processes and tests).

Drawing is kept cheap: each figure has fixed margins (the ones constrained layout settles on for
these figures, without its extra layout passes at every save), and bars are one collection each
rather than one patch per bar.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..io.event_labels import lights_known
from ..pipeline import NightResult
from ..scoring import get_rule_set, imi_histograms
from ..scoring.rules import RuleSet
from ..summary._intervals import merge_intervals

__all__ = [
    "COLORS",
    "plot_timeline",
    "plot_imi_histogram",
    "plot_plm_per_hour",
    "figure_to_png",
    "png_data_uri",
    "night_figures",
]

#: Colours used across the report (colour-blind-safe Okabe-Ito palette).
COLORS: dict[str, str] = {
    "activity": "#555555",
    "lm": "#999999",
    "clm": "#0072B2",
    "plm": "#D55E00",
    "sleep": "#000080",
    "wake": "#E8E8E8",
    "rls": "#E69F00",
    "pad_log": "#009E73",
    "pad_detected": "#56B4E9",
    "unobserved": "#CC79A7",
}

_H = 3600.0


#: Axes margins (figure fractions) of each figure, as constrained layout places them.
_MARGINS: dict[str, dict[str, float]] = {
    "timeline": {"left": 0.094, "right": 0.986, "bottom": 0.125, "top": 0.989},
    "imi": {"left": 0.057, "right": 0.985, "bottom": 0.159, "top": 0.922, "wspace": 0.169},
    "single": {"left": 0.103, "right": 0.992, "bottom": 0.150, "top": 0.922},
}


#: Titles sit on the axes' top edge (plus matplotlib's title pad), where matplotlib's automatic
#: placement puts them when nothing is drawn above the axes, as here. Giving the position spares
#: that placement, which measures every y tick label of the axes at each save.
_TITLE_Y = 1.0


def _new_axes(ax: Axes | None, size: tuple[float, float], margins: str = "single") -> Axes:
    if ax is not None:
        return ax
    fig = Figure(figsize=size)
    fig.subplots_adjust(**_MARGINS[margins])
    return fig.add_subplot()


def _bars(ax: Axes, left: np.ndarray, height: np.ndarray, width: np.ndarray | float, **style: Any) -> PolyCollection:
    """Bars from ``left`` to ``left + width``, 0 to ``height``, as one collection (``ax.bar``
    adds one patch per bar); autoscaled like ``ax.bar`` (the value axis sticks to 0)."""
    x0 = np.asarray(left, dtype=np.float64)
    x1 = x0 + np.broadcast_to(np.asarray(width, dtype=np.float64), x0.shape)
    y1 = np.asarray(height, dtype=np.float64)
    y0 = np.zeros_like(y1)
    verts = np.stack([np.column_stack(c) for c in ((x0, y0), (x0, y1), (x1, y1), (x1, y0))], axis=1)
    coll = PolyCollection(list(verts), **style)  # one (4, 2) array per bar
    coll.sticky_edges.y.append(0.0)
    ax.add_collection(coll, autolim=True)
    ax.autoscale_view()
    return coll


def _clock_formatter(start: dt.datetime) -> FuncFormatter:
    def fmt(x: float, _pos: int) -> str:
        return (start + dt.timedelta(hours=float(x))).strftime("%H:%M")

    return FuncFormatter(fmt)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _spans(table: pd.DataFrame | None) -> list[tuple[float, float]]:
    """(start_h, width_h) of the rows of an onset_s/duration_s table."""
    if table is None or len(table) == 0:
        return []
    a = pd.to_numeric(table["onset_s"]).to_numpy(dtype=np.float64)
    d = pd.to_numeric(table["duration_s"]).to_numpy(dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(d) & (d > 0)
    return [(x / _H, w / _H) for x, w in zip(a[ok], d[ok], strict=True)]


def _pad_sessions(result: NightResult, kind: str) -> pd.DataFrame | None:
    """Logged or detected pad sessions from the night summary (``context.pad.agreement``), else
    from the result's tables (logged: only those that were masked are there)."""
    recorded = result.summary.get("context", {}).get("pad", {}).get("agreement", {}).get(kind)
    if recorded is not None:
        return pd.DataFrame(recorded, columns=["onset_s", "duration_s"])
    if kind == "detected":
        return result.vibration
    pads = result.pad_sessions
    return pads[pads["source"] == "log"] if len(pads) else None


def plot_timeline(result: NightResult, *, ax: Axes | None = None, activity_bin_s: float = 30.0) -> Axes:
    """The night on one clock-time axis, one lane per kind of information.

    Lanes from the top: movement activity (peak envelope per ``activity_bin_s``, log scale
    1-1000 mg), leg movements (grey LM, blue CLM, orange PLM), PLM series, sleep/wake, RLS
    episodes, pad sessions from the log and from the signal. Shaded spans mark time in which no
    movement could be observed (gaps, masked pad sessions); epochs without enough signal are left
    blank in the sleep/wake lane; dashed lines are lights off/on when known.
    """
    ax = _new_axes(ax, (11.0, 3.8), "timeline")
    lanes = ["Pad (signal)", "Pad (log)", "RLS episodes", "Sleep / wake", "PLM series", "Leg movements"]
    y = {name: i for i, name in enumerate(lanes)}
    top = len(lanes)  # activity band occupies [top - 0.4, top + 1.4]
    h = 0.6

    tr = result.trace
    env = np.asarray(tr.envelope_mg, dtype=np.float64)
    end_h = max(float(tr.t0_s + tr.block_s * env.size) / _H, 1e-3)
    if env.size:
        k = max(1, int(round(activity_bin_s / tr.block_s)))
        m = env.size // k * k
        blocks = env[:m].reshape(-1, k) if m else np.zeros((0, k))
        peak = np.fmax.reduce(blocks, axis=1)  # ignores NaN (blocks without samples) unless all are
        t_h = (tr.t0_s + (np.arange(peak.size) + 0.5) * k * tr.block_s) / _H
        level = np.clip(np.log10(np.maximum(peak, 1.0)) / 3.0, 0.0, 1.0)
        ax.plot(t_h, top - 0.4 + 1.8 * level, color=COLORS["activity"], lw=0.6)
        # time not observable by the detector: gaps and masked pad sessions
        valid = np.asarray(tr.valid_frac, dtype=np.float64)
        runs = _runs(valid < 0.5)
        if runs:  # full-height spans, one collection (axvspan would add a patch per run)
            x = (tr.t0_s + np.asarray(runs, dtype=np.float64) * tr.block_s) / _H
            verts = [[(a, 0.0), (a, 1.0), (b, 1.0), (b, 0.0)] for a, b in x]
            ax.add_collection(PolyCollection(verts, transform=ax.get_xaxis_transform(), facecolors=COLORS["unobserved"],
                                             alpha=0.15, linewidths=0), autolim=False)

    ev = result.events
    if len(ev):
        on_h = ev["onset_s"].to_numpy(dtype=np.float64) / _H
        plm = ev["in_plm_series"].to_numpy(dtype=bool)
        clm = ev["is_clm"].to_numpy(dtype=bool) & ~plm
        other = ~plm & ~clm
        yl = y["Leg movements"]
        for sel, color in ((other, COLORS["lm"]), (clm, COLORS["clm"]), (plm, COLORS["plm"])):
            if sel.any():
                ax.vlines(on_h[sel], yl - h / 2, yl + h / 2, color=color, lw=0.6)
        sp = ev[plm]
        if len(sp):
            off = sp["onset_s"].to_numpy(np.float64) + sp["duration_s"].to_numpy(np.float64)
            g = pd.DataFrame(
                {"s": sp["series_id"].to_numpy(), "a": sp["onset_s"].to_numpy(np.float64), "b": off}
            )
            g = g.groupby("s").agg(a=("a", "min"), b=("b", "max"))
            ax.broken_barh([(a / _H, (b - a) / _H) for a, b in zip(g["a"], g["b"], strict=True)],
                           (y["PLM series"] - h / 2, h), color=COLORS["plm"])

    ep = result.epochs
    if len(ep):
        stage = ep["stage"].astype(str).to_numpy()
        asleep = stage != "W"
        # epochs without enough usable signal are neither (left blank), as in the indices
        seen = ep["observed"].to_numpy(dtype=bool) if "observed" in ep.columns else np.ones(len(ep), bool)
        for sel, color in ((asleep & seen, COLORS["sleep"]), (~asleep & seen, COLORS["wake"])):
            on = ep["onset_s"].to_numpy(np.float64)[sel]
            iv = merge_intervals(np.column_stack([on, on + ep["duration_s"].to_numpy(np.float64)[sel]]))
            bars = [(a / _H, (b - a) / _H) for a, b in iv]
            ax.broken_barh(bars, (y["Sleep / wake"] - h / 2, h), color=color)

    ax.broken_barh(_spans(result.rls_episodes), (y["RLS episodes"] - h / 2, h), color=COLORS["rls"])
    # the sessions as the summary recorded them (logged times as logged, whether masked or not)
    ax.broken_barh(_spans(_pad_sessions(result, "logged")), (y["Pad (log)"] - h / 2, h), color=COLORS["pad_log"])
    ax.broken_barh(_spans(_pad_sessions(result, "detected")), (y["Pad (signal)"] - h / 2, h),
                   color=COLORS["pad_detected"])

    if lights_known(result):
        for t_s, label in ((result.sleep.tib_start_s, "lights off"), (result.sleep.tib_end_s, "lights on")):
            ax.axvline(t_s / _H, color="black", ls="--", lw=0.8)
            ax.text(t_s / _H, top + 1.45, label, fontsize=7, ha="center", va="bottom")

    ax.set_yticks(list(range(len(lanes))) + [top + 0.5], lanes + ["Activity\n(1-1000 mg, log)"])
    ax.set_ylim(-0.6, top + 1.9)
    ax.set_xlim(0.0, end_h)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=12, steps=[1, 2.5, 5, 10]))  # 15 min, 30 min, 1 h
    ax.xaxis.set_major_formatter(_clock_formatter(result.start))
    ax.set_xlabel(f"clock time (UTC{result.start.strftime('%z')})")
    ax.tick_params(axis="y", length=0, labelsize=8)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if len(ev) == 0:
        ax.text(end_h / 2, y["Leg movements"], "no leg movements detected", ha="center", va="center",
                fontsize=8)
    return ax


def plot_imi_histogram(
    events: pd.DataFrame, rules: RuleSet | str = "wasm2016", *, log: bool = False, ax: Axes | None = None
) -> Axes:
    """Histogram of the inter-movement intervals ending at CLMs in sleep.

    Linear: 2-s bins from 0 to 90 s. Log: bins of 0.1 in ln(IMI) from 0 to 4.5 (e^4.5 = 90 s),
    labelled in seconds (PLMScoRe convention, see :func:`lmdetect.scoring.imi_histograms`). The
    PLM interval range of the rule set is shaded.
    """
    ax = _new_axes(ax, (5.0, 3.0))
    rule_set = get_rule_set(rules)
    hist = imi_histograms(events, rule_set)["log" if log else "linear"]
    if log:
        left = hist["bin_start_ln"].to_numpy(np.float64)
        width = (hist["bin_end_ln"] - hist["bin_start_ln"]).to_numpy(np.float64)
        lo, hi = np.log(rule_set.imi_min_s), np.log(rule_set.imi_max_s)
        ticks_s = [1, 2, 5, 10, 20, 40, 90]
        ax.set_xticks(np.log(ticks_s), [str(t) for t in ticks_s])
        ax.set_xlabel("IMI (s, log scale)")
        ax.set_xlim(0.0, float(hist["bin_end_ln"].max()) if len(hist) else 4.5)
    else:
        left = hist["bin_start_s"].to_numpy(np.float64)
        width = (hist["bin_end_s"] - hist["bin_start_s"]).to_numpy(np.float64)
        lo, hi = rule_set.imi_min_s, rule_set.imi_max_s
        ax.set_xlabel("IMI (s)")
        ax.set_xlim(0.0, float(hist["bin_end_s"].max()) if len(hist) else 90.0)
    counts = hist["count"].to_numpy(np.int64)
    ax.axvspan(lo, hi, color=COLORS["plm"], alpha=0.08, lw=0)
    _bars(ax, left, counts, width, facecolors=COLORS["clm"], edgecolors="white", linewidths=0.3)
    ax.set_ylabel("CLMs")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("IMI, log scale" if log else "IMI, linear scale", fontsize=9, y=_TITLE_Y)
    if counts.sum() == 0:
        ax.text(0.5, 0.5, "no IMIs in sleep", transform=ax.transAxes, ha="center", va="center", fontsize=8)
        ax.set_ylim(0, 1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def plot_plm_per_hour(
    counts: Sequence[int],
    *,
    start: dt.datetime | None = None,
    tib_start_s: float = 0.0,
    ax: Axes | None = None,
) -> Axes:
    """PLMs per hour of the night, from lights off (the last hour may be partial).

    Parameters
    ----------
    counts
        ``summary["plm_per_hour_of_night"]``.
    start, tib_start_s
        Recording start and lights off (seconds after it), to label hours with clock times.
    """
    ax = _new_axes(ax, (5.0, 3.0))
    c = np.asarray(list(counts), dtype=np.int64)
    x = np.arange(c.size)
    _bars(ax, x - 0.4, c, 0.8, facecolors=COLORS["plm"], edgecolors="none")
    if start is not None:
        labels = [(start + dt.timedelta(seconds=tib_start_s + 3600.0 * i)).strftime("%H:%M") for i in x]
        ax.set_xlabel("hour of the night, starting at")
    else:
        labels = [str(i + 1) for i in x]
        ax.set_xlabel("hour of the night")
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("PLMs")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("PLMs per hour of the night", fontsize=9, y=_TITLE_Y)
    if c.size == 0 or c.sum() == 0:
        ax.text(0.5, 0.5, "no PLMs", transform=ax.transAxes, ha="center", va="center", fontsize=8)
        ax.set_ylim(0, 1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def figure_to_png(fig: Figure, *, dpi: float = 100) -> bytes:
    """PNG bytes of a figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def png_data_uri(png: bytes) -> str:
    """A ``data:`` URI for PNG bytes, for embedding in HTML."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def night_figures(result: NightResult, summary: dict[str, Any]) -> dict[str, Figure]:
    """The report's figures: ``timeline``, ``imi`` (linear and log side by side), ``per_hour``."""
    timeline = plot_timeline(result).figure
    fig = Figure(figsize=(9.0, 3.0))
    a1, a2 = fig.subplots(1, 2, gridspec_kw=_MARGINS["imi"])
    plot_imi_histogram(result.events, result.config.rules, ax=a1)
    plot_imi_histogram(result.events, result.config.rules, log=True, ax=a2)
    per_hour = plot_plm_per_hour(
        summary.get("plm_per_hour_of_night") or [], start=result.start, tib_start_s=result.sleep.tib_start_s
    ).figure
    return {"timeline": timeline, "imi": fig, "per_hour": per_hour}  # type: ignore[dict-item]
