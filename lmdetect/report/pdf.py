"""The per-night report as a PDF, drawn with matplotlib's ``PdfPages`` (no system libraries).

Same content as the HTML report, in four A4 pages: header, caveat and metrics; the timeline and
PLMs per hour; IMI histograms and the RLS / pad context; methods and provenance.
"""

from __future__ import annotations

import datetime as dt
import os
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from .._atomic import atomic_path
from ..pipeline import NightResult
from ..summary.night import NIGHT_METRIC_COLUMNS, format_metric, metric_value
from .diary_text import diary_flag_sentences
from .figures import plot_imi_histogram, plot_plm_per_hour, plot_timeline
from .html import night_title, report_summary
from .methods import ACTIGRAPHY_NOTE, methods_paragraphs, references
from .pad_text import pad_handling_sentences, pad_measurement_sentence, pad_session_rows, pad_windows_note

__all__ = ["night_report_pages", "write_night_report_pdf"]

_A4 = (8.27, 11.69)
_WRAP = 105


def _text_page(title: str, blocks: list[tuple[str, str]]) -> Figure:
    """A page of wrapped text blocks: (heading, body)."""
    fig = Figure(figsize=_A4)
    y = 0.95
    fig.text(0.07, y, title, fontsize=13, weight="bold", va="top")
    y -= 0.045
    for heading, body in blocks:
        if heading:
            fig.text(0.07, y, heading, fontsize=10, weight="bold", va="top")
            y -= 0.022
        for para in body.split("\n\n"):
            lines = textwrap.wrap(para, _WRAP) or [""]
            fig.text(0.07, y, "\n".join(lines), fontsize=7.5, va="top", family="sans-serif", linespacing=1.35)
            y -= 0.0125 * len(lines) + 0.012
        y -= 0.008
    return fig


def _fmt(doc: Mapping[str, Any], key: str, decimals: int | None = None) -> str:
    return format_metric(metric_value(doc, key), decimals)


def detection_limit_warning(doc: Mapping[str, Any], faint_mg: float) -> str | None:
    """The warning a report shows when the night's detection limit hid faint movements
    (``quality.detection_limited``), else None."""
    if metric_value(doc, "quality.detection_limited") is not True:
        return None
    return (f"Detection limited by the sensor: the onset threshold of {_fmt(doc, 'quality.onset_threshold_mg', 1)} mg "
            f"(sensor noise {_fmt(doc, 'quality.noise_rms_mg', 2)} mg RMS) is above {faint_mg:g} mg, the size of the "
            "faint movements that PLM series contain; such movements could not be detected, so the PLM indices "
            "may be too low.")


