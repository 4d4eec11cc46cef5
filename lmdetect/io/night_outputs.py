"""Write the outputs of one processed night into a folder.

DIR/summary.json   indices, quality, provenance (version, config and hash, input checksum)
DIR/events.csv     scored leg movements
DIR/events.tsv     the same with RLS episodes and pad sessions, BIDS events (+ events.json sidecar)
DIR/events_annotations.edf  the same as annotation-only EDF+ (when edfio is installed)
DIR/epochs.csv     30-s sleep/wake epochs with activity
DIR/config.toml    the exact configuration used
DIR/report.html    the per-night report (when lmdetect[report] is installed and asked for)

The folder is replaced as a whole (staged beside it, then swapped in), so an interrupted run leaves
either the previous outputs or the complete new set, never a half-written file or a mix of runs.
"""

from __future__ import annotations

import importlib.util
import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_text, replaced_folder
from .._files import sha256_file
from ..config import dump_config_toml
from ..pipeline import NightResult
from .outputs import write_events_csv, write_summary_json

__all__ = ["sha256_file", "night_summary_document", "write_night_outputs"]

log = logging.getLogger(__name__)


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
    config.toml (and report.html / report.pdf) into ``out_dir``, replacing the folder as a whole.

    Everything is written into a staging folder beside ``out_dir`` and swapped in only when every
    file succeeded (:func:`lmdetect._atomic.replaced_folder`): a failure or a kill at any moment
    leaves the previous outputs intact or the new ones complete, never a mix. A folder that also
    holds files lmdetect did not write is not swapped (they would be lost): the outputs are then
    moved in one by one, summary.json removed first and moved in last, so an incomplete set
    never has a summary.json.

    Raises
    ------
    lmdetect._atomic.FolderInUseError
        Another lmdetect process is writing ``out_dir``.
    """
    final = Path(out_dir)
    doc = night_summary_document(result, input_path=input_path, input_sha256=input_sha256)
    with replaced_folder(final) as stage:
        names = _write_set(result, stage, doc, report=report, pdf=pdf)
        if not _only_outputs(final):
            _move_in_files(stage, final, names)
    return {key: final / name for key, name in names.items()}


#: Every name :func:`write_night_outputs` may write: a folder holding only these is ours to swap.
OUTPUT_NAMES = frozenset({
    "summary.json", "events.csv", "events.tsv", "events.json", "events_annotations.edf",
    "epochs.csv", "config.toml", "report.html", "report.pdf",
})


def _only_outputs(folder: Path) -> bool:
    cwd, target = Path.cwd(), Path(os.path.abspath(folder))
    if cwd == target or target in cwd.parents:
        return False  # never rename away the folder a shell stands in
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return True
    except NotADirectoryError:
        return True  # replaced_folder refuses it
    # hidden .lmdetect-* entries are staging folders of earlier versions, written inside the folder
    return all(e.name in OUTPUT_NAMES or e.name.startswith(".lmdetect-") for e in entries)


def _move_in_files(stage: Path, final: Path, names: dict[str, str]) -> None:
    """Replace our files in a folder shared with other files; the emptied staging folder is
    removed, which tells :func:`replaced_folder` there is nothing to swap."""
    with contextlib.suppress(FileNotFoundError):
        (final / "summary.json").unlink()  # never a complete-looking mix
    for name in OUTPUT_NAMES - set(names.values()):
        with contextlib.suppress(FileNotFoundError):
            (final / name).unlink()  # an output of the earlier run this one does not write
    for key in sorted(names, key=lambda k: k == "summary"):
        os.replace(stage / names[key], final / names[key])
    stage.rmdir()


def _write_set(result: NightResult, out: Path, doc: dict[str, Any], *, report: bool, pdf: bool) -> dict[str, str]:
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
    write_summary_json(paths["summary"], doc)  # last: its presence marks a complete set
    return {key: Path(p).name for key, p in paths.items()}
