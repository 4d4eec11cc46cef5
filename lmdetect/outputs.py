"""The output folders with their reports: where :mod:`lmdetect.results` and :mod:`lmdetect.report` meet.

:mod:`lmdetect.results` writes the night folder and the multi-night folder and never imports the
report package; :mod:`lmdetect.report` renders what it is handed and writes no folders. The two
functions here hand the report renderers to the folder writers, so ``lmdetect process``,
``lmdetect batch``, ``lmdetect summarize`` and notebooks get one call each.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .results.night_folder import NightFileWriter, write_night_folder
from .summary.multinight import DEFAULT_METRIC

if TYPE_CHECKING:
    # the pipeline imports scipy.signal, which summarizing night folders does not need; the
    # multi-night and condition writers load in summarize_nights, not for every night folder
    from .pipeline import NightResult
    from .results.conditions import ConditionAnalysis, ConditionRenderer, ConditionRequest
    from .results.multinight import ExtraOutputs, MultiNightRenderer, NightFolder, SummarizeResult
    from .summary.multinight import MultiNightSummary

__all__ = ["write_night_outputs", "summarize_nights"]


def _night_report_writers(pdf: bool) -> dict[str, tuple[str, NightFileWriter]]:
    from .report import write_night_report  # lazy: matplotlib, jinja2

    writers: dict[str, tuple[str, NightFileWriter]] = {
        "report": ("report.html", lambda result, doc, path: write_night_report(result, path, summary=doc)),
    }
    if pdf:  # only then: the PDF writer imports matplotlib's PDF backend
        from .report import write_night_report_pdf

        writers["report_pdf"] = ("report.pdf", lambda result, doc, path: write_night_report_pdf(result, path, summary=doc))
    return writers


def write_night_outputs(
    result: NightResult,
    out_dir: str | os.PathLike[str],
    *,
    input_path: str | os.PathLike[str] | None = None,
    input_sha256: str | None = None,
    report: bool = False,
    pdf: bool = False,
    summary: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write the night folder (:func:`lmdetect.results.night_folder.write_night_folder`), with
    ``report.html`` (and ``report.pdf``) when asked for.

    Parameters
    ----------
    result
        The processed night.
    out_dir
        The night folder (created if missing).
    input_path, input_sha256
        The recording processed and its SHA-256 (computed from ``input_path`` when not given).
    report
        Also write ``report.html`` (needs the ``report`` extra: matplotlib, jinja2).
    pdf
        With ``report``, also write ``report.pdf``.
    summary
        The summary document, when already built
        (:func:`lmdetect.results.night_folder.night_summary_document`).

    Returns
    -------
    dict
        The files written, by key.
    """
    extra = _night_report_writers(pdf) if report else None
    return write_night_folder(result, out_dir, input_path=input_path, input_sha256=input_sha256,
                              summary=summary, extra=extra)


def summarize_nights(
    dirs: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    labels: str | os.PathLike[str] | None = None,
    metric: str = DEFAULT_METRIC,
    n_boot: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    report: bool = True,
    dpi: float = 100,
    conditions: ConditionRequest | None = None,
    extra_outputs: ExtraOutputs | None = None,
) -> SummarizeResult:
    """Summarise several processed nights into a table, statistics and a report (``lmdetect summarize``).

    :func:`lmdetect.results.multinight.write_multinight_folder` with the multi-night report of
    :mod:`lmdetect.report.multinight` as its renderer when ``report`` is true (needs the
    ``report`` extra).

    Parameters
    ----------
    dirs, out_dir, labels, metric, n_boot, seed, confidence, conditions, extra_outputs
        As for :func:`~lmdetect.results.multinight.write_multinight_folder` (``conditions``: the
        condition analyses asked for, :class:`lmdetect.results.conditions.ConditionRequest`).
    report
        Also write ``multinight.html`` (and, with conditions asked for, ``conditions.html``).
    dpi
        Resolution of the report's figures (dots per inch).

    Returns
    -------
    SummarizeResult
        The table, statistics, document and written paths.
    """
    from .results.multinight import write_multinight_folder

    render: MultiNightRenderer | None = None
    render_conditions: ConditionRenderer | None = None
    if report:
        from .report.conditions import render_conditions_report  # lazy: matplotlib, jinja2
        from .report.multinight import render_multinight_report

        def render(summary: MultiNightSummary, folders: dict[str, NightFolder], doc: dict[str, Any],
                   out: Path, analysis: ConditionAnalysis | None) -> str:
            return render_multinight_report(summary, folders, doc, out_dir=out, dpi=dpi, conditions=analysis)

        def render_conditions(analysis: ConditionAnalysis, doc: dict[str, Any]) -> str:
            return render_conditions_report(analysis, doc, dpi=dpi)

    return write_multinight_folder(dirs, out_dir, labels=labels, metric=metric, n_boot=n_boot, seed=seed,
                                   confidence=confidence, render=render, conditions=conditions,
                                   render_conditions=render_conditions, extra_outputs=extra_outputs)