def _first_page(doc: Mapping[str, Any], title: str, warnings: list[str]) -> Figure:
    fig = Figure(figsize=_A4)
    fig.text(0.07, 0.96, title, fontsize=13, weight="bold", va="top")
    note = "\n".join(textwrap.wrap("Not a diagnosis. " + ACTIGRAPHY_NOTE, _WRAP))
    fig.text(0.07, 0.925, note, fontsize=7.5,
             va="top", color="#7a4a00")
    y = 0.925 - 0.0135 * note.count("\n") - 0.025  # below the caveat
    for w in warnings:  # what the reader must not miss, before the numbers
        lines = textwrap.wrap(w, _WRAP)
        fig.text(0.07, y, "\n".join(lines), fontsize=7.5, va="top", color="#b00020", weight="bold")
        y -= 0.0125 * len(lines) + 0.006
    head = [
        ("Input file", _fmt(doc, "input_file")),
        ("Start / end", f"{_fmt(doc, 'recording.start')} / {_fmt(doc, 'recording.end')}"),
        ("Device, side", f"{_fmt(doc, 'recording.device_id')}, {_fmt(doc, 'recording.side')}"),
        ("Rate (Hz)", f"{_fmt(doc, 'recording.fs_nominal_hz', 1)} nominal, "
                      f"{_fmt(doc, 'recording.fs_effective_hz', 4)} "
                      "effective"),
        ("Wear / non-wear (h)", f"{_fmt(doc, 'quality.wear_h', 2)} / {_fmt(doc, 'quality.nonwear_h', 2)}"),
        ("Gaps", f"{_fmt(doc, 'quality.n_gaps')} ({_fmt(doc, 'quality.gap_total_s', 1)} s)"),
        ("Backfilled samples", _fmt(doc, "quality.n_backfilled")),
        ("Noise, detection limit (mg)", (f"{_fmt(doc, 'quality.noise_rms_mg', 2)} RMS, onset threshold "
                                         f"{_fmt(doc, 'quality.onset_threshold_mg', 2)}")),
        ("Pad line removed / masked (h)", (f"{_fmt(doc, 'quality.vibration_removed_h', 2)} / "
                                                f"{_fmt(doc, 'quality.masked_pad_h', 2)}")),
        ("Diary rows overruled", _fmt(doc, "sleep_diary_overruled")),
        ("Rules, config hash", f"{_fmt(doc, 'rule_set')}, {_fmt(doc, 'config_hash')}"),
    ]
    top = min(0.87, y - 0.01)
    ax = fig.add_axes((0.07, top - 0.19, 0.86, 0.19))
    ax.axis("off")
    t = ax.table(cellText=[[k, v] for k, v in head], colWidths=[0.25, 0.75], loc="upper left", cellLoc="left")
    t.auto_set_font_size(False)
    t.set_fontsize(7.5)
    rows = [[c.label, format_metric(metric_value(doc, c.key), c.decimals), c.description]
            for c in NIGHT_METRIC_COLUMNS if c.group != "night"]
    ax2 = fig.add_axes((0.07, 0.05, 0.86, top - 0.25))
    ax2.axis("off")
    t2 = ax2.table(cellText=rows, colLabels=["Metric", "Value", "Definition"], colWidths=[0.25, 0.1, 0.65],
                   loc="upper left", cellLoc="left")
    t2.auto_set_font_size(False)
    t2.set_fontsize(6.5)
    for (_r, c), cell in t2.get_celld().items():
        cell.set_linewidth(0.3)
        if c == 1:
            cell.set_text_props(ha="right")
    return fig


def _context_text(doc: Mapping[str, Any]) -> str:
    def block(prefix: str) -> str:
        return (f"{_fmt(doc, prefix + '.n_plm')} PLMs, {_fmt(doc, prefix + '.n_clm')} CLMs in "
                f"{_fmt(doc, prefix + '.observed_h', 2)} observable h: {_fmt(doc, prefix + '.plm_per_h', 1)} "
                "PLM/h")

    return "\n\n".join([
        f"RLS episodes logged: {_fmt(doc, 'context.rls.n_episodes')}. During episodes: "
        f"{block('context.rls.inside')}. "
        f"Outside: {block('context.rls.outside')}. PLM series overlapping an episode: "
        f"{_fmt(doc, 'context.rls.timing.n_series_overlapping')} of "
        f"{_fmt(doc, 'context.rls.timing.n_series')}.",
        f"Pad sessions ({_fmt(doc, 'context.pad.agreement.status')}): logged "
        f"{_fmt(doc, 'context.pad.agreement.logged_h', 2)} h, "
        f"detected {_fmt(doc, 'context.pad.agreement.detected_h', 2)} h, overlap "
        f"{_fmt(doc, 'context.pad.agreement.overlap_h', 2)} h, "
        f"agreement (Jaccard) {_fmt(doc, 'context.pad.agreement.jaccard', 2)}. 30 min before the start: "
        f"{block('context.pad.windows.before')}. 30 min after the start: "
        f"{block('context.pad.windows.after_start')}. "
        f"30 min after the end: {block('context.pad.windows.after_end')}. "
        + " ".join(pad_handling_sentences(doc) + [pad_windows_note(doc)]),
        *_pad_session_text(doc),
    ])


def _clock(doc: Mapping[str, Any], t_s: Any) -> str:
    start = doc.get("recording_start")
    if t_s is None or not start:
        return "n/a"
    return (dt.datetime.fromisoformat(str(start)) + dt.timedelta(seconds=float(t_s))).strftime("%H:%M")


