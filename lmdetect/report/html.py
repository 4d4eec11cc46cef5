"""The per-night HTML report: one self-contained file (figures inlined as PNG ``data:`` URIs, no
scripts, fonts or links to fetch), rendered from ``templates/night.html.jinja``.

Every number shown comes from the night's ``summary.json`` document and carries its dotted key
and exact JSON value as ``data-key`` / ``data-value`` attributes, so tests (and curious readers)
can check the page against the file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from .._atomic import atomic_write_text
from .._versions import package_versions
from ..config import dump_config_toml
from ..pipeline import NightResult
from ..results.night_folder import night_summary_document
from ..results.summary_json import to_jsonable
from ..summary.night import NIGHT_METRIC_COLUMNS, format_metric, metric_value
from ._templates import environment
from .diary_text import diary_overruled_rows
from .figures import figure_to_png, night_figures, png_data_uri
from .intervention_text import intervention_window_rows, intervention_windows_note
from .methods import ACTIGRAPHY_NOTE, methods_paragraphs, references, tib_from
from .pad_text import pad_handling_sentences, pad_measurement_sentence, pad_session_rows, pad_windows_note

__all__ = ["night_title", "render_night_report", "report_summary", "write_night_report"]

log = logging.getLogger(__name__)

_GROUP_TITLES = {
    "sleep": "Sleep",
    "plm": "Leg movements",
    "imi": "Periodicity and intervals",
    "context": "RLS episodes and pad sessions",
    "quality": "Recording quality",
}

_VERSIONED = ("numpy", "scipy", "pandas", "matplotlib", "jinja2")



def report_summary(result: NightResult, summary: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The summary document a report shows, in its JSON form (as written to ``summary.json``).

    ``summary`` is the document :func:`lmdetect.results.night_folder.night_summary_document` built
    (with provenance); without it one is built from ``result`` (no input checksum).
    """
    if summary is None:
        summary = night_summary_document(result)
    # the JSON form (NaN as None, plain numbers) makes the shown values exactly those of summary.json
    return to_jsonable(summary)  # type: ignore[no-any-return]


def night_title(result: NightResult, summary: Mapping[str, Any]) -> str:
    """'Night of 2026-03-14, SIM-1 (left ankle)'."""
    rec = summary.get("recording") or {}
    device = rec.get("device_id", "unknown device")
    return f"Night of {result.start.strftime('%Y-%m-%d')}, {device} ({rec.get('side', 'unknown')} ankle)"


def _value_function(summary: Mapping[str, Any], start: dt.datetime) -> Callable[..., Markup]:
    def v(key: str, decimals: int | None = None, fmt: str = "number") -> Markup:
        value = metric_value(summary, key)
        if fmt == "clock":
            text = "n/a" if value is None else (start + dt.timedelta(seconds=float(value))).strftime("%H:%M")
        elif fmt == "percent":
            text = "n/a" if value is None else f"{100.0 * float(value):.{decimals or 0}f} %"
        else:
            text = format_metric(value, decimals)
        attrs = f' data-key="{escape(key)}" data-value="{escape(json.dumps(value))}" data-format="{fmt}"'
        if decimals is not None:
            attrs += f' data-decimals="{decimals}"'
        return Markup(f"<span{attrs}>{escape(text)}</span>")

    return v


def _metric_groups() -> list[dict[str, Any]]:
    groups: dict[str, list[Any]] = {}
    for c in NIGHT_METRIC_COLUMNS:
        if c.group != "night":
            groups.setdefault(c.group, []).append(c)
    return [{"title": _GROUP_TITLES[g], "columns": cols} for g, cols in groups.items()]


def _context(result: NightResult, doc: dict[str, Any], *, dpi: float) -> dict[str, Any]:
    figs = night_figures(result, doc)
    images = {name: png_data_uri(figure_to_png(fig, dpi=dpi)) for name, fig in figs.items()}
    start = result.start
    return {
        "title": night_title(result, doc),
        "doc": doc,
        "v": _value_function(doc, start),
        "note": ACTIGRAPHY_NOTE,
        "metric_groups": _metric_groups(),
        "images": images,
        "n_hours": len(doc.get("plm_per_hour_of_night") or []),
        "rls": metric_value(doc, "context.rls") or {},
        "pad": metric_value(doc, "context.pad") or {},
        "pad_handling": pad_handling_sentences(doc),
        "pad_windows_note": pad_windows_note(doc),
        "pad_measurement_text": pad_measurement_sentence(doc),
        "pad_session_rows": pad_session_rows(doc),
        "diary_overruled": diary_overruled_rows(doc),
        "interventions": [r for r in doc.get("interventions") or [] if isinstance(r, Mapping)],
        "intervention_windows": intervention_window_rows(doc),
        "intervention_windows_note": intervention_windows_note(doc),
        "faint_mg": f"{result.config.detect.faint_movement_mg:g}",
        "tib_from": tib_from(doc),
        "methods": methods_paragraphs(result.config, doc),
        "references": references(result.config, doc),
        "versions": list(package_versions(_VERSIONED).items()),
        "config_toml": dump_config_toml(result.config),
    }


def render_night_report(
    result: NightResult, *, summary: Mapping[str, Any] | None = None, dpi: float = 100
) -> str:
    """The HTML text of the night report.

    Parameters
    ----------
    result
        What :func:`lmdetect.process_night` returned.
    summary
        The ``summary.json`` document (with provenance); default: built from ``result``.
    dpi
        Resolution of the embedded figures.
    """
    doc = report_summary(result, summary)
    html = environment().get_template("night.html.jinja").render(**_context(result, doc, dpi=dpi))
    log.debug("night report: %d characters", len(html))
    return html


def write_night_report(
    result: NightResult,
    path: str | os.PathLike[str],
    *,
    summary: Mapping[str, Any] | None = None,
    dpi: float = 100,
) -> Path:
    """Write the self-contained HTML report of one night, atomically. Returns the path."""
    atomic_write_text(path, render_night_report(result, summary=summary, dpi=dpi))
    return Path(path)
