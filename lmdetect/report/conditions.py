"""The conditions report (``conditions.html``): every condition side by side, before/after changes, and
the within-participant effects across a cohort, with method and assumptions stated.

Renders a :class:`lmdetect.results.conditions.ConditionAnalysis` (the statistics are computed in
:mod:`lmdetect.summary.conditions`); self-contained HTML with embedded PNG figures.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from .._atomic import atomic_write_text
from ..results.conditions import ConditionAnalysis
from ..summary.conditions import BeforeAfter, CohortEffects
from ..summary.multinight import MIN_NIGHTS_PER_GROUP, PARTICIPANT_COLUMN
from ._templates import environment
from .figures import figure_to_png, png_data_uri
from .methods import ACTIGRAPHY_NOTE

__all__ = ["plot_condition_ratios", "plot_before_after", "plot_participant_means", "conditions_figures",
           "render_conditions_report", "write_conditions_report"]

#: Okabe-Ito colours, one per condition in turn.
_PALETTE = ("#009E73", "#0072B2", "#D55E00", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")


def _figure(ax: Axes) -> Figure:
    fig = ax.figure
    assert isinstance(fig, Figure)
    return fig


def plot_condition_ratios(rows: Sequence[tuple[str, float | None, float | None, float | None]], *,
                          title: str, ax: Axes | None = None) -> Axes:
    """Forest plot: one row per (label, ratio, low, high) on a log axis, the no-effect line at 1."""
    if ax is None:
        ax = Figure(figsize=(7.5, 1.6 + 0.45 * max(len(rows), 1))).add_subplot()
    ys = np.arange(len(rows))[::-1]
    for y, (label, r, lo, hi), color in zip(ys, rows, _PALETTE * 10, strict=False):
        if r is None:
            ax.text(1.0, y, f"{label}: not estimable", va="center", ha="center", fontsize=8, color="#666")
            continue
        lo_, hi_ = (lo if lo is not None else r), (hi if hi is not None else r)
        ax.plot([lo_, hi_], [y, y], color=color, lw=2.5)
        ax.plot([r], [y], "o", color=color, ms=7)
    ax.axvline(1.0, color="#444", lw=1, ls="--")
    ax.set_yticks(ys, [r[0] for r in rows])
    ax.set_xscale("log")
    # ratios read as plain numbers (0.5, 2), not powers of ten
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: f"{v:g}" if f"{v:.0e}"[0] in "235" else ""))
    vals = [v for row in rows for v in row[1:] if v is not None and math.isfinite(v) and v > 0]
    if vals:
        ax.set_xlim(min(min(vals), 1.0) / 1.25, max(max(vals), 1.0) * 1.25)
    ax.set_xlabel("ratio (condition / reference), log scale; 1 = no difference")
    ax.set_title(title, fontsize=10)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    _figure(ax).tight_layout()
    return ax


def plot_before_after(ba: BeforeAfter, *, ax: Axes | None = None) -> Axes:
    """The nightly metric over days from the start date, washout shaded, the change and the fitted segments."""
    if ax is None:
        ax = Figure(figsize=(9, 3.6)).add_subplot()
    period = np.asarray(ba.period)
    for name, color in (("before", "#0072B2"), ("washout", "#999999"), ("after", "#D55E00")):
        m = period == name
        ax.plot(ba.days[m], ba.values[m], "o-" if name != "washout" else "o", color=color, ms=4, lw=0.8,
                label=f"{name} ({int(m.sum())} nights)")
    if ba.washout_days:
        ax.axvspan(0, ba.washout_days, color="#dddddd", alpha=0.6, lw=0, label=f"washout ({ba.washout_days} d)")
    ax.axvline(0, color="#222", lw=1.2, ls="--", label=f"{ba.name} from {ba.start.isoformat()}")
    if ba.coefficients is not None and ba.days.size:
        b0, b1, b2, b3 = ba.coefficients
        t_pre = np.linspace(ba.days.min(), 0, 50)
        t_post = np.linspace(ba.washout_days, ba.days.max(), 50)
        off = ba.log_offset
        ax.plot(t_pre, np.exp(b0 + b1 * t_pre) - off, color="#0072B2", lw=2, label="fit before")
        ax.plot(t_post, np.exp(b0 + b1 * t_post + b2 + b3 * (t_post - ba.washout_days)) - off, color="#D55E00",
                lw=2, label="fit after")
        ax.plot(t_post, np.exp(b0 + b1 * t_post) - off, color="#0072B2", lw=1.2, ls=":",
                label="pre-trend carried forward")
    ax.set_xlabel(f"days from {ba.start.isoformat()}")
    ax.set_ylabel(ba.column)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, ncol=2, loc="upper right")
    ax.set_title(f"{ba.column} night by night, before and after {ba.name}", fontsize=10)
    _figure(ax).tight_layout()
    return ax


def plot_participant_means(cohort: CohortEffects) -> Figure:
    """Per participant: the mean on reference nights joined to the mean with each condition."""
    names = [e.condition for e in cohort.effects]
    fig = Figure(figsize=(3.2 * len(names) + 0.5, 3.4))
    axes = fig.subplots(1, len(names), sharey=True, squeeze=False)[0]
    means = cohort.participant_means
    for ax, name, color in zip(axes, names, _PALETTE, strict=False):
        pair = means[["reference", name]].dropna() if name in means.columns else means.iloc[0:0]
        for _, row in pair.iterrows():
            ax.plot([0, 1], [row["reference"], row[name]], "-o", color=color, ms=3, lw=0.8, alpha=0.7)
        ax.set_xticks([0, 1], ["reference", name])
        ax.set_xlim(-0.3, 1.3)
        ax.set_yscale("log")
        ax.set_title(f"{name} ({len(pair)} participants)", fontsize=9)
    axes[0].set_ylabel(f"mean {cohort.column} per participant (log)")
    fig.tight_layout()
    return fig


def conditions_figures(analysis: ConditionAnalysis) -> dict[str, Figure]:
    """The report's figures by image id suffix."""
    figs: dict[str, Figure] = {}
    if analysis.comparisons:
        rows = [(c.condition, c.ratio, c.ci_low, c.ci_high) for c in analysis.comparisons]
        figs["compare"] = _figure(plot_condition_ratios(
            rows, title=f"{analysis.metric}: nights with each condition vs reference nights"))
    if analysis.cohort is not None:
        rows = [(e.condition, e.ratio, e.ci_low, e.ci_high) for e in analysis.cohort.effects]
        figs["cohort"] = _figure(plot_condition_ratios(
            rows, title=f"{analysis.metric}: within-participant effects ({analysis.cohort.method})"))
        figs["participants"] = plot_participant_means(analysis.cohort)
    for i, ba in enumerate(analysis.before_after):
        figs[f"before-after-{i}"] = _figure(plot_before_after(ba))
    return figs