def _pad_session_text(doc: Mapping[str, Any]) -> list[str]:
    """How movements were measured under the pad, and one line per session (as in the HTML table)."""
    text = pad_measurement_sentence(doc)
    if text is None:
        return []
    lines = [text]
    for row in pad_session_rows(doc):
        m, r = row["m"], row["rates"]
        line = (f"Session at {_clock(doc, metric_value(doc, m + 'onset_s'))} ({_fmt(doc, m + 'source')}, "
                f"{_fmt(doc, m + 'duration_s', 0)} s): line {_fmt(doc, m + 'line_freq_hz', 2)} Hz, measurable "
                f"{_fmt(doc, m + 'measurable_fraction', 2)}, detection limit {_fmt(doc, m + 'detection_limit_mg', 1)} "
                f"mg, masked {_fmt(doc, m + 'masked_s', 0)} s")
        if r is not None:
            line += (f"; PLM/h 30 min before {_fmt(doc, r + 'before.plm_per_h', 1)}, during "
                     f"{_fmt(doc, r + 'during.plm_per_h', 1)}, 30 min after {_fmt(doc, r + 'after.plm_per_h', 1)}")
        lines.append(line + ".")
    return lines


def night_report_pages(result: NightResult, summary: Mapping[str, Any]) -> list[Figure]:
    """The report's A4 pages as figures (``summary``: the summary.json document in JSON form)."""
    doc = summary
    title = night_title(result, doc)
    warnings = [w for w in [detection_limit_warning(doc, result.config.detect.faint_movement_mg)] if w]
    warnings += diary_flag_sentences(doc, result.start)
    pages = [_first_page(doc, title, warnings)]

    fig = Figure(figsize=_A4, layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.2, 1.0], squeeze=False)[:, 0]
    plot_timeline(result, ax=top.add_subplot())
    top.suptitle("Night timeline", fontsize=10)
    plot_plm_per_hour(doc.get("plm_per_hour_of_night") or [], start=result.start,
                      tib_start_s=result.sleep.tib_start_s, ax=bottom.add_subplot())
    pages.append(fig)

    fig = Figure(figsize=_A4)
    a1 = fig.add_axes((0.09, 0.70, 0.38, 0.22))
    a2 = fig.add_axes((0.56, 0.70, 0.38, 0.22))
    plot_imi_histogram(result.events, result.config.rules, ax=a1)
    plot_imi_histogram(result.events, result.config.rules, log=True, ax=a2)
    fig.text(0.07, 0.96, "Inter-movement intervals, RLS episodes and pad sessions", fontsize=11,
             weight="bold", va="top")
    body = "\n\n".join("\n".join(textwrap.wrap(para, _WRAP)) for para in _context_text(doc).split("\n\n"))
    fig.text(0.07, 0.62, body, fontsize=7.5, va="top", linespacing=1.35)
    pages.append(fig)

    prov = (f"lmdetect {_fmt(doc, 'lmdetect_version')}; configuration hash {_fmt(doc, 'config_hash')}; input "
            f"{_fmt(doc, 'input_file')}, SHA-256 {_fmt(doc, 'input_sha256')}.")
    refs = "\n\n".join(f"[{i}] {r}" for i, r in enumerate(references(result.config, doc), start=1))
    pages.append(_text_page("Methods", [("", "\n\n".join(methods_paragraphs(result.config, doc))),
                                        ("References", refs), ("Provenance", prov)]))
    return pages


def write_night_report_pdf(
    result: NightResult, path: str | os.PathLike[str], *, summary: Mapping[str, Any] | None = None
) -> Path:
    """Write the night report as a 4-page A4 PDF, atomically. Returns the path.

    Parameters
    ----------
    result
        What :func:`lmdetect.process_night` returned.
    path
        Target file.
    summary
        The ``summary.json`` document (with provenance); default: built from ``result``.
    """
    doc = report_summary(result, summary)
    pages = night_report_pages(result, doc)
    meta = {"Title": night_title(result, doc), "Creator": f"lmdetect {doc.get('lmdetect_version', '')}",
            "CreationDate": None}
    with atomic_path(path) as tmp:
        with PdfPages(tmp, metadata=meta) as pdf:
            for page in pages:
                pdf.savefig(page)
    return Path(path)
