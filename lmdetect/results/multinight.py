"""Multi-night results: night folders and label files in, the night table, statistics and report out.

:func:`write_multinight_folder` is what ``lmdetect summarize`` runs
(through ``lmdetect.outputs.summarize_nights``, which adds the report renderer): it reads the output folders of
``lmdetect process`` (or ``lmdetect batch``), builds the night table and its statistics
(:mod:`lmdetect.summary.multinight`) and writes into the output folder (staged, then moved into
place when every file succeeded):

``multinight.csv``, ``multinight.parquet``
    One row per night (:func:`lmdetect.summary.multinight.multinight_table`); the columns are
    snake_case ids with units (``plms_per_h``), the names of the cohort table; the HTML report
    shows their display labels (``PLMS/h``).
``multinight.json``
    The statistics (trends, averages, pad vs no-pad ratio with its bootstrap interval and method,
    cautions), keyed by the same column ids, the condition analyses (``conditions``) and each
    night's provenance.
``multinight.html``
    The self-contained multi-night report, when a renderer is given (:mod:`lmdetect.report`
    renders it; this module never imports the report package).
``conditions.json``, ``conditions.html``
    When conditions are asked for (:class:`lmdetect.results.conditions.ConditionRequest`): the
    same analyses as ``multinight.json``'s ``conditions``, and the conditions report.

The night table carries one ``condition_<name>`` column per condition of the nights
(:func:`lmdetect.results.conditions.add_condition_columns`). The condition analyses are those
asked for, else a comparison of every condition the nights differ in
(:func:`lmdetect.results.conditions.conditions_to_compare`), so the multi-night report shows every
condition either way.

A night folder holds ``summary.json`` (required) and ``events.csv`` / ``epochs.csv`` (used for
the multi-night timeline when present); each is read by
:func:`lmdetect.results.night_folder.read_night_folder`, which checks the SHA-256 the summary
records for every file of the folder. :func:`find_night_folders` also accepts a batch output
folder and finds the night folders below it.

A labels file is a CSV with a ``night`` and a ``pad`` column::

    night,pad
    2026-03-16,pad
    participant01/night05,no-pad

``night`` names a night by its label (the batch night id, else the folder name), its folder name
or its date (``YYYY-MM-DD``, when exactly one night has it). ``pad`` is ``pad``/``yes``/``true``/``1``
or ``no-pad``/``no``/``false``/``0``; an empty cell keeps the automatic rule.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .._atomic import atomic_path, atomic_write_text
from .._files import sha256_file_or_none
from ..errors import FormatError, LmdetectError
from ..summary.multinight import (
    DEFAULT_METRIC,
    NIGHT_COLUMN,
    MultiNightSummary,
    multinight_summary,
    multinight_table,
    night_date,
)
from .conditions import (
    CONDITION_OUTPUTS,
    ConditionAnalysis,
    ConditionRenderer,
    ConditionRequest,
    add_condition_columns,
    analyse_conditions,
    condition_document,
    condition_sources,
    conditions_to_compare,
    diary_conditions,
)
from .night_folder import NightFolder, read_night_folder  # re-exported: the folders summarize reads
from .summary_json import to_jsonable

__all__ = [
    "NightFolder",
    "NightLabel",
    "find_night_folders",
    "read_night_folder",
    "read_night_folders",
    "night_folder_labels",
    "read_night_labels",
    "match_night_labels",
    "multinight_document",
    "SummarizeResult",
    "MultiNightRenderer",
    "write_multinight_folder",
    "OUTPUT_NAMES",
]

#: Files written by :func:`write_multinight_folder`, by key.
OUTPUT_NAMES: dict[str, str] = {
    "table_csv": "multinight.csv",
    "table_parquet": "multinight.parquet",
    "stats": "multinight.json",
    "report": "multinight.html",
}

log = logging.getLogger(__name__)

_TRUE = frozenset({"pad", "yes", "y", "true", "1"})
_FALSE = frozenset({"no-pad", "no_pad", "nopad", "no pad", "no", "n", "false", "0"})


@dataclasses.dataclass(frozen=True)
class NightLabel:
    """One row of a labels file: the night named, pad (True) or no pad (False), and its line."""

    night: str
    pad: bool
    line: int


def find_night_folders(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The night folders given, in order; a folder without ``summary.json`` is searched below.

    Raises
    ------
    FormatError
        A path that does not exist, is not a folder, holds no ``summary.json`` at any depth, or
        names a night folder already given.
    """
    out: list[Path] = []
    seen: dict[Path, Path] = {}
    for p in paths:
        path = Path(p)
        if path.is_file() and path.name == "summary.json":
            path = path.parent
        if not path.exists():
            raise FormatError(path, "no such folder")
        if not path.is_dir():
            raise FormatError(path, "not a folder (give the output folder of `lmdetect process`)")
        if (path / "summary.json").is_file():
            found = [path]
        else:
            # hidden folders (e.g. the staging folders of an interrupted run) are not nights
            found = sorted(
                f.parent for f in path.rglob("summary.json")
                if not any(x.startswith(".") for x in f.relative_to(path).parts)
            )
            if not found:
                raise FormatError(path, "no summary.json in this folder or below: not an `lmdetect process` output folder")
        for f in found:
            key = f.resolve()
            if key in seen:
                raise FormatError(f, f"night folder given more than once (also as {seen[key]})")
            seen[key] = f
            out.append(f)
    return out