def _fmt(value: Any, decimals: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{decimals}f}"
    return str(value)


def render_conditions_report(analysis: ConditionAnalysis, doc: Mapping[str, Any], *, title: str | None = None,
                             dpi: float = 100) -> str:
    """The conditions report as HTML text (``doc``: the ``conditions.json`` document shown)."""
    from .. import __version__

    images = {k: png_data_uri(figure_to_png(f, dpi=dpi)) for k, f in conditions_figures(analysis).items()}
    cautions = [c for x in analysis.comparisons for c in x.cautions]
    cautions += [c for b in analysis.before_after for c in b.cautions]
    if analysis.cohort is not None:
        cautions += list(analysis.cohort.cautions)
    participants = sorted({p for p in analysis.table[PARTICIPANT_COLUMN].astype(str) if p}) \
        if PARTICIPANT_COLUMN in analysis.table.columns else []
    return environment().get_template("conditions.html.jinja").render(
        title=title or "Conditions: " + ", ".join([*doc["conditions"], *(b["name"] for b in doc["before_after"])]),
        version=__version__,
        doc=doc,
        analysis=analysis,
        images=images,
        cautions=list(dict.fromkeys(cautions)),
        participants=participants,
        n_nights=len(analysis.table),
        min_nights=MIN_NIGHTS_PER_GROUP,
        note=ACTIGRAPHY_NOTE,
        fmt=_fmt,
    )


def write_conditions_report(analysis: ConditionAnalysis, doc: Mapping[str, Any], path: str | os.PathLike[str],
                            **kwargs: Any) -> Path:
    """Write :func:`render_conditions_report` to ``path`` (atomically)."""
    p = Path(path)
    atomic_write_text(p, render_conditions_report(analysis, doc, **kwargs))
    return p
