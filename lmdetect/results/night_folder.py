"""Write the outputs of one processed night into a folder.

DIR/summary.json   indices, quality, provenance (version, config and hash, input checksum)
DIR/events.csv     scored leg movements
DIR/events.tsv     the same with RLS episodes and pad sessions, BIDS events (+ events.json sidecar)
DIR/events_annotations.edf  the same as annotation-only EDF+ (when edfio is installed)
DIR/epochs.csv     30-s sleep/wake epochs with activity
DIR/config.toml    the exact configuration used
DIR/report.html    the per-night report (rendered by :mod:`lmdetect.report`, passed in as a renderer)

:func:`write_night_folder` writes what it is given; it never imports :mod:`lmdetect.report`
(``lmdetect.outputs.write_night_outputs`` adds the report renderers). Every file is written atomically (temporary name, then rename), so an interrupted run never leaves a
half-written output behind.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_text
from ..config import dump_config_toml
from ..io.annotations.events_csv import write_events_csv
from ..pipeline import NightResult
from .night_summary import SCHEMA_VERSION
from .summary_json import to_jsonable, write_summary_json

__all__ = ["sha256_file", "night_summary_document", "write_night_folder", "NightFileWriter"]

#: Writes one extra file of the night folder: called with the night, the summary document and the
#: (staging) path to write.
NightFileWriter = Callable[[NightResult, Mapping[str, Any], Path], object]

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
    """summary.json content: the night summary plus provenance and its ``schema_version``
    (:class:`lmdetect.results.night_summary.NightSummary` is its typed form)."""
    from .. import __version__

    doc = dict(result.summary)
    doc["schema_version"] = SCHEMA_VERSION
    doc["lmdetect_version"] = __version__
    doc["config"] = result.config.to_dict()
    doc["recording"] = result.recording_info
    if input_path is not None:
        doc["input_file"] = Path(input_path).name
        doc["input_sha256"] = input_sha256 or sha256_file(input_path)
    return doc


def write_night_folder(
    result: NightResult,
    out_dir: str | os.PathLike[str],
    *,
    input_path: str | os.PathLike[str] | None = None,
    input_sha256: str | None = None,
    summary: Mapping[str, Any] | None = None,
    extra: Mapping[str, tuple[str, NightFileWriter]] | None = None,
) -> dict[str, Path]:
    """Write summary.json, events.csv, events.tsv/.json, events_annotations.edf, epochs.csv,
    config.toml and the ``extra`` files (report.html / report.pdf) of one night.

    Parameters
    ----------
    result
        The processed night.
    out_dir
        The night folder (created if missing).
    input_path, input_sha256
        The recording processed and its SHA-256 (computed from ``input_path`` when not given).
    summary
        The summary document (:func:`night_summary_document`); built here when not given.
    extra
        More files by key: ``(file name, writer)``, written into the staging folder with the
        others (e.g. ``{"report": ("report.html", write_report)}``).

    Returns
    -------
    dict
        The files written, by key (``summary``, ``events``, ``epochs``, ``config``, ...).
    """
    final = Path(out_dir)
    final.mkdir(parents=True, exist_ok=True)
    if summary is None:
        summary = night_summary_document(result, input_path=input_path, input_sha256=input_sha256)
    doc = summary
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
        from ..io.bids_events import write_bids_events

        paths.update(write_bids_events(result, out / "events.tsv", summary=doc))
        if importlib.util.find_spec("edfio") is not None:
            from ..io.edf_annotations import write_night_edf_annotations

            paths["events_edf"] = write_night_edf_annotations(result, out / "events_annotations.edf", summary=doc)
        else:
            log.warning("events_annotations.edf skipped: install lmdetect[edf] (edfio)")
        atomic_write_text(paths["epochs"], result.epochs.to_csv(index=False, float_format="%.6g"))
        atomic_write_text(paths["config"], dump_config_toml(result.config))
        for key, (name, write) in (extra or {}).items():
            paths[key] = out / name
            write(result, to_jsonable(doc), paths[key])  # the values exactly as in summary.json
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
