"""Cohort outputs of a batch: the night table, the failures and the run manifest; and collating shards.

Files written into a batch's record folder (``DIR`` for a whole run, ``DIR/shards/I-of-N`` for one
shard of a job array), each atomically:

``cohort.parquet``, ``cohort.csv``
    One row per successfully processed night (done now or skipped as complete): ``night_id``,
    ``participant``, ``night``, ``input_path``, ``input_sha256``, then the night's metrics in
    snake_case with units (:mod:`lmdetect.results.cohort`), then manifest covariates.
``failures.csv``
    One row per failed night: ``night_id``, ``participant``, ``night``, ``input_path``,
    ``error_type``, ``error``, ``traceback`` (header only when nothing failed).
``manifest.json``
    Versions, the configuration and its hash, the engine, the shard, counts of done / skipped /
    failed nights and every night's input checksums and status.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .._atomic import atomic_path, atomic_write_text
from .._versions import package_versions
from ..errors import FormatError, LmdetectError
from .worker import NightOutcome

__all__ = [
    "ID_COLUMNS",
    "FAILURE_COLUMNS",
    "cohort_table",
    "failures_table",
    "write_batch_record",
    "read_batch_record",
    "collate",
    "CollateResult",
    "shard_folder_name",
]

#: The leading columns of the cohort table.
ID_COLUMNS: tuple[str, ...] = ("night_id", "participant", "night", "input_path", "input_sha256")
#: Columns of failures.csv.
FAILURE_COLUMNS: tuple[str, ...] = ("night_id", "participant", "night", "input_path", "error_type", "error", "traceback")

_PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "dask", "distributed")
_SHARD_DIR = re.compile(r"(\d+)-of-(\d+)")


def shard_folder_name(shard: tuple[int, int]) -> str:
    """``"3-of-10"`` for shard 3/10."""
    return f"{shard[0]}-of-{shard[1]}"


def cohort_table(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows to a DataFrame sorted by night id, id columns first, other columns in first-seen order."""
    rows = list(rows)
    cols: dict[str, None] = dict.fromkeys(ID_COLUMNS)
    for r in rows:
        cols.update(dict.fromkeys(r))
    df = pd.DataFrame.from_records(rows, columns=list(cols))
    if len(df):
        df = df.sort_values("night_id", kind="stable").reset_index(drop=True)
    return _numeric_metrics(df)


def _numeric_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """The metric columns typed (:func:`lmdetect.results.cohort.cohort_dtypes`), so shards and reruns
    always agree on the Parquet schema."""
    from ..results.cohort import cohort_dtypes

    return cohort_dtypes(df)


def failures_table(outcomes: Iterable[NightOutcome]) -> pd.DataFrame:
    rows = [
        {c: getattr(o, c) for c in FAILURE_COLUMNS}
        for o in outcomes
        if o.status == "failed"
    ]
    df = pd.DataFrame.from_records(rows, columns=list(FAILURE_COLUMNS))
    if len(df):
        df = df.sort_values("night_id", kind="stable").reset_index(drop=True)
    return df


def _write_tables(folder: Path, cohort: pd.DataFrame, failures: pd.DataFrame) -> dict[str, Path]:
    paths = {
        "cohort_parquet": folder / "cohort.parquet",
        "cohort_csv": folder / "cohort.csv",
        "failures_csv": folder / "failures.csv",
    }
    with atomic_path(paths["cohort_parquet"]) as tmp:
        cohort.to_parquet(tmp, index=False)
    buf = io.StringIO()
    cohort.to_csv(buf, index=False, float_format="%.6g")
    atomic_write_text(paths["cohort_csv"], buf.getvalue())
    buf = io.StringIO()
    failures.to_csv(buf, index=False)
    atomic_write_text(paths["failures_csv"], buf.getvalue())
    return paths


def _write_manifest(path: Path, doc: Mapping[str, Any]) -> None:
    atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n")


