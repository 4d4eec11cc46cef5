"""The cohort agreement report: sensor against PSG over many nights, one self-contained HTML page.

Figures: the Bland-Altman plot of PLMS/h (differences against means, bias and limits of agreement
with their confidence bands, the proportional-bias regression line; Bland & Altman 1986, 1999),
a scatter of sensor against PSG PLMS/h with the identity line, and the per-night event
sensitivity with Wilson intervals and the pooled value with its bootstrap interval.

Every number in a table carries ``data-stat`` (a dotted key into ``cohort_agreement.json``) or
``data-night``/``data-column`` (a cell of ``cohort_agreement.csv``) and its exact value as
``data-value``, so the page can be checked against the files written beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._versions import package_versions
from ..agreement.cohort import COMPARISONS, EVENT_KINDS, ID_COLUMNS, REFERENCE_COLUMN
from ._templates import environment
from .figures import COLORS, figure_to_png, png_data_uri
from .multinight import _VERSIONED, _stat_function, _td

__all__ = [
    "plot_bland_altman",
    "plot_agreement_scatter",
    "plot_event_sensitivity",
    "cohort_figures",
    "render_cohort_report",
]

log = logging.getLogger(__name__)

COMPARISON_TITLES = {
    "same_hypnogram": "sensor LMs on the PSG hypnogram",
    "own_sleep_wake": "sensor with its own sleep/wake",
}
KIND_TITLES = {"lm": "LMs", "clm": "CLMs", "plm": "PLMs"}

REFERENCES = (
    ("Bland JM, Altman DG. Statistical methods for assessing agreement between two methods of clinical "
    "measurement. Lancet 1986;i:307-310."),
    "Bland JM, Altman DG. Measuring agreement in method comparison studies. Stat Methods Med Res 1999;8:135-160.",
    ("McGraw KO, Wong SP. Forming inferences about some intraclass correlation coefficients. Psychol Methods "
    "1996;1:30-46."),
    ("Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater reliability. Psychol Bull "
    "1979;86:420-428."),
    ("Fisher RA. On the 'probable error' of a coefficient of correlation deduced from a small sample. "
    "Metron 1921;1:3-32."),
    ("Wilson EB. Probable inference, the law of succession, and statistical inference. J Am Stat Assoc "
    "1927;22:209-212."),
    "Efron B. Better bootstrap confidence intervals. J Am Stat Assoc 1987;82:171-185.",
    ("American Academy of Sleep Medicine. International Classification of Sleep Disorders, 3rd ed. Darien, IL: "
    "AASM, 2014 (periodic limb movement disorder: PLMS index > 15/h in adults, > 5/h in children)."),
)


def _xy(table: pd.DataFrame, sensor_col: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sensor and PSG values of the nights with both, and which of them are children's nights."""
    s = pd.to_numeric(table[sensor_col], errors="coerce").to_numpy(np.float64)
    r = pd.to_numeric(table[REFERENCE_COLUMN], errors="coerce").to_numpy(np.float64)
    ok = np.isfinite(s) & np.isfinite(r)
    return s[ok], r[ok], table["child"].to_numpy(bool)[ok]


