"""The sensor-vs-PSG agreement page of ``lmdetect agree``: one self-contained HTML file (figures
inlined as PNG ``data:`` URIs), rendered from ``templates/agreement.html.jinja``.

Figures: the aligned timelines (reference hypnogram, PSG and sensor movements on the PSG clock,
matches and misses), the clock-fit residuals, the onset and duration errors of matched pairs, and
sensitivity by PSG stage and duration.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .. import __version__
from ..agreement.night import NightAgreement
from ._templates import environment
from .figures import figure_to_png, png_data_uri

__all__ = ["agreement_figures", "render_agreement_html"]

_STAGE_Y = {"W": 4, "R": 3, "N1": 2, "N2": 1, "N3": 0}
_REF_COLOR, _SENSOR_COLOR, _MISS_COLOR = "#0072b2", "#e69f00", "#d55e00"


def _timeline(a: NightAgreement) -> Figure:
    fig = Figure(figsize=(11, 4.2))
    ax_h, ax_e = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1.4]})
    hyp = a.reference_hypnogram
    if hyp is not None and len(hyp):
        x = (
            np.r_[hyp["onset_s"].to_numpy(float), float(hyp["onset_s"].iloc[-1] + hyp["duration_s"].iloc[-1])]
            / 3600
        )
        y = [_STAGE_Y.get(str(s), np.nan) for s in hyp["stage"]]
        ax_h.step(x, y + y[-1:], where="post", color="#444", lw=0.8)
        ax_h.set_yticks(list(_STAGE_Y.values()), list(_STAGE_Y))
    ax_h.set_title("PSG hypnogram")
    m = a.matched
    rows = [
        ("PSG matched", m[m.status == "match"]["reference_onset_s"], 2, _REF_COLOR),
        ("PSG missed", m[m.status == "miss"]["reference_onset_s"], 2, _MISS_COLOR),
        ("sensor matched", m[m.status == "match"]["sensor_onset_reference_s"], 1, _SENSOR_COLOR),
        ("sensor extra", m[m.status == "extra"]["sensor_onset_reference_s"], 1, _MISS_COLOR),
    ]
    for label, onsets, row_y, color in rows:
        hours = onsets.astype(float).to_numpy() / 3600
        ax_e.vlines(hours, row_y - 0.35, row_y + 0.35, color=color, lw=0.6, label=f"{label} ({hours.size})")
    ax_e.set_yticks([1, 2], ["sensor", "PSG"])
    ax_e.set_ylim(0.4, 2.6)
    ax_e.set_xlabel("hours since the PSG's time zero (PSG clock)")
    ax_e.legend(loc="upper right", fontsize=7, ncol=4, frameon=False)
    fig.tight_layout()
    return fig


def _alignment(a: NightAgreement) -> Figure | None:
    al = a.alignment
    if al.pairs is None:
        return None
    s, r = al.pairs
    res = r - al.to_reference(s)
    fig = Figure(figsize=(5.5, 3.2))
    ax = fig.subplots()
    ax.plot(s / 3600, res, ".", ms=2, color=_REF_COLOR)
    ax.axhline(0, color="#444", lw=0.8)
    ax.set_xlabel("sensor time (h)")
    ax.set_ylabel("PSG - mapped sensor onset (s)")
    ax.set_title(f"clock fit: offset {al.offset_s:+.2f} s, drift {al.drift_ppm:+.1f} ppm", fontsize=9)
    fig.tight_layout()
    return fig


def _errors(a: NightAgreement) -> Figure:
    m = a.matched[a.matched.status == "match"]
    fig = Figure(figsize=(9, 3.2))
    ax1, ax2 = fig.subplots(1, 2)
    for ax, col, title in (
        (ax1, "onset_error_s", "onset error"),
        (ax2, "duration_error_s", "duration error"),
    ):
        e = m[col].astype(float).to_numpy()
        if e.size:
            ax.hist(e, bins=min(40, max(5, e.size // 5)), color=_SENSOR_COLOR)
        ax.axvline(0, color="#444", lw=0.8)
        ax.set_xlabel(f"sensor - PSG {title.split()[0]} (s)")
        ax.set_ylabel("matched pairs")
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def _by_group(a: NightAgreement) -> Figure:
    fig = Figure(figsize=(9, 3.2))
    ax1, ax2 = fig.subplots(1, 2)
    for ax, groups, title in (
        (ax1, a.by_stage["sensitivity"], "sensitivity by PSG stage"),
        (ax2, a.by_duration, "sensitivity by PSG duration (s)"),
    ):
        names = [k for k, v in groups.items() if v["n"]]
        vals = [groups[k]["share_matched"] for k in names]
        ax.bar(names, vals, color=_REF_COLOR)
        for i, k in enumerate(names):
            ax.text(i, 0.02, f"n={groups[k]['n']}", ha="center", fontsize=7, color="white")
        ax.set_ylim(0, 1.05)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def agreement_figures(a: NightAgreement) -> dict[str, Figure]:
    """The page's figures by name (``timeline``, ``alignment`` when estimated, ``errors``, ``groups``)."""
    figs = {"timeline": _timeline(a)}
    fit = _alignment(a)
    if fit is not None:
        figs["alignment"] = fit
    figs["errors"] = _errors(a)
    figs["groups"] = _by_group(a)
    return figs


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def render_agreement_html(a: NightAgreement) -> str:
    """The page as a string."""
    figs = {k: png_data_uri(figure_to_png(f)) for k, f in agreement_figures(a).items()}
    idx = a.indices
    index_rows = [
        (label, idx["reference"][key], idx["sensor"][key], idx["sensor_own"][key])
        for key, label in (
            ("plms_per_h", "PLMS/h"),
            ("plmw_per_h", "PLMW/h"),
            ("clm_per_h", "CLM/h (sleep)"),
            ("periodicity_index", "periodicity index"),
            ("tst_h", "TST (h)"),
        )
    ]
    return (
        environment()
        .get_template("agreement.html.jinja")
        .render(
            a=a,
            doc=a.to_dict(),
            figs=figs,
            index_rows=index_rows,
            fmt=_fmt,
            version=__version__,
            generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
    )
