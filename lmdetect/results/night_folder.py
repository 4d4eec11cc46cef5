"""Write the outputs of one processed night into a folder.

DIR/summary.json   indices, quality, provenance (version, config and hash, input checksum)
DIR/events.csv     scored leg movements
DIR/events.tsv     the same with RLS episodes and pad sessions, BIDS events (+ events.json sidecar)
DIR/events_annotations.edf  the same as annotation-only EDF+ (when edfio is installed)
DIR/epochs.csv     30-s sleep/wake epochs with activity
DIR/config.toml    the exact configuration used
DIR/report.html    the per-night report (rendered by :mod:`lmdetect.report`, passed in as a renderer)

summary.json is written last and records the SHA-256 of every other file under ``files``;
:func:`read_night_folder` reads the folder back (the typed summary, the events and epochs tables)
and checks those checksums, so a file changed or lost after the night was written is an error
naming that file, never a silently different result.

The folder is replaced as a whole (staged beside it, then swapped in), so an interrupted run leaves
either the previous outputs or the complete new set, never a half-written file or a mix of runs.
:func:`write_night_folder` writes what it is given; it never imports :mod:`lmdetect.report`
(``lmdetect.outputs.write_night_outputs`` adds the report renderers).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.util
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._atomic import atomic_write_text, replaced_folder
from .._files import sha256_file
from ..config import dump_config_toml
from ..errors import FormatError
from ..io.annotations.events_csv import write_events_csv
from .night_summary import SCHEMA_VERSION, NightSummary, SummarySchemaError
from .summary_json import to_jsonable, write_summary_json

if TYPE_CHECKING:  # the pipeline imports scipy.signal, which reading a night folder back does not need
    from ..pipeline import NightResult

__all__ = [
    "sha256_file",
    "night_summary_document",
    "write_night_folder",
    "NightFileWriter",
    "NightFolder",
    "read_night_folder",
    "read_night_summary",
    "verify_night_files",
]

#: Writes one extra file of the night folder: called with the night, the summary document and the
#: (staging) path to write.
NightFileWriter = Callable[["NightResult", Mapping[str, Any], Path], object]

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
    # last: its presence marks a complete set, and it records the checksum of every other file
    files = {Path(p).name: sha256_file(p) for key, p in sorted(paths.items()) if key != "summary"}
    write_summary_json(paths["summary"], {**doc, "files": dict(sorted(files.items()))})
    return {key: Path(p).name for key, p in paths.items()}


# --------------------------------------------------------------------------- reading


@dataclasses.dataclass(frozen=True, eq=False)
class NightFolder:
    """One processed night as read from its folder.

    Attributes
    ----------
    path
        The folder.
    summary
        The ``summary.json`` document (:attr:`night` is its typed form).
    events
        ``events.csv`` (onset_s, duration_s, is_clm, in_plm_series) or None when absent.
    epochs
        ``epochs.csv`` (onset_s, duration_s, stage, observed) or None when absent.
    """

    path: Path
    summary: dict[str, Any]
    events: pd.DataFrame | None
    epochs: pd.DataFrame | None

    @functools.cached_property
    def night(self) -> NightSummary:
        """The summary, typed (:class:`lmdetect.results.night_summary.NightSummary`)."""
        return NightSummary.from_dict(self.summary)

    @property
    def night_id(self) -> str:
        """The batch night id when the night came from ``lmdetect batch``, else the folder name."""
        nid = self.night.batch.night_id
        return str(nid) if nid else self.path.name

    @property
    def participant(self) -> str:
        return str(self.night.batch.participant or "")


def _read_summary(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FormatError(path, "missing: not an `lmdetect process` output folder") from None
    except UnicodeDecodeError:
        raise FormatError(path, "not UTF-8 text") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    if not isinstance(doc, dict):
        raise FormatError(path, f"expected a JSON object, got {type(doc).__name__}")
    if not isinstance(doc.get("recording_start"), str):
        raise FormatError(path, "no recording_start: not a night summary written by `lmdetect process`")
    try:
        NightSummary.from_dict(doc)  # checks the schema version
    except SummarySchemaError as exc:
        raise FormatError(path, str(exc)) from None
    return doc


def _bool_column(path: Path, table: pd.DataFrame, col: str) -> np.ndarray:
    text = table[col].astype("str").str.strip().str.lower()
    good = text.isin(["true", "false", "1", "0"])
    if not good.all():
        i = int(np.flatnonzero(~good.to_numpy())[0])
        raise FormatError(path, f"column {col}: {table[col].iloc[i]!r} is not True/False", line=i + 2)
    return text.isin(["true", "1"]).to_numpy()


def _number_column(path: Path, table: pd.DataFrame, col: str) -> np.ndarray:
    x = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise FormatError(path, f"column {col}: {table[col].iloc[i]!r} is not a number", line=i + 2)
    return x


def _read_table(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> pd.DataFrame | None:
    if not path.is_file():
        log.info("%s not found; the timeline row of this night stays empty", path)
        return None
    try:
        table = pd.read_csv(path, dtype="str", keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise FormatError(path, "empty file (no header)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise FormatError(path, f"not a readable CSV table ({exc})") from None
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise FormatError(path, f"missing column(s) {', '.join(missing)}", line=1)
    return table.loc[:, [c for c in (*required, *optional) if c in table.columns]]


def _read_events(path: Path) -> pd.DataFrame | None:
    t = _read_table(path, ("onset_s", "duration_s", "in_plm_series"), ("is_clm",))
    if t is None:
        return None
    plm = _bool_column(path, t, "in_plm_series")
    return pd.DataFrame(
        {
            "onset_s": _number_column(path, t, "onset_s"),
            "duration_s": _number_column(path, t, "duration_s"),
            "is_clm": _bool_column(path, t, "is_clm") if "is_clm" in t.columns else plm,
            "in_plm_series": plm,
        }
    )


def _read_epochs(path: Path) -> pd.DataFrame | None:
    t = _read_table(path, ("onset_s", "duration_s", "stage"), ("observed",))
    if t is None:
        return None
    return pd.DataFrame(
        {
            "onset_s": _number_column(path, t, "onset_s"),
            "duration_s": _number_column(path, t, "duration_s"),
            "stage": t["stage"].astype("str").to_numpy(),
            "observed": _bool_column(path, t, "observed") if "observed" in t.columns else np.ones(len(t), bool),
        }
    )


def verify_night_files(folder: str | os.PathLike[str], summary: Mapping[str, Any]) -> None:
    """Check every file the night's ``summary.json`` lists under ``files`` against its SHA-256.

    A summary without ``files`` (written by an earlier release, or by ``lmdetect score-events``)
    has nothing to check.

    Raises
    ------
    FormatError
        Naming the first file that is missing or whose SHA-256 differs from the recorded one, or
        ``summary.json`` when its ``files`` entry is malformed.
    """
    folder = Path(folder)
    files = summary.get("files")
    if files is None:
        return
    where = folder / "summary.json"
    if not isinstance(files, Mapping):
        raise FormatError(where, f"files must be a JSON object of file name -> SHA-256, got {type(files).__name__}")
    for name, digest in files.items():
        if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
            raise FormatError(where, f"files: {name!r} is not a file name of this folder")
        if not (isinstance(digest, str) and len(digest) == 64):
            raise FormatError(where, f"files: the SHA-256 of {name} is not 64 hex digits: {digest!r}")
        path = folder / name
        if not path.is_file():
            raise FormatError(path, "missing: summary.json lists it as written with this night")
        if sha256_file(path) != digest.lower():
            raise FormatError(
                path, "SHA-256 differs from the one recorded in summary.json: the file changed after the night "
                "was written (process the night again, or restore the file)")


def read_night_summary(path: str | os.PathLike[str], *, verify: bool = True) -> dict[str, Any]:
    """The ``summary.json`` document of a night folder, its files checked, without reading the
    tables (what a resumed batch needs; :func:`read_night_folder` reads them too).

    Raises
    ------
    FormatError
        As :func:`read_night_folder`, for ``summary.json`` and the files it lists.
    """
    folder = Path(path)
    summary = _read_summary(folder / "summary.json")
    if verify:
        verify_night_files(folder, summary)
    return summary


def read_night_folder(path: str | os.PathLike[str], *, verify: bool = True) -> NightFolder:
    """Read one night folder: ``summary.json``, and ``events.csv`` and ``epochs.csv`` when present.

    Parameters
    ----------
    path
        The night folder (written by :func:`write_night_folder`, or by an earlier release).
    verify
        Check the files ``summary.json`` lists under ``files`` against their SHA-256
        (:func:`verify_night_files`). A summary of an earlier release (no ``schema_version``, no
        ``files``) loads without a check.

    Returns
    -------
    NightFolder
        The summary as read (:attr:`NightFolder.night` its typed form) and the two tables.

    Raises
    ------
    FormatError
        ``summary.json`` missing, not a night summary or of a schema version this release does
        not read; a listed file missing or changed; a malformed ``events.csv`` / ``epochs.csv``
        (the message names the file and line).
    """
    folder = Path(path)
    summary = read_night_summary(folder, verify=verify)
    return NightFolder(folder, summary, _read_events(folder / "events.csv"), _read_epochs(folder / "epochs.csv"))