def _clean(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _empty(ax: Axes, text: str) -> Axes:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def plot_bland_altman(sensor: np.ndarray, reference: np.ndarray, ba: Mapping[str, Any], *,
                      ax: Axes | None = None, title: str = "") -> Axes:
    """Differences (sensor - PSG) against the pair means, PLMS/h.

    Solid line: the bias; dashed: the limits of agreement; shaded: their confidence intervals;
    dotted: the regression of the differences on the means (proportional bias; Bland & Altman 1999).
    ``ba`` is a :meth:`lmdetect.agreement.stats.BlandAltman.to_dict` result for the same values.
    """
    if ax is None:
        ax = Figure(figsize=(5.5, 3.8), layout="constrained").add_subplot()
    if ba.get("bias") is None or ba.get("loa_low") is None:
        return _empty(ax, "too few nights for limits of agreement")
    mean, diff = (sensor + reference) / 2.0, sensor - reference
    ax.axhline(0.0, color="#bbbbbb", lw=0.8)
    bands = (("bias", "bias_ci_low", "bias_ci_high", "-"), ("loa_low", "loa_low_ci_low", "loa_low_ci_high", "--"),
             ("loa_high", "loa_high_ci_low", "loa_high_ci_high", "--"))
    for key, lo, hi, ls in bands:
        ax.axhline(ba[key], color=COLORS["plm"] if key == "bias" else "black", ls=ls, lw=1.2)
        if ba.get(lo) is not None and ba.get(hi) is not None:
            ax.axhspan(ba[lo], ba[hi], color=COLORS["plm"] if key == "bias" else "#888888", alpha=0.15, lw=0)
    ax.plot(mean, diff, "o", color=COLORS["clm"], ms=5)
    if ba.get("slope") is not None:
        xs = np.array([mean.min(), mean.max()])
        ax.plot(xs, ba["intercept"] + ba["slope"] * xs, color="#555555", ls=":", lw=1.2)
    pct = f"{100 * ba['confidence']:g} %"
    x_text = ax.get_xlim()[1]
    for key, label in (("loa_high", f"upper {pct} LoA"), ("bias", "bias"), ("loa_low", f"lower {pct} LoA")):
        ax.annotate(f"{label} {ba[key]:.1f}", (x_text, ba[key]), xytext=(3, 2), textcoords="offset points",
                    fontsize=7, ha="left", va="bottom", annotation_clip=False)
    ax.set_xlabel("mean of sensor and PSG, PLMS/h")
    ax.set_ylabel("sensor - PSG, PLMS/h")
    if title:
        ax.set_title(title, fontsize=9)
    _clean(ax)
    return ax


def plot_agreement_scatter(sensor: np.ndarray, reference: np.ndarray, stats_doc: Mapping[str, Any], *,
                           child: np.ndarray | None = None, ax: Axes | None = None, title: str = "") -> Axes:
    """Sensor PLMS/h against PSG PLMS/h, with the identity line (perfect agreement) and the
    cut-off lines at 15/h (adults) and 5/h (children); children's nights (``child``) as squares."""
    if ax is None:
        ax = Figure(figsize=(4.5, 4.2), layout="constrained").add_subplot()
    if sensor.size == 0:
        return _empty(ax, "no night with PLMS/h from both")
    top = max(float(np.max(sensor)), float(np.max(reference)), 1.0) * 1.08
    ax.plot([0, top], [0, top], color="#777777", lw=1, label="identity (y = x)")
    for c, ls in ((15.0, "--"), (5.0, ":")):
        ax.axvline(c, color="#cccccc", ls=ls, lw=0.8)
        ax.axhline(c, color="#cccccc", ls=ls, lw=0.8)
    kid = np.zeros(sensor.size, bool) if child is None else np.asarray(child, bool)
    ax.plot(reference[~kid], sensor[~kid], "o", color=COLORS["clm"], ms=5, label="night")
    if kid.any():
        ax.plot(reference[kid], sensor[kid], "s", color=COLORS["pad_log"], ms=5, label="child's night")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_aspect("equal")
    ax.set_xlabel("PSG, PLMS/h")
    ax.set_ylabel("sensor, PLMS/h")
    icc, r = stats_doc["icc_a1"], stats_doc["pearson"]
    lines = []
    if icc.get("value") is not None:
        lines.append(f"ICC(A,1) {icc['value']:.2f}")
    if r.get("r") is not None:
        lines.append(f"r {r['r']:.2f}")
    if lines:
        ax.text(0.04, 0.96, "\n".join(lines), transform=ax.transAxes, fontsize=8, va="top")
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    if title:
        ax.set_title(title, fontsize=9)
    _clean(ax)
    return ax


def plot_event_sensitivity(events: Mapping[str, Any], *, ax: Axes | None = None, title: str = "") -> Axes:
    """Each night's event sensitivity with its Wilson interval; the pooled sensitivity (line)
    with its bootstrap interval (band)."""
    if ax is None:
        ax = Figure(figsize=(6.0, 3.0), layout="constrained").add_subplot()
    rows = [r for r in events["per_night"] if r["sensitivity"] is not None]
    if not rows:
        return _empty(ax, "no night with reference events")
    x = np.arange(len(rows))
    y = np.array([r["sensitivity"] for r in rows])
    lo = np.array([r["ci_low"] for r in rows])
    hi = np.array([r["ci_high"] for r in rows])
    pooled = (events.get("sensitivity") or {}).get("pooled")
    if pooled is not None and pooled.get("value") is not None:
        ax.axhline(pooled["value"], color=COLORS["plm"], lw=1.2, label="pooled")
        if pooled.get("ci_low") is not None:
            ax.axhspan(pooled["ci_low"], pooled["ci_high"], color=COLORS["plm"], alpha=0.15, lw=0)
    ax.errorbar(x, y, yerr=np.vstack([y - lo, hi - y]), fmt="o", color=COLORS["clm"], ms=4, lw=1, capsize=2,
                label="night (Wilson interval)")
    ax.set_ylim(0, 1.05)
    ax.set_xticks(x, [r["night"] for r in rows], rotation=60, ha="right", fontsize=6)
    ax.set_ylabel("sensitivity")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False, loc="lower left")
    _clean(ax)
    return ax