def read_night_folders(paths: Iterable[str | os.PathLike[str]]) -> list[NightFolder]:
    """:func:`read_night_folder` for every folder :func:`find_night_folders` finds."""
    return [read_night_folder(p) for p in find_night_folders(paths)]


def night_folder_labels(folders: Sequence[NightFolder]) -> list[str]:
    """A unique label per night: its night id, or ``parent/name`` where two folders share a name.

    Raises
    ------
    FormatError
        When two folders cannot be told apart by their last two path parts.
    """
    labels = [f.night_id for f in folders]
    for i, lab in enumerate(labels):
        if labels.count(lab) > 1:
            labels[i] = "/".join(folders[i].path.parts[-2:])
    for i, lab in enumerate(labels):
        j = labels.index(lab)
        if j != i:
            raise FormatError(folders[i].path, f"has the same night label {lab!r} as {folders[j].path}")
    return labels


def read_night_labels(path: str | os.PathLike[str]) -> list[NightLabel]:
    """Read a labels file (module docstring): one :class:`NightLabel` per non-empty ``pad`` cell.

    Raises
    ------
    FormatError
        No ``night`` or ``pad`` column, an unknown ``pad`` value, an empty ``night`` or a night
        named twice (with the line).
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise FormatError(path, "file not found") from None
    except UnicodeDecodeError:
        raise FormatError(path, "not UTF-8 text") from None
    except csv.Error as exc:
        raise FormatError(path, f"not a readable CSV file ({exc})") from None
    if not rows:
        raise FormatError(path, "empty file; expected a header with columns night,pad")
    header = [h.strip().lower().replace(" ", "_") for h in rows[0]]
    if "night" not in header or "pad" not in header:
        raise FormatError(path, f"header needs columns night and pad, got {', '.join(rows[0])}", line=1)
    i_night, i_pad = header.index("night"), header.index("pad")
    out: list[NightLabel] = []
    named: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = row + [""] * (len(header) - len(row))
        night, value = cells[i_night].strip(), cells[i_pad].strip().lower()
        if not night:
            raise FormatError(path, "empty night", line=line)
        if night in named:
            raise FormatError(path, f"night {night!r} labelled twice (also on line {named[night]})", line=line)
        named[night] = line
        if not value:
            continue
        if value in _TRUE:
            out.append(NightLabel(night, True, line))
        elif value in _FALSE:
            out.append(NightLabel(night, False, line))
        else:
            raise FormatError(path, f"pad value {cells[i_pad]!r} is not one of pad, no-pad, yes, no, true, false, 1, 0",
                              line=line)
    return out


def match_night_labels(
    labels: Sequence[NightLabel],
    folders: Sequence[NightFolder],
    nights: Sequence[str],
    *,
    source: str | os.PathLike[str] | None = None,
) -> list[bool | None]:
    """Per night the pad label a labels file gives it (None: no label).

    A label names a night by its label in ``nights``, its folder name or its date.

    Raises
    ------
    FormatError
        (naming ``source`` and the line) when a label matches no night, matches several nights by
        date, or two labels name the same night.
    """
    keys: dict[str, set[int]] = {}
    for i, (f, name) in enumerate(zip(folders, nights, strict=True)):
        for k in (name, f.path.name, night_date(f.summary).isoformat()):
            keys.setdefault(k, set()).add(i)
    out: list[bool | None] = [None] * len(folders)
    line_of: dict[int, int] = {}
    for lab in labels:
        hit = keys.get(lab.night, set())
        if not hit:
            shown = ", ".join(nights[:6]) + (", ..." if len(nights) > 6 else "")
            raise FormatError(source, f"night {lab.night!r} matches none of the nights given ({shown})", line=lab.line)
        if len(hit) > 1:
            names = ", ".join(nights[i] for i in sorted(hit))
            raise FormatError(source, f"night {lab.night!r} matches several nights ({names}); use the night label",
                              line=lab.line)
        i = hit.pop()
        if i in line_of:
            raise FormatError(source, f"night {nights[i]} is labelled twice (also on line {line_of[i]})", line=lab.line)
        line_of[i] = lab.line
        out[i] = lab.pad
    return out


def multinight_document(
    summary: MultiNightSummary,
    folders: Sequence[NightFolder],
    nights: Sequence[str],
    *,
    labels_file: str | os.PathLike[str] | None = None,
    conditions: ConditionAnalysis | None = None,
) -> dict[str, Any]:
    """``multinight.json``: the statistics, the condition analyses, the table's columns and each night's provenance."""
    from .. import __version__

    by_label = dict(zip(nights, folders, strict=True))
    prov = []
    for night in summary.table[NIGHT_COLUMN]:
        f = by_label[night]
        s = f.night
        prov.append(
            {
                "night": night,
                "folder": str(f.path),
                "input_file": s.input_file,
                "input_sha256": s.input_sha256,
                "summary_sha256": sha256_file_or_none(f.path / "summary.json"),
                "config_hash": s.config_hash,
                "rule_set": s.rule_set,
                "lmdetect_version": s.lmdetect_version,
            }
        )
    doc: dict[str, Any] = {"lmdetect_version": __version__}
    doc.update(summary.to_dict())
    doc["labels_file"] = None if labels_file is None else Path(labels_file).name
    doc["conditions"] = None if conditions is None else condition_document(conditions)
    doc["table_columns"] = [str(c) for c in summary.table.columns]
    doc["night_provenance"] = prov
    return to_jsonable(doc)  # type: ignore[no-any-return]


#: Renders the multi-night report: (summary, nights by label, multinight.json document, output
#: folder, condition analyses or None) -> HTML text.
MultiNightRenderer = Callable[
    [MultiNightSummary, "dict[str, NightFolder]", "dict[str, Any]", Path, "ConditionAnalysis | None"], str
]

#: Further outputs: (summary, nights by label) -> {key: (file name, text)}.
ExtraOutputs = Callable[[MultiNightSummary, "dict[str, NightFolder]"], "dict[str, tuple[str, str]]"]


@dataclasses.dataclass(frozen=True, eq=False)
class SummarizeResult:
    """What :func:`write_multinight_folder` computed and wrote.

    Attributes
    ----------
    summary
        The night table and statistics.
    document
        The ``multinight.json`` content.
    folders
        The nights as read, by night label, in table order.
    files
        Written files by key (:data:`OUTPUT_NAMES`; ``conditions_stats`` and ``conditions_report``
        for :data:`lmdetect.results.conditions.CONDITION_OUTPUTS`).
    conditions
        The condition analyses (None when the nights differ in no condition but the pad and none was asked for).
    """

    summary: MultiNightSummary
    document: dict[str, Any]
    folders: dict[str, NightFolder]
    files: dict[str, Path]
    conditions: ConditionAnalysis | None = None


def write_multinight_folder(
    dirs: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    labels: str | os.PathLike[str] | None = None,
    metric: str = DEFAULT_METRIC,
    n_boot: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    render: MultiNightRenderer | None = None,
    conditions: ConditionRequest | None = None,
    render_conditions: ConditionRenderer | None = None,
    extra_outputs: ExtraOutputs | None = None,
) -> SummarizeResult:
    """Summarise several processed nights into a table, statistics and a report (``lmdetect summarize``).

    Parameters
    ----------
    dirs
        Output folders of ``lmdetect process``, or folders below which they lie (a batch output).
    out_dir
        Where to write :data:`OUTPUT_NAMES` (created if missing).
    labels
        Optional labels file overriding the pad-night rule per night (module docstring).
    metric
        Night-table column compared between pad and no-pad nights.
    n_boot, seed, confidence
        Bootstrap settings (:func:`lmdetect.summary.multinight.pad_comparison`).
    render
        Renders ``multinight.html``; None writes no report (and removes an earlier one).
    conditions
        The condition analyses asked for (``--compare``, ``--before-after``) and a conditions file
        marking nights; with analyses asked for, ``conditions.json`` is written (and removed when a
        rerun asks for none).
    render_conditions
        Renders ``conditions.html`` when conditions are asked for.
    extra_outputs
        Further files from the summary, written together with the others.

    Everything is read, computed and rendered before the first file is written, so bad input
    leaves nothing behind; the files are then written to a staging folder and moved into place
    together.
    """
    dirs = list(dirs)
    folders = read_night_folders(dirs)
    if not folders:
        raise LmdetectError("no night folders given")
    nights = night_folder_labels(folders)
    pad_labels = None
    if labels is not None:
        pad_labels = match_night_labels(read_night_labels(labels), folders, nights, source=labels)
    table = multinight_table(
        [f.summary for f in folders], nights, participants=[f.participant for f in folders], pad_labels=pad_labels
    )
    request = conditions if conditions else None  # a conditions file alone only marks the nights
    table = add_condition_columns(
        table, condition_sources(dirs, None if conditions is None else conditions.conditions_file),
        recorded={n: diary_conditions(f.summary) for n, f in zip(nights, folders, strict=True)},
    )
    summary = multinight_summary(table, metric=metric, n_boot=n_boot, seed=seed, confidence=confidence)
    metric = summary.comparison.column
    analysis = None
    if request is not None:
        analysis = analyse_conditions(table, request, metric=metric, n_boot=n_boot, seed=seed, confidence=confidence)
    elif conditions_to_compare(table):
        analysis = analyse_conditions(table, ConditionRequest(compare=conditions_to_compare(table)), metric=metric,
                                      n_boot=n_boot, seed=seed, confidence=confidence, requested=False)
    doc = multinight_document(summary, folders, nights, labels_file=labels, conditions=analysis)
    by_label = dict(zip(nights, folders, strict=True))
    ordered = {n: by_label[n] for n in table[NIGHT_COLUMN]}
    out = Path(out_dir)
    html = None if render is None else render(summary, ordered, doc, out, analysis)
    extra = {} if extra_outputs is None else extra_outputs(summary, ordered)
    if request is not None and analysis is not None:
        text = json.dumps(doc["conditions"], indent=2, allow_nan=False) + "\n"
        extra["conditions_stats"] = (CONDITION_OUTPUTS["stats"], text)
        if render_conditions is not None:
            extra["conditions_report"] = (CONDITION_OUTPUTS["report"], render_conditions(analysis, doc["conditions"]))
    out.mkdir(parents=True, exist_ok=True)
    # written into a staging folder and moved into place only when every file succeeded, so a
    # failure never leaves a table and a report that disagree
    stage = Path(tempfile.mkdtemp(prefix=".lmdetect-", dir=out))
    try:
        staged = {k: stage / v for k, v in OUTPUT_NAMES.items() if k != "report" or html is not None}
        with atomic_path(staged["table_parquet"]) as tmp:
            table.to_parquet(tmp, index=False)
        atomic_write_text(staged["table_csv"], table.to_csv(index=False, lineterminator="\n"))
        atomic_write_text(staged["stats"], json.dumps(doc, indent=2, allow_nan=False) + "\n")
        if html is not None:
            atomic_write_text(staged["report"], html)
        for key, (name, text) in extra.items():
            staged[key] = stage / name
            atomic_write_text(staged[key], text)
        files = {}
        for key, path in staged.items():
            files[key] = out / path.name
            os.replace(path, files[key])
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    stale = out / OUTPUT_NAMES["report"]
    if html is None and stale.exists():  # never leave a report that disagrees with the table
        stale.unlink()
        log.info("removed the previous %s (no report asked for)", stale.name)
    kept = {p.name for p in files.values()}
    for name in CONDITION_OUTPUTS.values():  # nor conditions files of an earlier run
        if name not in kept and (out / name).exists():
            (out / name).unlink()
            log.info("removed the previous %s (not written by this run)", name)
    return SummarizeResult(summary=summary, document=doc, folders=ordered, files=files, conditions=analysis)
