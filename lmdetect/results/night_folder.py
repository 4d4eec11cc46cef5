"""Write the outputs of one processed night into a folder.

DIR/summary.json   indices, quality, provenance (version, config and hash, input checksum)
DIR/events.csv     scored leg movements
DIR/events.tsv     the same with RLS episodes and pad sessions, BIDS events (+ events.json sidecar)
DIR/events_annotations.edf  the same as annotation-only EDF+ (when edfio is installed)
DIR/epochs.csv     30-s sleep/wake epochs with activity
DIR/config.toml    the exact configuration used
DIR/report.html    the per-night report (rendered by :mod:`lmdetect.report`, passed in as a renderer)

The folder is replaced as a whole (staged beside it, then swapped in), so an interrupted run leaves
either the previous outputs or the complete new set, never a half-written file or a mix of runs.
:func:`write_night_folder` writes what it is given; it never imports :mod:`lmdetect.report`
(``lmdetect.outputs.write_night_outputs`` adds the report renderers).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_text, replaced_folder
from .._files import sha256_file
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
    config.toml and the ``extra`` files (report.html / report.pdf) of one night, replacing the
    folder as a whole.

    Everything is written into a staging folder beside ``out_dir`` and swapped in only when every
    file succeeded (:func:`lmdetect._atomic.replaced_folder`): a failure or a kill at any moment
    leaves the previous outputs intact or the new ones complete, never a mix. A folder that also
    holds files lmdetect did not write is not swapped (they would be lost): the outputs are then
    moved in one by one, summary.json removed first and moved in last, so an incomplete set
    never has a summary.json.

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

    Raises
    ------
    lmdetect._atomic.FolderInUseError
        Another lmdetect process is writing ``out_dir``.
    """
    final = Path(out_dir)
    doc = summary if summary is not None else night_summary_document(
        result, input_path=input_path, input_sha256=input_sha256)
    with replaced_folder(final) as stage:
        names = _write_set(result, stage, doc, extra or {})
        if not _only_outputs(final):
            _move_in_files(stage, final, names)
    return {key: final / name for key, name in names.items()}


#: Every name :func:`write_night_folder` may write: a folder holding only these is ours to swap.
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


def _write_set(
    result: NightResult, out: Path, doc: Mapping[str, Any], extra: Mapping[str, tuple[str, NightFileWriter]]
) -> dict[str, str]:
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
    for key, (name, write) in extra.items():
        paths[key] = out / name
        write(result, to_jsonable(doc), paths[key])  # the values exactly as in summary.json
    write_summary_json(paths["summary"], doc)  # last: its presence marks a complete set
    return {key: Path(p).name for key, p in paths.items()}