def _comparisons(doc: Mapping[str, Any]) -> list[str]:
    """The PLMS/h comparisons with at least one night (the own-sleep/wake one may have none)."""
    return [c for c in COMPARISONS if doc["plms_per_h"][c]["n_nights"] > 0] or ["same_hypnogram"]


def cohort_figures(table: pd.DataFrame, doc: Mapping[str, Any]) -> dict[str, Figure]:
    """The report's figures: ``bland_altman``, ``scatter`` (one panel per comparison) and
    ``sensitivity`` (one panel per event kind)."""
    names = _comparisons(doc)
    ba = Figure(figsize=(5.8 * len(names), 3.9), layout="constrained")
    sc = Figure(figsize=(4.4 * len(names), 4.3), layout="constrained")
    for a, b, name in zip(np.atleast_1d(ba.subplots(1, len(names))), np.atleast_1d(sc.subplots(1, len(names))), names, strict=True):
        s, r, kid = _xy(table, COMPARISONS[name])
        part = doc["plms_per_h"][name]
        plot_bland_altman(s, r, part["bland_altman"], ax=a, title=COMPARISON_TITLES[name])
        plot_agreement_scatter(s, r, part, child=kid, ax=b, title=COMPARISON_TITLES[name])
    sens = Figure(figsize=(11.0, 3.4), layout="constrained")
    for ax, kind in zip(sens.subplots(1, len(EVENT_KINDS), sharey=True), EVENT_KINDS, strict=True):
        plot_event_sensitivity(doc["events"][kind], ax=ax, title=KIND_TITLES[kind])
    return {"bland_altman": ba, "scatter": sc, "sensitivity": sens}


def _context(table: pd.DataFrame, doc: Mapping[str, Any], dpi: float) -> dict[str, Any]:
    figs = cohort_figures(table, doc)
    images = {k: png_data_uri(figure_to_png(f, dpi=dpi)) for k, f in figs.items()}
    columns = list(table.columns)
    n = int(doc["n_nights"])
    return {
        "title": f"Sensor against PSG: {n} night{'s' if n != 1 else ''}",
        "doc": doc,
        "images": images,
        "rows": table.to_dict(orient="records"),
        "columns": columns,
        "id_columns": list(ID_COLUMNS),
        "comparisons": _comparisons(doc),
        "comparison_titles": COMPARISON_TITLES,
        "kinds": list(EVENT_KINDS),
        "kind_titles": KIND_TITLES,
        "td": _td,
        "stat": _stat_function(doc),
        "cautions": list(doc.get("cautions") or []),
        "references": REFERENCES,
        "versions": list(package_versions(_VERSIONED).items()),
        "pct": f"{100 * float(doc['settings']['confidence']):g} %",
    }


def render_cohort_report(table: pd.DataFrame, doc: Mapping[str, Any], *, dpi: float = 100) -> str:
    """The HTML text of the cohort agreement report.

    Parameters
    ----------
    table
        The night table (:func:`lmdetect.agreement.cohort.cohort_table`).
    doc
        The ``cohort_agreement.json`` document.
    dpi
        Resolution of the embedded figures.
    """
    html = environment().get_template("agreement_cohort.html.jinja").render(**_context(table, doc, dpi))
    log.debug("cohort agreement report: %d characters", len(html))
    return html

