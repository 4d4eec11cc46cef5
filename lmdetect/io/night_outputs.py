"""Write the outputs of one processed night into a folder.

DIR/summary.json   indices, quality, provenance (version, config and hash, input checksum)
DIR/events.csv     scored leg movements
DIR/events.tsv     the same with RLS episodes and pad sessions, BIDS events (+ events.json sidecar)
DIR/events_annotations.edf  the same as annotation-only EDF+ (when edfio is installed)
DIR/epochs.csv     30-s sleep/wake epochs with activity
DIR/config.toml    the exact configuration used
DIR/report.html    the per-night report (when lmdetect[report] is installed and asked for)

Every file is written atomically (temporary name, then rename), so an interrupted run never leaves a
half-written output behind.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_text
from ..config import dump_config_toml
from ..pipeline import NightResult
from .outputs import write_events_csv, write_summary_json

__all__ = ["sha256_file", "night_summary_document", "write_night_outputs"]

log = logging.getLogger(__name__)


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def night_summary_document(result: NightResult, *, input_path: str | os.PathLike[str] | None = None,
                           input_sha256: str | None = None) -> dict[str, Any]:
    """summary.json content: the night summary plus provenance."""
    from .. import __version__

    doc = dict(result.summary)
    doc["lmdetect_version"] = __version__
    doc["config"] = result.config.to_dict()
    doc["recording"] = result.recording_info
    if input_path is not None:
        doc["input_file"] = Path(input_path).name
        doc["input_sha256"] = input_sha256 or sha256_file(input_path)
    return doc


def write_night_outputs(
    result: NightResult,
    out_dir: str | os.PathLike[str],
    *,
    input_path: str | os.PathLike[str] | None = None,
    input_sha256: str | None = None,
    report: bool = False,
    pdf: bool = False,
) -> dict[str, Path]:
    """Write summary.json, events.csv, events.tsv/.json, events_annotations.edf, epochs.csv,
    config.toml (and report.html / report.pdf).

    Parameters
    ----------
    result : NightResult
        The processed night (:func:`lmdetect.process_night`).
    out_dir : str or os.PathLike
        The night folder (created if missing); an older set of outputs is replaced.
    input_path : str or os.PathLike, optional
        The recording processed, recorded in summary.json.
    input_sha256 : str, optional
        SHA-256 of the recording (hex), recorded in summary.json.
    report : bool
        Also write report.html (needs the ``report`` extra).
    pdf : bool
        Also write report.pdf (with ``report``).

    Returns
    -------
    dict of str to Path
        The files written, by key (``summary``, ``events``, ``epochs``, ``config``, ...).
    """
    final = Path(out_dir)
    final.mkdir(parents=True, exist_ok=True)
    doc = night_summary_document(result, input_path=input_path, input_sha256=input_sha256)
    # Everything is written into a staging folder first and moved into place only when every
    # file succeeded: a failure (disk full, a plotting error) never leaves a partial set, and an
    # older complete set is replaced file by file with summary.json last.
    stage = Path(tempfile.mkdtemp(prefix=".lmdetect-", dir=final))
    try:
        out = stage
        paths = {
            "events": out / "events.csv",
            "epochs": out / "epochs.csv",
            "config": out / "config.toml",
            "summary": out / "summary.json",
        }
        write_events_csv(paths["events"], result.events)
        from .bids_events import write_bids_events

        paths.update(write_bids_events(result, out / "events.tsv", summary=doc))
        if importlib.util.find_spec("edfio") is not None:
            from .edf_annotations import write_night_edf_annotations

            paths["events_edf"] = write_night_edf_annotations(result, out / "events_annotations.edf", summary=doc)
        else:
            log.warning("events_annotations.edf skipped: install lmdetect[edf] (edfio)")
        atomic_write_text(paths["epochs"], result.epochs.to_csv(index=False, float_format="%.6g"))
        atomic_write_text(paths["config"], dump_config_toml(result.config))
        if report:
            from ..report import write_night_report  # lazy: matplotlib/jinja2

            paths["report"] = out / "report.html"
            write_night_report(result, paths["report"], summary=doc)
            if pdf:
                from ..report import write_night_report_pdf

                paths["report_pdf"] = out / "report.pdf"
                write_night_report_pdf(result, paths["report_pdf"], summary=doc)
        write_summary_json(paths["summary"], doc)
        # summary last: its presence marks a complete set of outputs (batch resumability)
        moved: dict[str, Path] = {}
        for key in sorted(paths, key=lambda k: k == "summary"):
            target = final / paths[key].name
            os.replace(paths[key], target)
            moved[key] = target
        return moved
    finally:
        shutil.rmtree(stage, ignore_errors=True)
