"""The multi-night report: one self-contained HTML page over several nights of one person.

Sections: one timeline row per night (sleep, leg movements, RLS episodes, pad sessions, on one
clock axis, after the RestEaze multi-night layout) with the key numbers, each night's conditions
and average rows; PLMS/h and periodicity-index trends; pad against no-pad nights (ratio of means
with a bootstrap interval, and a caution with fewer than 5 nights per group); every condition
(the nights with each, the comparison of each with reference nights in one table and one figure,
with several participants the within-participant effects, and before/after changes: the analyses
of :mod:`lmdetect.results.conditions`, figures shared with :mod:`lmdetect.report.conditions`);
every column of the night table; methods and provenance.

Every number in a table cell carries ``data-night``/``data-column`` (night-table cells),
``data-average``/``data-column`` (average rows) or ``data-stat`` (a dotted key into
``multinight.json``), and its exact value as ``data-value``, so the page can be checked against
the files written beside it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup, escape
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter

from .._atomic import atomic_write_text
from .._versions import package_versions
from ..results.conditions import CONDITION_OUTPUTS, ConditionAnalysis
from ..results.multinight import NightFolder
from ..summary.conditions import CONDITION_PREFIX
from ..summary.metric_ids import METRIC_IDS
from ..summary.multinight import (
    COLUMN_LABELS,
    DATE_COLUMN,
    EVIDENCE_COLUMN,
    MIN_NIGHTS_PER_GROUP,
    NIGHT_COLUMN,
    PAD_COLUMN,
    PAD_RULE,
    TABLE_ID_COLUMNS,
    MultiNightSummary,
    PadComparison,
    Trend,
)
from ..summary.night import NIGHT_METRIC_COLUMNS, format_metric, metric_value
from ._templates import environment
from .conditions import conditions_figures
from .figures import COLORS, figure_to_png, png_data_uri
from .methods import ACTIGRAPHY_NOTE
from .pad_text import multinight_pad_sentence

__all__ = [
    "NightTrack",
    "night_track",
    "plot_nights_timeline",
    "plot_metric_trend",
    "plot_pad_comparison",
    "multinight_figures",
    "KEY_COLUMNS",
    "column_header",
    "night_conditions_text",
    "condition_counts",
    "render_multinight_report",
    "write_multinight_report",
]

log = logging.getLogger(__name__)

#: Night-table columns shown beside the timeline (the RestEaze row: sleep, PLM index, ...).
KEY_COLUMNS: tuple[str, ...] = (
    "tib_h",
    "tst_h",
    "plms_per_h",
    "plmw_per_h",
    "periodicity_index",
    "imi_geometric_mean_s",
    "wear_h",
)

#: Colours of the two groups of nights.
GROUP_COLORS: dict[bool, str] = {True: COLORS["pad_log"], False: COLORS["clm"]}

_H = 3600.0
#: Libraries whose versions the report lists.
_VERSIONED = ("numpy", "scipy", "pandas", "matplotlib", "jinja2")
_DECIMALS = {METRIC_IDS[c.key]: c.decimals for c in NIGHT_METRIC_COLUMNS}

_REFERENCES = (
    "Trotti LM, Bliwise DL, Greer SA, et al. Correlates of PLMs variability over multiple nights and impact "
    "upon RLS diagnosis. Sleep Med 2009;10:668-671.",
    "Efron B, Tibshirani RJ. An Introduction to the Bootstrap. New York: Chapman & Hall, 1993.",
    "Sen PK. Estimates of the regression coefficient based on Kendall's tau. J Am Stat Assoc 1968;63:1379-1389.",
    "Theil H. A rank-invariant method of linear and polynomial regression analysis. Proc K Ned Akad Wet 1950;53.",
    "Ferri R, Zucconi M, Manconi M, et al. New approaches to the study of periodic leg movements during sleep "
    "in restless legs syndrome. Sleep 2006;29:759-769.",
    "Ferri R, et al. Night-to-night variability of periodic leg movements during sleep in restless legs syndrome "
    "and periodic limb movement disorder: comparison between the periodicity index and the PLMS index. "
    "Sleep Med 2013;14:293-296.",
    "Burbank F, Buchfuhrer MJ, Kopjar B. Sleep improvement for restless legs syndrome patients, Parts I-III "
    "(vibrating pads). J Parkinsonism Restless Legs Syndr 2013;3.",
    "Smith MT, McCrae CS, Cheung J, et al. Use of actigraphy for the evaluation of sleep disorders and circadian "
    "rhythm sleep-wake disorders: an American Academy of Sleep Medicine clinical practice guideline. "
    "J Clin Sleep Med 2018;14:1231-1237.",
)



# --------------------------------------------------------------------------- timeline rows


@dataclasses.dataclass(frozen=True, eq=False)
class NightTrack:
    """What one timeline row shows. Times are hours after noon of the night's date, local time.

    Attributes
    ----------
    label, date
        Night label and the date of its evening.
    pad_night
        Whether the night counts as a pad night.
    start_h, end_h
        Recording start and end.
    lights
        Lights off and on (time in bed) when known, else None.
    sleep, wake
        (start, end) spans of observed sleep and wake epochs.
    plm_h, clm_h
        Onsets of LMs in PLM series and of the other candidate LMs.
    rls, pad_logged, pad_detected
        (start, end) spans of diary RLS episodes and of logged and detected pad sessions.
    plms_index
        PLMS/h of the night (None when not available).
    """

    label: str
    date: dt.date
    pad_night: bool
    start_h: float
    end_h: float
    lights: tuple[float, float] | None
    sleep: list[tuple[float, float]]
    wake: list[tuple[float, float]]
    plm_h: np.ndarray
    clm_h: np.ndarray
    rls: list[tuple[float, float]]
    pad_logged: list[tuple[float, float]]
    pad_detected: list[tuple[float, float]]
    plms_index: float | None


def _spans(rows: Any, offset_h: float) -> list[tuple[float, float]]:
    """(start, end) in hours of the summary rows (dicts with onset_s and duration_s)."""
    out = []
    for r in rows if isinstance(rows, list) else []:
        if not isinstance(r, Mapping):
            continue
        a, d = _float(r.get("onset_s")), _float(r.get("duration_s"))
        if a is not None and d is not None and d > 0:
            out.append((offset_h + a / _H, offset_h + (a + d) / _H))
    return out


def _merge_runs(onset: np.ndarray, end: np.ndarray, mask: np.ndarray, offset_h: float) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in zip(onset[mask], end[mask], strict=True):
        if out and a <= out[-1][1] + 1e-6:
            out[-1] = (out[-1][0], max(out[-1][1], float(b)))
        else:
            out.append((float(a), float(b)))
    return [(offset_h + a / _H, offset_h + b / _H) for a, b in out]


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def night_track(folder: NightFolder, label: str, date: dt.date, pad_night: bool) -> NightTrack:
    """The timeline row of one night folder."""
    night = folder.night
    start = dt.datetime.fromisoformat(str(night.recording_start))
    noon = dt.datetime.combine(date, dt.time(12, 0), tzinfo=start.tzinfo)
    off = (start - noon).total_seconds() / _H
    duration_s = _float(night.recording.duration_s)
    ep = folder.epochs
    if duration_s is None:  # older or hand-made summaries: the latest time anything shows
        ends = [_float(night.tib_end_s) or 0.0]
        for tab in (ep, folder.events):
            if tab is not None and len(tab):
                ends.append(float((tab["onset_s"] + tab["duration_s"]).max()))
        duration_s = max(ends)
    sleep: list[tuple[float, float]] = []
    wake: list[tuple[float, float]] = []
    if ep is not None and len(ep):
        ep = ep.sort_values("onset_s", kind="stable")
        a = ep["onset_s"].to_numpy(np.float64)
        b = a + ep["duration_s"].to_numpy(np.float64)
        seen = ep["observed"].to_numpy(bool)
        asleep = ep["stage"].astype("str").to_numpy() != "W"
        sleep = _merge_runs(a, b, seen & asleep, off)
        wake = _merge_runs(a, b, seen & ~asleep, off)
    ev = folder.events
    plm_h = clm_h = np.zeros(0)
    if ev is not None and len(ev):
        on = off + ev["onset_s"].to_numpy(np.float64) / _H
        plm = ev["in_plm_series"].to_numpy(bool)
        plm_h = on[plm]
        clm_h = on[ev["is_clm"].to_numpy(bool) & ~plm]
    t0, t1 = _float(night.tib_start_s), _float(night.tib_end_s)
    lights = None
    if t0 is not None and t1 is not None and str(night.sleep_source or "").startswith("diary"):
        lights = (off + t0 / _H, off + t1 / _H)  # only a diary gives real lights off/on
    return NightTrack(
        label=label,
        date=date,
        pad_night=pad_night,
        start_h=off,
        end_h=off + duration_s / _H,
        lights=lights,
        sleep=sleep,
        wake=wake,
        plm_h=plm_h,
        clm_h=clm_h,
        rls=_spans(night.context.rls.episodes, off),
        pad_logged=_spans(night.context.pad.agreement.logged, off),
        pad_detected=_spans(night.context.pad.agreement.detected, off),
        plms_index=_float(night.plms_index),
    )


def _clock(x: float, _pos: int | None = None) -> str:
    return f"{int(round(12 + x)) % 24:02d}:00"


def _bars(ax: Axes, spans: list[tuple[float, float]], y0: float, h: float, color: str) -> None:
    if spans:
        ax.broken_barh([(a, b - a) for a, b in spans], (y0, h), color=color, lw=0)


def plot_nights_timeline(tracks: Sequence[NightTrack], *, axes: Sequence[Axes] | None = None) -> Figure:
    """One row per night on a shared clock axis (hours after noon of each night's date).

    Each row, from the top: sleep (dark) and wake (light) epochs with enough signal; leg
    movements (orange: in a PLM series, blue: other candidate LMs); diary RLS episodes; pad
    sessions from the log (upper half) and found in the signal (lower half). Black brackets are
    lights off and on; the grey band is the recording. Left: the date (``pad`` marks a pad night);
    right: PLMS/h.
    """
    n = len(tracks)
    if axes is None:
        fig = Figure(figsize=(11.0, 0.62 * n + 1.3), layout="constrained")
        axes = list(fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]) if n else [fig.add_subplot()]
    else:
        fig = axes[0].figure  # type: ignore[assignment]
    if n == 0:
        axes[0].text(0.5, 0.5, "no nights", ha="center", va="center", transform=axes[0].transAxes)
        return fig
    lo = math.floor(min(t.start_h for t in tracks))
    hi = max(math.ceil(max(t.end_h for t in tracks)), lo + 1)
    for ax, t in zip(axes, tracks, strict=True):
        ax.axvspan(t.start_h, t.end_h, ymin=0.0, ymax=1.0, color="#f4f4f4", lw=0, zorder=0)
        _bars(ax, t.sleep, 0.70, 0.28, COLORS["sleep"])
        _bars(ax, t.wake, 0.70, 0.28, COLORS["wake"])
        if t.clm_h.size:
            ax.vlines(t.clm_h, 0.36, 0.60, color=COLORS["clm"], lw=0.5)
        if t.plm_h.size:
            ax.vlines(t.plm_h, 0.32, 0.66, color=COLORS["plm"], lw=0.6)
        _bars(ax, t.rls, 0.17, 0.11, COLORS["rls"])
        _bars(ax, t.pad_logged, 0.075, 0.075, COLORS["pad_log"])
        _bars(ax, t.pad_detected, 0.0, 0.075, COLORS["pad_detected"])
        if t.lights is not None:
            for x, dx in ((t.lights[0], 0.12), (t.lights[1], -0.12)):
                ax.plot([x + dx, x, x, x + dx], [1.02, 1.02, -0.02, -0.02], color="black", lw=0.8)
        ax.set_ylim(-0.06, 1.06)
        ax.set_yticks([])
        name = t.date.strftime("%a %d %b")
        ax.set_ylabel(f"{name}\n{'pad' if t.pad_night else ''}", rotation=0, ha="right", va="center", fontsize=8,
                      color=GROUP_COLORS[t.pad_night] if t.pad_night else "black")
        value = "n/a" if t.plms_index is None else f"{t.plms_index:.1f}"
        ax.text(1.005, 0.5, f"PLMS/h\n{value}", transform=ax.transAxes, fontsize=8, va="center", ha="left")
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    last = axes[n - 1]
    last.set_xlim(lo, hi)
    ticks = list(range(lo, hi + 1, 2 if hi - lo > 12 else 1))
    last.xaxis.set_major_locator(FixedLocator(ticks))
    last.xaxis.set_major_formatter(FuncFormatter(_clock))
    last.set_xlabel("clock time (recording's local time)")
    handles = [
        Patch(color=COLORS["sleep"], label="sleep"),
        Patch(color=COLORS["wake"], label="wake"),
        Patch(color=COLORS["plm"], label="LM in a PLM series"),
        Patch(color=COLORS["clm"], label="other candidate LM"),
        Patch(color=COLORS["rls"], label="RLS episode (diary)"),
        Patch(color=COLORS["pad_log"], label="pad (log)"),
        Patch(color=COLORS["pad_detected"], label="pad (signal)"),
    ]
    fig.legend(handles=handles, loc="outside upper center", ncols=len(handles), fontsize=8, frameon=False)
    return fig


# --------------------------------------------------------------------------- trends and comparison


def _night_x(table: pd.DataFrame) -> np.ndarray:
    d = pd.to_datetime(table[DATE_COLUMN], format="%Y-%m-%d")
    return ((d - d.min()).dt.days).to_numpy(dtype=np.float64) if len(d) else np.zeros(0)


def plot_metric_trend(table: pd.DataFrame, trend: Trend, *, ax: Axes | None = None) -> Axes:
    """One metric per night: pad nights as green squares, no-pad nights as blue circles, the mean
    (dotted) and the Theil-Sen line (dashed) when there are 3 or more nights."""
    if ax is None:
        ax = Figure(figsize=(5.5, 3.0), layout="constrained").add_subplot()
    x = _night_x(table)
    y = pd.to_numeric(table[trend.column], errors="coerce").to_numpy(np.float64)
    pad = table[PAD_COLUMN].to_numpy(bool)
    for grp, marker, name in ((False, "o", "no-pad night"), (True, "s", "pad night")):
        sel = (pad == grp) & np.isfinite(y)
        ax.plot(x[sel], y[sel], marker, color=GROUP_COLORS[grp], label=name, ms=6, ls="none")
    if trend.mean is not None:
        ax.axhline(trend.mean, color="#777777", ls=":", lw=1, label="mean")
    if trend.slope_per_night is not None and trend.n_nights:
        ok = np.isfinite(y)
        xs = np.array([x[ok].min(), x[ok].max()])
        # Theil-Sen intercept: median of y - slope * x (Sen 1968)
        b = float(np.median(y[ok] - trend.slope_per_night * x[ok]))
        ax.plot(xs, b + trend.slope_per_night * xs, color="black", ls="--", lw=1, label="Theil-Sen trend")
    if len(x):
        ax.set_xticks(x, [d[5:] for d in table[DATE_COLUMN]], rotation=45, fontsize=7)
    ax.set_ylabel(trend.label)
    top = np.nanmax(y) if np.isfinite(y).any() else 1.0
    ax.set_ylim(0, max(top, 1e-9) * 1.12)
    if not np.isfinite(y).any():
        ax.text(0.5, 0.5, f"no {trend.label} values", ha="center", va="center", transform=ax.transAxes)
    ax.legend(fontsize=7, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def plot_pad_comparison(table: pd.DataFrame, comparison: PadComparison, *, axes: Sequence[Axes] | None = None) -> Figure:
    """Left: the metric of every night by group, with the group means. Right: the bootstrap
    distribution of the ratio of means, its interval and the observed ratio."""
    if axes is None:
        fig = Figure(figsize=(9.5, 3.2), layout="constrained")
        axes = fig.subplots(1, 2)
    else:
        fig = axes[0].figure  # type: ignore[assignment]
    ax, bx = axes[0], axes[1]
    y = pd.to_numeric(table[comparison.column], errors="coerce").to_numpy(np.float64)
    pad = table[PAD_COLUMN].to_numpy(bool)
    rng = np.random.default_rng(0)  # jitter only, for legibility
    for i, (grp, _name, mean) in enumerate(
        ((False, "no-pad nights", comparison.mean_no_pad), (True, "pad nights", comparison.mean_pad))
    ):
        v = y[(pad == grp) & np.isfinite(y)]
        ax.plot(i + rng.uniform(-0.12, 0.12, v.size), v, "s" if grp else "o", color=GROUP_COLORS[grp], ms=6, ls="none")
        if mean is not None:
            ax.hlines(mean, i - 0.3, i + 0.3, color="black", lw=2)
    ax.set_xticks([0, 1], [f"no pad (n={comparison.n_no_pad})", f"pad (n={comparison.n_pad})"])
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylim(0, max(np.nanmax(y) if np.isfinite(y).any() else 1.0, 1e-9) * 1.12)
    ax.set_ylabel(comparison.label)
    ax.set_title("nights by group (bar: mean)", fontsize=9)
    reps = comparison.replicates[np.isfinite(comparison.replicates)]
    if reps.size and comparison.ratio is not None:
        hi_clip = np.quantile(reps, 0.995)
        bx.hist(np.minimum(reps, hi_clip), bins=40, color="#bbbbbb")
        for v in (comparison.ci_low, comparison.ci_high):
            if v is not None:
                bx.axvline(v, color="black", ls="--", lw=1)
        bx.axvline(comparison.ratio, color=COLORS["plm"], lw=2)
        bx.axvline(1.0, color="#777777", ls=":", lw=1)
        bx.set_xlabel(f"ratio of mean {comparison.label}, pad / no pad")
        bx.set_ylabel("bootstrap resamples")
        bx.set_title(f"{comparison.n_boot} resamples: ratio (orange), {100 * comparison.confidence:g} % interval (dashed)",
                     fontsize=9)
    else:
        bx.text(0.5, 0.5, "no bootstrap interval\n(too few nights in a group)", ha="center", va="center",
                transform=bx.transAxes)
        bx.set_xticks([])
        bx.set_yticks([])
    for a in (ax, bx):
        for side in ("top", "right"):
            a.spines[side].set_visible(False)
    return fig


def _in_table_order(summary: MultiNightSummary, folders: Mapping[str, NightFolder]) -> list[NightFolder]:
    nights = [str(n) for n in summary.table[NIGHT_COLUMN]]
    missing = [n for n in nights if n not in folders]
    if missing:
        raise KeyError(f"no night folder for table row(s) {', '.join(missing)}")
    return [folders[n] for n in nights]


def multinight_figures(summary: MultiNightSummary, folders: Mapping[str, NightFolder]) -> dict[str, Figure]:
    """The report's figures: ``timeline``, ``trends``, ``pad``.

    ``folders`` maps each night label of ``summary.table`` to its folder.
    """
    t = summary.table
    tracks = [
        night_track(f, str(row[NIGHT_COLUMN]), dt.date.fromisoformat(str(row[DATE_COLUMN])), bool(row[PAD_COLUMN]))
        for f, (_, row) in zip(_in_table_order(summary, folders), t.iterrows(), strict=True)
    ]
    timeline = plot_nights_timeline(tracks)
    names = list(summary.trends)
    fig = Figure(figsize=(5.0 * len(names), 3.2), layout="constrained")
    for ax, name in zip(np.atleast_1d(fig.subplots(1, len(names))), names, strict=True):
        plot_metric_trend(t, summary.trends[name], ax=ax)
    return {"timeline": timeline, "trends": fig, "pad": plot_pad_comparison(t, summary.comparison)}


# --------------------------------------------------------------------------- HTML


def _plain(value: Any) -> Any:
    """A table or JSON value as a plain Python value; missing (NA, NaN) as None."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _json_value(value: Any) -> str:
    return json.dumps(_plain(value))


def _cell_text(value: Any, decimals: int | None) -> str:
    value = _plain(value)
    if isinstance(value, float) and decimals is None and value.is_integer():
        return str(int(value))  # a whole number without set decimals (a count) shows as one
    return format_metric(value, decimals)


def _td(value: Any, decimals: int | None, **attrs: str) -> Markup:
    value = _plain(value)
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    a = "".join(f' data-{k}="{escape(v)}"' for k, v in attrs.items())
    a += f' data-value="{escape(_json_value(value))}"'
    if decimals is not None:
        a += f' data-decimals="{decimals}"'
    cls = ' class="num"' if numeric else ""
    return Markup(f"<td{cls}{a}>{escape(_cell_text(value, decimals))}</td>")


def _stat_function(doc: Mapping[str, Any]) -> Any:
    def stat(key: str, decimals: int | None = None) -> Markup:
        value = metric_value(doc, key)
        text = _cell_text(value, decimals)
        attrs = f' data-stat="{escape(key)}" data-value="{escape(_json_value(value))}"'
        if decimals is not None:
            attrs += f' data-decimals="{decimals}"'
        return Markup(f"<span{attrs}>{escape(text)}</span>")

    return stat


def _night_link(folder: NightFolder, out_dir: Path | None) -> str | None:
    report = folder.path / "report.html"
    if out_dir is None or not report.is_file():
        return None
    try:
        return Path(os.path.relpath(report.resolve(), out_dir.resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return None


def column_header(column: str) -> str:
    """The report's label of a night-table column: its display label, ``With <name>`` for a condition."""
    if column.startswith(CONDITION_PREFIX):
        return f"With {column[len(CONDITION_PREFIX):]}"
    return COLUMN_LABELS.get(column, column)


def night_conditions_text(table: pd.DataFrame) -> dict[str, str]:
    """Per night label, the names of its conditions (``condition_<name>`` True), comma-separated."""
    cols = [c for c in table.columns if str(c).startswith(CONDITION_PREFIX)]
    out = {}
    for _, row in table.iterrows():
        out[str(row[NIGHT_COLUMN])] = ", ".join(str(c)[len(CONDITION_PREFIX):] for c in cols if bool(row[c]))
    return out


def condition_counts(table: pd.DataFrame) -> list[tuple[str, int, int]]:
    """Every condition of the table with its nights with and without it (participants given apart)."""
    out = []
    for c in table.columns:
        if str(c).startswith(CONDITION_PREFIX):
            v = table[c].astype(bool)
            out.append((str(c)[len(CONDITION_PREFIX):], int(v.sum()), int((~v).sum())))
    return out


def _condition_context(conditions: ConditionAnalysis | None, doc: Mapping[str, Any], table: pd.DataFrame,
                       out_dir: Path | None, dpi: float) -> dict[str, Any]:
    images: dict[str, str] = {}
    cautions: list[str] = []
    if conditions is not None:
        for k, f in conditions_figures(conditions).items():
            images[f"conditions-{k}"] = png_data_uri(figure_to_png(f, dpi=dpi))
        cautions = [c for x in conditions.comparisons for c in x.cautions]
        cautions += [c for b in conditions.before_after for c in b.cautions]
        if conditions.cohort is not None:
            cautions += list(conditions.cohort.cautions)
    report = CONDITION_OUTPUTS["report"]
    link = report if (conditions is not None and conditions.requested and out_dir is not None) else None
    return {
        "conditions": conditions,
        "cdoc": doc.get("conditions"),
        "condition_images": images,
        "condition_cautions": list(dict.fromkeys(cautions)),
        "condition_counts": condition_counts(table),
        "night_conditions": night_conditions_text(table),
        "conditions_link": link,
    }


def _context(
    summary: MultiNightSummary, folders: Mapping[str, NightFolder], doc: Mapping[str, Any], out_dir: Path | None,
    dpi: float, conditions: ConditionAnalysis | None = None,
) -> dict[str, Any]:
    t = summary.table
    figs = multinight_figures(summary, folders)
    images = {k: png_data_uri(figure_to_png(f, dpi=dpi)) for k, f in figs.items()}
    rows = t.to_dict(orient="records")
    columns = list(t.columns)
    decimals = {c: _DECIMALS.get(c) for c in columns}
    who = doc.get("participants") or []
    first, last = doc.get("first_date"), doc.get("last_date")
    title = f"{len(t)} night{'s' if len(t) != 1 else ''}" + (f" of {', '.join(who)}" if who else "")
    title += f", {first} to {last}" if first != last else f", {first}"
    avg_labels = (("all", "Average, all nights"), ("pad", "Average, pad nights"), ("no_pad", "Average, no-pad nights"))
    counts = {"all": len(t), "pad": int(t[PAD_COLUMN].sum()), "no_pad": int((~t[PAD_COLUMN]).sum())}
    return {
        "title": f"Multi-night summary: {title}",
        "doc": doc,
        "note": ACTIGRAPHY_NOTE,
        "images": images,
        "rows": rows,
        "columns": columns,
        "id_columns": [c for c in TABLE_ID_COLUMNS],
        "key_columns": [c for c in KEY_COLUMNS if c in columns],
        "decimals": decimals,
        "headers": {c: column_header(c) for c in columns},
        "td": _td,
        "stat": _stat_function(doc),
        "averages": [(k, label, counts[k], summary.averages[k]) for k, label in avg_labels],
        "links": {str(r[NIGHT_COLUMN]): _night_link(folders[str(r[NIGHT_COLUMN])], out_dir) for r in rows},
        "trends": list(summary.trends),
        "comparison": summary.comparison,
        "cautions": list(summary.cautions),
        "comparison_cautions": list(summary.comparison.cautions),
        "min_nights": MIN_NIGHTS_PER_GROUP,
        "pad_rule": PAD_RULE,
        "pad_facts": multinight_pad_sentence([f.summary for f in folders.values()]),
        "night_col": NIGHT_COLUMN,
        "date_col": DATE_COLUMN,
        "pad_col": PAD_COLUMN,
        "evidence_col": EVIDENCE_COLUMN,
        "references": _REFERENCES,
        "versions": list(package_versions(_VERSIONED).items()),
        **_condition_context(conditions, doc, t, out_dir, dpi),
    }


def render_multinight_report(
    summary: MultiNightSummary,
    folders: Mapping[str, NightFolder],
    document: Mapping[str, Any],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    dpi: float = 100,
    conditions: ConditionAnalysis | None = None,
) -> str:
    """The HTML text of the multi-night report.

    Parameters
    ----------
    summary
        Night table and statistics (:func:`lmdetect.summary.multinight.multinight_summary`).
    folders
        The nights as read, by their label in ``summary.table``.
    document
        The ``multinight.json`` content (:func:`lmdetect.results.multinight.multinight_document`).
    out_dir
        Folder the report will be written to; when given, each night links to its
        ``report.html`` by a relative path.
    dpi
        Resolution of the embedded figures.
    conditions
        The condition analyses, the same as ``document["conditions"]``
        (:func:`lmdetect.results.multinight.write_multinight_folder` makes both); None: no
        comparison section, only the nights with each condition.
    """
    if (conditions is None) != (document.get("conditions") is None):
        raise ValueError("the condition analyses and multinight.json's conditions must be given together")
    ctx = _context(summary, folders, document, None if out_dir is None else Path(out_dir), dpi, conditions)
    html = environment().get_template("multinight.html.jinja").render(**ctx)
    log.debug("multi-night report: %d characters", len(html))
    return html


def write_multinight_report(
    path: str | os.PathLike[str],
    summary: MultiNightSummary,
    folders: Mapping[str, NightFolder],
    document: Mapping[str, Any],
    *,
    dpi: float = 100,
    conditions: ConditionAnalysis | None = None,
) -> Path:
    """Write the multi-night report atomically; returns the path."""
    path = Path(path)
    atomic_write_text(path, render_multinight_report(summary, folders, document, out_dir=path.parent, dpi=dpi,
                                                     conditions=conditions))
    return path
