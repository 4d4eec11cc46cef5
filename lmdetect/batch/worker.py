"""The unit of work of a batch: one night, in isolation, in whatever process the executor chose.

:func:`run_night_job` is a top-level function taking a small, picklable :class:`NightJob` (paths and
the configuration as a plain dict) and returning a small :class:`NightOutcome` (the cohort row, or
the error and its traceback). It never raises for a bad night, so one corrupt file cannot stop a
cohort. Nothing here needs the parent process: it runs the same in a local process pool and on a
Dask worker on another machine.

Resumability: a night is skipped when its folder reads back whole (``summary.json``, written
last, so its presence marks a complete set of outputs, and every file it lists with the SHA-256
it records) and the summary records the same input SHA-256, config hash, lmdetect ``major.minor``
version and side-file checksums, and, when reports are asked for, ``report.html`` exists.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import multiprocessing
import os
import re
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, TypedDict

from .._files import sha256_file

__all__ = [
    "BLAS_THREAD_VARIABLES",
    "NightJob",
    "NightOutcome",
    "run_night_job",
    "run_split_job",
    "run_job",
    "pin_blas_threads",
    "pinned_blas_env",
    "init_worker",
    "warm_modules",
    "warm_up",
    "START_METHOD",
    "pool_context",
    "start_fork_server",
    "version_key",
    "cohort_row",
]

log = logging.getLogger(__name__)

#: Environment variables that size the thread pools of BLAS/OpenMP libraries. They are read when the
#: library loads, so a pool sets them before its workers start (and again in each worker).
BLAS_THREAD_VARIABLES: tuple[str, ...] = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

Status = Literal["done", "skipped", "failed"]



@dataclasses.dataclass(frozen=True)
class NightJob:
    """What a worker needs to process one night (small and picklable).

    Attributes
    ----------
    night_id, participant, night
        Labels (see :class:`lmdetect.batch.inputs.NightInput`).
    path, diary, pad_log, hypnogram
        Input files as absolute paths (a worker may run in another folder or on another machine
        sharing the file system); the side files are optional.
    input_path
        The recording's path as the user gave it (for the cohort table).
    night_dir
        Output folder of this night.
    config
        :meth:`lmdetect.config.Config.to_dict` of the configuration.
    config_hash
        Its hash, checked again in the worker.
    reports
        Also write ``report.html``.
    covariates
        Extra manifest columns for the cohort row.
    conditions
        Conditions the manifest flags for this night (``condition_<name>`` columns), added to the
        summary's ``conditions`` and ``interventions`` (source ``manifest``).
    split_nights
        ``"noon"`` or ``"diary"``: the file holds several nights; cut it with
        :func:`lmdetect.preprocessing.nights.split_nights` and process each (see :func:`run_split_job`).
    tz
        Time zone the device clock was set in (see :func:`lmdetect.io.read_recording`), or None.
    """

    night_id: str
    path: str
    input_path: str
    night_dir: str
    config: Mapping[str, Any]
    config_hash: str
    participant: str = ""
    night: str = ""
    diary: str | None = None
    pad_log: str | None = None
    hypnogram: str | None = None
    reports: bool = False
    covariates: tuple[tuple[str, str], ...] = ()
    conditions: tuple[str, ...] = ()
    split_nights: str | None = None
    tz: str | None = None


@dataclasses.dataclass(frozen=True)
class NightOutcome:
    """What came back from one night.

    Attributes
    ----------
    night_id, participant, night, input_path
        As in the job.
    status
        ``"done"`` (processed now), ``"skipped"`` (complete outputs already there) or ``"failed"``.
    input_sha256
        SHA-256 of the recording (None when it could not be read at all).
    sidecar_sha256
        SHA-256 of each given side file (``diary``, ``pad_log``, ``hypnogram``).
    row
        The cohort-table row (None when failed).
    error_type, error, traceback
        For failures: the exception class name, its message (which names the file) and the traceback.
    timings_s
        Seconds spent in ``hash``, ``read``, ``process`` (:func:`process_night`), ``write`` and ``total``.
    worker_pid
        Process id of the worker that ran the night (0 when it died before answering).
    """

    night_id: str
    participant: str
    night: str
    input_path: str
    status: Status
    input_sha256: str | None = None
    sidecar_sha256: Mapping[str, str] = dataclasses.field(default_factory=dict)
    row: Mapping[str, Any] | None = None
    error_type: str = ""
    error: str = ""
    traceback: str = ""
    timings_s: Mapping[str, float] = dataclasses.field(default_factory=dict)
    worker_pid: int = dataclasses.field(default_factory=os.getpid)


def pin_blas_threads(environ: dict[str, str] | None = None) -> None:
    """Set every :data:`BLAS_THREAD_VARIABLES` to 1 (one BLAS thread per worker process).

    Several processes each starting a full-size BLAS/OpenMP thread pool oversubscribe the cores and
    can run slower than one process; this is the pitfall GGIR users met running parallel cores
    (GGIR issue 1442, github.com/wadpac/GGIR).
    """
    env = os.environ if environ is None else environ
    for name in BLAS_THREAD_VARIABLES:
        env[name] = "1"


@contextlib.contextmanager
def pinned_blas_env() -> Iterator[None]:
    """Pin BLAS threads in this process's environment for the duration, then restore it.

    Child processes inherit the environment when they start, before they import numpy, which is
    the only moment the variables take effect.
    """
    saved = {k: os.environ.get(k) for k in BLAS_THREAD_VARIABLES}
    pin_blas_threads()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


#: What a night imports (reading, the pipeline, the night folder, the cohort row): loaded once when a
#: worker starts (or by the fork server the workers are forked from), not inside the first night.
WARM_MODULES: tuple[str, ...] = (
    "lmdetect.io.night_inputs",
    "lmdetect.pipeline",
    "lmdetect.outputs",
    "lmdetect.results.night_folder",
    "lmdetect.results.cohort",
    "lmdetect.results.summary_json",
)
#: What a night's ``report.html`` adds (matplotlib, jinja2).
REPORT_MODULES: tuple[str, ...] = ("lmdetect.report.html",)


def warm_modules(reports: bool = False) -> list[str]:
    """The modules a worker imports before its first night (:data:`WARM_MODULES`, plus the report's)."""
    return [*WARM_MODULES, *(REPORT_MODULES if reports else ())]


def warm_up(reports: bool = False) -> None:
    """Import what a night needs, and load the readers' registry, so no night pays for it.

    Never raises: a module that cannot be imported (a missing extra) fails the nights that need
    it, each with its own clear error, instead of breaking the pool before any night ran.
    """
    import importlib

    for name in warm_modules(reports):
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - reported by the nights that need the module
            log.debug("worker warm-up: %s not imported: %s", name, exc)
    try:
        from ..io import supported_read_extensions

        supported_read_extensions()  # imports the format modules (found on first use)
    except Exception as exc:  # noqa: BLE001
        log.debug("worker warm-up: readers not loaded: %s", exc)


#: ``forkserver`` (Linux, macOS): a single-threaded server process, started once with the pinned BLAS
#: environment, imports the pipeline (:func:`warm_modules`) and forks every worker from that state,
#: so a worker (and each new pool: a generation, a retry after a crash) starts in milliseconds,
#: warm, and inherits no threads or locks from the main process. ``spawn`` (Windows): each worker
#: is a fresh interpreter that imports the pipeline once, in its initializer.
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def pool_context(reports: bool = False) -> multiprocessing.context.BaseContext:
    """The multiprocessing context of the local pool; for the fork server, what it preloads.

    The fork server is shared by the whole process and outlives any pool: what it preloads is
    fixed when it starts, and a worker imports whatever else it needs once, in its initializer.
    """
    ctx = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        ctx.set_forkserver_preload(warm_modules(reports))
    return ctx


def start_fork_server(reports: bool = False) -> None:
    """Start the fork server now (with BLAS pinned), if the pool uses one and it is not running.

    It imports the pipeline in its own process while this one goes on (importing the rest, finding
    the inputs), so the workers are ready sooner. Nothing to do with ``spawn``.
    """
    if START_METHOD != "forkserver":
        return
    from multiprocessing import forkserver

    pool_context(reports)
    with pinned_blas_env():
        forkserver.ensure_running()


def init_worker(reports: bool = False) -> None:
    """Process-pool initializer: pin BLAS threads (for libraries not imported yet), then
    :func:`warm_up`, so the worker starts once and every night finds it warm."""
    pin_blas_threads()
    warm_up(reports)


def version_key(version: str) -> str:
    """``major.minor`` of a version string ("0.1.3" -> "0.1"); outputs stay valid across patch releases."""
    m = re.match(r"\s*(\d+)\.(\d+)", version or "")
    return f"{m.group(1)}.{m.group(2)}" if m else (version or "")


def cohort_row(summary: Mapping[str, Any], job: NightJob) -> dict[str, Any]:
    """One cohort-table row: ids, input path and checksum, the night's metrics, provenance, covariates.

    The metrics carry the snake_case cohort columns with units
    (:data:`lmdetect.results.cohort.COHORT_METRIC_COLUMNS`).
    """
    from ..results.cohort import cohort_metrics

    row: dict[str, Any] = {
        "night_id": job.night_id,
        "participant": job.participant,
        "night": job.night,
        "input_path": job.input_path,
        "input_sha256": summary.get("input_sha256"),
    }
    for k, v in cohort_metrics(summary, manifest_conditions=job.conditions).items():
        row.setdefault(k, v)
    row.setdefault("config_hash", summary.get("config_hash"))
    row.setdefault("lmdetect_version", summary.get("lmdetect_version"))
    for k, v in job.covariates:
        row.setdefault(k, v)
    return row


def _sidecars(job: NightJob) -> dict[str, str]:
    return {k: sha256_file(p) for k in ("diary", "pad_log", "hypnogram") if (p := getattr(job, k))}


def _load_summary_file(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _load_summary(night_dir: Path) -> dict[str, Any] | None:
    """The night's summary when its folder reads back whole, else None (the night is processed again).

    Whole: ``summary.json`` is a night summary this release reads and every file it lists is
    there with the SHA-256 it records (:func:`lmdetect.results.night_folder.read_night_summary`).
    """
    from ..errors import LmdetectError
    from ..results.night_folder import read_night_summary

    if not (night_dir / "summary.json").is_file():
        return None
    try:
        return read_night_summary(night_dir)
    except (LmdetectError, OSError) as exc:
        log.warning("%s: earlier outputs fail their check, processing the night again: %s", night_dir.name, exc)
        return None


def _is_complete(doc: Mapping[str, Any] | None, job: NightJob, sha: str, sidecars: Mapping[str, str]) -> bool:
    from .. import __version__

    if doc is None:
        return False
    batch = doc.get("batch")
    return (
        doc.get("input_sha256") == sha
        and doc.get("config_hash") == job.config_hash
        and version_key(str(doc.get("lmdetect_version", ""))) == version_key(__version__)
        and isinstance(batch, Mapping)
        and dict(batch.get("sidecar_sha256") or {}) == dict(sidecars)
        and batch.get("tz") == job.tz  # another zone moves the recording against its diary
        and (not job.reports or (Path(job.night_dir) / "report.html").is_file())
    )


def _clear(night_dir: Path) -> None:
    """Remove a night's earlier outputs, summary.json first, so the folder never looks complete while stale.

    The folder belongs to the batch (``DIR/nights/<id>/``): every file in it is an output of
    :func:`~lmdetect.outputs.write_night_outputs` or a temporary file of an interrupted
    write. Sub-folders are left alone.
    """
    with contextlib.suppress(FileNotFoundError):
        (night_dir / "summary.json").unlink()
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for f in night_dir.iterdir():
            if f.is_file() or f.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    f.unlink()
    with contextlib.suppress(OSError):  # only when empty
        night_dir.rmdir()


@dataclasses.dataclass(frozen=True, eq=False)
class _NightData:
    """What one night is processed from."""

    recording: Any
    diary: Any = None
    pad_log: Any = None
    hypnogram: Any = None


def _read_inputs(job: NightJob) -> _NightData:
    from ..io.night_inputs import read_night_inputs

    n = read_night_inputs(job.path, tz=job.tz, diary=job.diary, pad_log=job.pad_log, hypnogram=job.hypnogram)
    return _NightData(recording=n.recording, diary=n.diary, pad_log=n.pad_log, hypnogram=n.hypnogram)


def _process(job: NightJob, sha: str, sidecars: Mapping[str, str], t: dict[str, float],
             load: Callable[[], _NightData]) -> dict[str, Any]:
    from ..config import Config
    from ..errors import LmdetectError
    from ..outputs import write_night_outputs
    from ..pipeline import process_night
    from ..results.night_folder import night_summary_document
    from ..results.summary_json import to_jsonable

    config = Config.from_dict(job.config)
    if config.hash() != job.config_hash:
        # the parameter classes differ between the batch and this worker (another install on a cluster node)
        from .. import __version__

        raise LmdetectError(
            f"this worker's lmdetect {__version__} gives the batch's configuration the hash {config.hash()}, "
            f"the batch computed {job.config_hash}: the worker runs different lmdetect code; "
            "install the same version everywhere"
        )
    t0 = time.perf_counter()
    data = load()
    t1 = time.perf_counter()
    result = process_night(data.recording, config, diary=data.diary, pad_log=data.pad_log, hypnogram=data.hypnogram)
    t2 = time.perf_counter()
    del data
    batch_info = {
        "night_id": job.night_id,
        "participant": job.participant,
        "night": job.night,
        "sidecar_sha256": dict(sidecars),
    }
    if job.split_nights:
        batch_info["split_nights"] = job.split_nights
    if job.tz:
        batch_info["tz"] = job.tz
    summary = {**result.summary, "batch": batch_info}
    if job.conditions:
        summary["conditions"] = sorted({*summary.get("conditions", []), *job.conditions})
        summary["interventions"] = [*summary.get("interventions", []), *(
            {"name": c, "onset_s": None, "duration_s": None, "start": None, "end": None, "dose": None, "date": None,
             "source": "manifest"} for c in job.conditions
        )]
    result = dataclasses.replace(result, summary=summary)
    doc = night_summary_document(result, input_path=job.path, input_sha256=sha)
    write_night_outputs(result, job.night_dir, input_path=job.path, input_sha256=sha, report=job.reports,
                        summary=doc)
    t3 = time.perf_counter()
    t.update(read=t.get("read", 0.0) + t1 - t0, process=t2 - t1, write=t3 - t2)
    # the values exactly as written to summary.json, without reading the file back
    return to_jsonable(doc)  # type: ignore[no-any-return]


class _Identity(TypedDict):
    """The fields of :class:`NightOutcome` that name the night."""

    night_id: str
    participant: str
    night: str
    input_path: str


def _base(job: NightJob) -> _Identity:
    return _Identity(night_id=job.night_id, participant=job.participant, night=job.night, input_path=job.input_path)


def _failure(job: NightJob, exc: BaseException, t: dict[str, float], start: float, *, sha: str | None = None,
             sidecars: Mapping[str, str] | None = None) -> NightOutcome:
    t["total"] = time.perf_counter() - start
    log.warning("%s: failed: %s", job.night_id, exc)
    return NightOutcome(**_base(job), status="failed", input_sha256=sha, sidecar_sha256=dict(sidecars or {}),
                        error_type=type(exc).__name__, error=str(exc) or repr(exc),
                        traceback="".join(traceback.format_exception(exc)), timings_s=t)


def _night(job: NightJob, sha: str, sidecars: Mapping[str, str], load: Callable[[], _NightData],
           t: dict[str, float], start: float) -> NightOutcome:
    """Skip a complete night, else (re)process it; a failure removes what was written."""
    night_dir = Path(job.night_dir)
    try:
        doc = _load_summary(night_dir)
        if _is_complete(doc, job, sha, sidecars):
            assert doc is not None
            t["total"] = time.perf_counter() - start
            log.debug("%s: outputs complete, skipped", job.night_id)
            return NightOutcome(**_base(job), status="skipped", input_sha256=sha, sidecar_sha256=dict(sidecars),
                                row=cohort_row(doc, job), timings_s=t)
        # no clearing first: the folder is replaced as a whole when the new outputs are complete
        doc = _process(job, sha, sidecars, t, load)
        t["total"] = time.perf_counter() - start
        log.info("%s: done in %.1f s", job.night_id, t["total"])
        return NightOutcome(**_base(job), status="done", input_sha256=sha, sidecar_sha256=dict(sidecars),
                            row=cohort_row(doc, job), timings_s=t)
    except Exception as exc:  # noqa: BLE001 - any error of one night is recorded, never propagated
        from .._atomic import FolderInUseError

        if not isinstance(exc, FolderInUseError):  # else the folder is another live process's
            _clear(night_dir)
        return _failure(job, exc, t, start, sha=sha, sidecars=sidecars)


def run_night_job(job: NightJob) -> NightOutcome:
    """Process one night (or skip it when its outputs are complete); never raises for a bad night.

    Parameters
    ----------
    job
        The night and the settings.

    Returns
    -------
    NightOutcome
        ``done`` or ``skipped`` with the cohort row, or ``failed`` with the error and traceback.
        A night that fails leaves no outputs behind; a recording that cannot be found or hashed
        leaves earlier outputs untouched.
    """
    start = time.perf_counter()
    t: dict[str, float] = {}
    try:
        sha = sha256_file(job.path)
        sidecars = _sidecars(job)
    except Exception as exc:  # noqa: BLE001
        return _failure(job, exc, t, start)
    t["hash"] = time.perf_counter() - start
    return _night(job, sha, sidecars, lambda: _read_inputs(job), t, start)


def _within(table: Any, t0: Any, t1: Any) -> Any:
    """Rows of a diary / pad log whose ``start`` lies in [t0, t1)."""
    if table is None or len(table) == 0:
        return table
    import pandas as pd

    start = pd.to_datetime(table["start"], utc=True)
    return table[(start >= pd.Timestamp(t0)) & (start < pd.Timestamp(t1))].reset_index(drop=True)


def _night_part(whole: _NightData, part: Any) -> _NightData:
    """The side data of one night cut from a multi-day recording (hypnogram re-based to its start)."""
    hyp = whole.hypnogram
    if hyp is not None and len(hyp):
        shift = (part.start - whole.recording.start).total_seconds()
        hyp = hyp.assign(onset_s=hyp["onset_s"] - shift)
        hyp = hyp[(hyp["onset_s"] >= 0) & (hyp["onset_s"] < part.duration_s)].reset_index(drop=True)
    return _NightData(part, _within(whole.diary, part.start, part.end), _within(whole.pad_log, part.start, part.end), hyp)


def _split_marker_ok(marker: Mapping[str, Any] | None, job: NightJob, sha: str, sidecars: Mapping[str, str]) -> bool:
    from .. import __version__

    return (
        isinstance(marker, Mapping)
        and marker.get("input_sha256") == sha
        and marker.get("config_hash") == job.config_hash
        and version_key(str(marker.get("lmdetect_version", ""))) == version_key(__version__)
        and dict(marker.get("sidecar_sha256") or {}) == dict(sidecars)
        and marker.get("method") == job.split_nights
        and isinstance(marker.get("nights"), list)
    )


def _part_job(job: NightJob, label: str) -> NightJob:
    from .inputs import safe_component

    part = safe_component(label)
    return dataclasses.replace(job, night_id=f"{job.night_id}/{part}", night=label,
                               night_dir=str(Path(job.night_dir) / part))


def run_split_job(job: NightJob) -> tuple[NightOutcome, ...]:
    """Cut a multi-day recording into nights (:func:`lmdetect.preprocessing.nights.split_nights`)
    and process each into ``night_dir/<evening date>/``.

    The file is read once. ``night_dir/split.json`` (written after the last night) lists the
    nights with the file's checksum and the config hash, so a rerun skips a complete file without
    reading it. A file that cannot be read or split is one failed outcome under the file's id.
    """
    from .. import __version__
    from .._atomic import atomic_write_text
    from ..errors import LmdetectError
    from ..preprocessing.nights import split_nights

    start = time.perf_counter()
    t: dict[str, float] = {}
    file_dir = Path(job.night_dir)
    try:
        sha = sha256_file(job.path)
        sidecars = _sidecars(job)
    except Exception as exc:  # noqa: BLE001
        return (_failure(job, exc, t, start),)
    t["hash"] = time.perf_counter() - start
    marker = _load_summary_file(file_dir / "split.json")
    if _split_marker_ok(marker, job, sha, sidecars):
        assert marker is not None
        parts = [_part_job(job, str(label)) for label in marker["nights"]]
        docs = [_load_summary(Path(p.night_dir)) for p in parts]
        if all(_is_complete(d, p, sha, sidecars) for d, p in zip(docs, parts, strict=True)):
            return tuple(
                NightOutcome(**_base(p), status="skipped", input_sha256=sha, sidecar_sha256=dict(sidecars),
                             row=cohort_row(d, p), timings_s={**t, "total": time.perf_counter() - start})  # type: ignore[arg-type]
                for d, p in zip(docs, parts, strict=True)
            )
    try:
        t0 = time.perf_counter()
        whole = _read_inputs(job)
        nights = split_nights(whole.recording, method=job.split_nights or "noon", diary=whole.diary)
        if not nights:
            raise LmdetectError(f"{job.path}: no night with enough data to split off")
        t["read"] = time.perf_counter() - t0
    except Exception as exc:  # noqa: BLE001
        return (_failure(job, exc, t, start, sha=sha, sidecars=sidecars),)
    with contextlib.suppress(FileNotFoundError):
        (file_dir / "split.json").unlink()
    outcomes = []
    for i, rec in enumerate(nights):
        pj = _part_job(job, rec.meta["night"])
        data = _night_part(whole, rec)
        tt = dict(t) if i == 0 else {}
        outcomes.append(_night(pj, sha, sidecars, lambda d=data: d, tt, time.perf_counter() if i else start))  # type: ignore[misc]
    del whole, nights
    marker_doc = {
        "input_sha256": sha,
        "config_hash": job.config_hash,
        "lmdetect_version": __version__,
        "sidecar_sha256": dict(sidecars),
        "method": job.split_nights,
        "nights": [o.night for o in outcomes],
    }
    if all(o.status != "failed" for o in outcomes):
        atomic_write_text(file_dir / "split.json", json.dumps(marker_doc, indent=2) + "\n")
    return tuple(outcomes)


def run_job(job: NightJob) -> tuple[NightOutcome, ...]:
    """The function the executors run: one night, or every night of a file with ``split_nights``."""
    return run_split_job(job) if job.split_nights else (run_night_job(job),)