def write_batch_record(
    folder: str | os.PathLike[str],
    outcomes: Sequence[NightOutcome],
    *,
    config: Mapping[str, Any],
    config_hash: str,
    engine: Mapping[str, Any],
    shard: tuple[int, int] | None,
    reports: bool,
    started: dt.datetime,
    finished: dt.datetime,
    split_nights: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Path]]:
    """Write cohort.parquet/csv, failures.csv and manifest.json (manifest last) into ``folder``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    ordered = sorted(outcomes, key=lambda o: o.night_id)
    cohort = cohort_table(o.row for o in ordered if o.row is not None)
    failures = failures_table(ordered)
    paths = _write_tables(out, cohort, failures)
    counts = {s: sum(o.status == s for o in ordered) for s in ("done", "skipped", "failed")}
    doc = {
        "kind": "batch",
        "versions": package_versions(_PACKAGES, with_lmdetect=True, missing=None),
        "config_hash": config_hash,
        "config": dict(config),
        "engine": dict(engine),
        "shard": None if shard is None else {"index": shard[0], "count": shard[1]},
        "reports": reports,
        "split_nights": split_nights,
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "elapsed_s": round((finished - started).total_seconds(), 3),
        "counts": {"total": len(ordered), **counts},
        "nights": [
            {
                "night_id": o.night_id,
                "input_path": o.input_path,
                "input_sha256": o.input_sha256,
                "sidecar_sha256": dict(o.sidecar_sha256),
                "status": o.status,
            }
            for o in ordered
        ],
    }
    paths["manifest"] = out / "manifest.json"
    _write_manifest(paths["manifest"], doc)
    return cohort, failures, paths


def _load_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormatError(path, "file not found") from None
    except ValueError as exc:
        raise FormatError(path, f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or "counts" not in doc or "nights" not in doc:
        raise FormatError(path, "not an lmdetect batch manifest (no 'counts' / 'nights')")
    return doc


def read_batch_record(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Read ``manifest.json``, ``cohort.parquet`` and ``failures.csv`` of one batch record folder."""
    f = Path(folder)
    doc = _load_json(f / "manifest.json")
    try:
        cohort = pd.read_parquet(f / "cohort.parquet")
    except FileNotFoundError:
        raise FormatError(f / "cohort.parquet", "file not found") from None
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise FormatError(f / "cohort.parquet", f"cannot read: {exc}") from None
    try:
        failures = pd.read_csv(f / "failures.csv", dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise FormatError(f / "failures.csv", "file not found") from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise FormatError(f / "failures.csv", f"cannot read: {exc}") from None
    if failures.empty:
        failures = pd.DataFrame(columns=list(FAILURE_COLUMNS))
    return doc, cohort, failures


class CollateResult:
    """What :func:`collate` merged and wrote.

    Attributes
    ----------
    cohort, failures
        The merged tables.
    counts
        Summed done / skipped / failed / total.
    sources
        The record folders merged.
    missing_shards
        Shard numbers absent (only when ``allow_partial``).
    files
        Paths written.
    """

    def __init__(
        self,
        cohort: pd.DataFrame,
        failures: pd.DataFrame,
        counts: dict[str, int],
        sources: list[Path],
        missing_shards: list[int],
        files: dict[str, Path],
    ) -> None:
        self.cohort = cohort
        self.failures = failures
        self.counts = counts
        self.sources = sources
        self.missing_shards = missing_shards
        self.files = files

    def __repr__(self) -> str:
        return f"<CollateResult {self.counts} from {len(self.sources)} record(s)>"


def _record_folders(d: Path) -> list[Path]:
    shards_dir = d / "shards"
    if shards_dir.is_dir():
        found = sorted(
            (p for p in shards_dir.iterdir() if p.is_dir() and _SHARD_DIR.fullmatch(p.name)),
            key=lambda p: tuple(int(x) for x in _SHARD_DIR.fullmatch(p.name).groups()[::-1]),  # type: ignore[union-attr]
        )
        if found:
            return found
    if (d / "manifest.json").is_file():
        return [d]
    raise LmdetectError(f"{d}: no batch outputs here (neither shards/I-of-N/ nor manifest.json)")


def collate(
    dirs: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    allow_partial: bool = False,
) -> CollateResult:
    """Merge the outputs of batch shards (or whole batches) into one cohort table and manifest.

    Parameters
    ----------
    dirs
        Batch output folders. Each contributes its ``shards/I-of-N/`` records, or its own record
        when it has no shards.
    out_dir
        Where to write ``cohort.parquet``, ``cohort.csv``, ``failures.csv`` and ``manifest.json``;
        defaults to the single folder of ``dirs``.
    allow_partial
        Merge even when some shards of the array are missing (they are listed in the manifest).

    Raises
    ------
    LmdetectError
        The records disagree (config hash, lmdetect version, shard count), a night occurs in two
        records, or shards are missing and ``allow_partial`` is False.
    """
    from .worker import version_key

    if not dirs:
        raise LmdetectError("collate needs at least one batch output folder")
    if out_dir is None:
        if len(dirs) > 1:
            raise LmdetectError("collate of several folders needs an output folder (--out)")
        out_dir = dirs[0]
    records: list[Path] = []
    for d in dirs:
        p = Path(d)
        if not p.is_dir():
            raise LmdetectError(f"{p}: no such folder")
        records.extend(_record_folders(p))

    out = Path(out_dir)
    if len(records) == 1 and records[0].resolve() == out.resolve():
        # an unsharded batch collated onto itself: its record already is the cohort
        doc, c, f = read_batch_record(out)
        return CollateResult(c, f, {k: int(doc["counts"].get(k, 0)) for k in ("total", "done", "skipped", "failed")},
                             records, [], {"cohort_parquet": out / "cohort.parquet", "cohort_csv": out / "cohort.csv",
                                           "failures_csv": out / "failures.csv", "manifest": out / "manifest.json"})

    docs, cohorts, fails = [], [], []
    for r in records:
        doc, c, f = read_batch_record(r)
        if doc.get("kind") == "collated":
            raise FormatError(r / "manifest.json", "is a collated manifest; collate the shard folders instead")
        docs.append(doc)
        cohorts.append(c)
        fails.append(f)

    def one(name: str, values: list[Any]) -> Any:
        """The single value all records share, else an error listing each record's value."""
        if len({json.dumps(v, sort_keys=True) for v in values}) > 1:
            listing = "; ".join(f"{r}: {json.dumps(v, sort_keys=True)}" for r, v in zip(records, values, strict=True))
            raise LmdetectError(f"the records disagree on {name}: {listing}")
        return values[0]

    config_hash = one("config_hash", [d.get("config_hash") for d in docs])
    one("lmdetect version", [version_key(str(d.get("versions", {}).get("lmdetect", ""))) for d in docs])
    reports = one("reports", [bool(d.get("reports")) for d in docs])

    shards = [d.get("shard") for d in docs]
    missing: list[int] = []
    if any(s is not None for s in shards):
        sharded = [s for s in shards if s is not None]
        if len(sharded) < len(shards):
            raise LmdetectError("cannot mix sharded and unsharded batch outputs: " + ", ".join(map(str, records)))
        count = one("shard count", [s["count"] for s in sharded])
        seen = [s["index"] for s in sharded]
        dup = sorted({i for i in seen if seen.count(i) > 1})
        if dup:
            raise LmdetectError(f"shard(s) {dup} of {count} appear in more than one folder")
        missing = sorted(set(range(1, count + 1)) - set(seen))
        if missing and not allow_partial:
            raise LmdetectError(
                f"shard(s) {', '.join(map(str, missing))} of {count} have no outputs yet "
                "(run them, or collate with --partial)"
            )

    nights = [n for d in docs for n in d["nights"]]
    ids = [n["night_id"] for n in nights]
    dup_ids = sorted({i for i in ids if ids.count(i) > 1})
    if dup_ids:
        raise LmdetectError(f"night(s) {', '.join(dup_ids[:5])} appear in more than one record")

    nonempty = [c for c in cohorts if len(c)]
    cohort = pd.concat(nonempty, ignore_index=True) if nonempty else cohorts[0].iloc[0:0]
    cohort = cohort_table(cohort.to_dict("records")) if len(cohort) else cohort
    nonempty_f = [f for f in fails if len(f)]
    failures = (
        pd.concat(nonempty_f, ignore_index=True).sort_values("night_id", kind="stable").reset_index(drop=True)
        if nonempty_f
        else pd.DataFrame(columns=list(FAILURE_COLUMNS))
    )
    counts = {k: int(sum(d["counts"].get(k, 0) for d in docs)) for k in ("total", "done", "skipped", "failed")}

    out.mkdir(parents=True, exist_ok=True)
    files = _write_tables(out, cohort, failures)
    doc = {
        "kind": "collated",
        "versions": package_versions(_PACKAGES, with_lmdetect=True, missing=None),
        "config_hash": config_hash,
        "config": docs[0].get("config"),
        "reports": reports,
        "collated": dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds"),
        "sources": [
            {"folder": os.path.relpath(r, out), "shard": d.get("shard"), "counts": d["counts"],
             "engine": d.get("engine"), "started": d.get("started"), "finished": d.get("finished")}
            for r, d in zip(records, docs, strict=True)
        ],
        "missing_shards": missing,
        "counts": counts,
        "nights": sorted(nights, key=lambda n: n["night_id"]),
    }
    files["manifest"] = out / "manifest.json"
    _write_manifest(files["manifest"], doc)
    return CollateResult(cohort, failures, counts, records, missing, files)
