"""Run many nights through a ``concurrent.futures.Executor``: :func:`run_batch`.

Default engine: a local process pool of warm workers (forked from a fork server that has imported
the pipeline once, or spawned where there is no fork server; BLAS pinned to one thread per worker;
workers replaced after ``max_tasks_per_child`` jobs; at most one worker per CPU and per night). The
main process imports no filtering code: it finds the inputs, hands out jobs and writes the record.
Any other ``concurrent.futures.Executor`` works too; :func:`dask_executor` gives one backed by a
Dask distributed cluster.

If a pool worker dies (killed, out of memory, a crash in a C extension), the pool breaks and every
queued night comes back with ``BrokenProcessPool``. The nights that may have been running are then
retried one at a time in a fresh single-worker pool, so the culprit is pinned down and recorded as
a failure, and the rest of the cohort carries on in a new pool.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._params import check_option
from ..config import Config
from ..errors import LmdetectError
from ..io._devicetime import parse_tz
from .cohort import shard_folder_name, write_batch_record
from .inputs import NightInput, collect_nights, parse_shard, select_shard
from .progress import ProgressSink
from .worker import (
    START_METHOD,
    NightJob,
    NightOutcome,
    init_worker,
    pinned_blas_env,
    pool_context,
    run_job,
    start_fork_server,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BatchSummary",
    "run_batch",
    "make_process_pool",
    "dask_executor",
    "available_cpus",
    "DEFAULT_MAX_TASKS_PER_CHILD",
    "START_METHOD",
]

log = logging.getLogger(__name__)

#: Nights a pool worker processes before it is replaced by a fresh process (bounds memory creep).
DEFAULT_MAX_TASKS_PER_CHILD = 100

Worker = Callable[[NightJob], "NightOutcome | tuple[NightOutcome, ...]"]
Report = Callable[[NightOutcome, bool], None]


def _report_all(report: Report, result: NightOutcome | tuple[NightOutcome, ...]) -> None:
    """Report a job's outcome(s); the last one completes the job."""
    outcomes = result if isinstance(result, tuple) else (result,)
    for i, o in enumerate(outcomes):
        report(o, i == len(outcomes) - 1)


@dataclasses.dataclass(frozen=True, eq=False)
class BatchSummary:
    """What :func:`run_batch` did.

    Attributes
    ----------
    out_dir
        The batch output folder.
    record_dir
        Where cohort.parquet/csv, failures.csv and manifest.json went (``out_dir``, or
        ``out_dir/shards/I-of-N`` for a shard).
    cohort, failures
        The cohort table (one row per done or skipped night) and the failures table.
    outcomes
        Every night's :class:`~lmdetect.batch.worker.NightOutcome`, sorted by night id.
    files
        Paths of the record files by name (``cohort_parquet``, ``cohort_csv``, ``failures_csv``,
        ``manifest``).
    engine
        Description of the executor used (kind, workers, ...).
    elapsed_s
        Wall-clock seconds from the start of the run to the record being written.
    """

    out_dir: Path
    record_dir: Path
    cohort: pd.DataFrame
    failures: pd.DataFrame
    outcomes: tuple[NightOutcome, ...]
    files: dict[str, Path]
    engine: dict[str, Any]
    elapsed_s: float

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def n_done(self) -> int:
        return self.count("done")

    @property
    def n_skipped(self) -> int:
        return self.count("skipped")

    @property
    def n_failed(self) -> int:
        return self.count("failed")

    def __repr__(self) -> str:
        return (
            f"<BatchSummary {self.out_dir}: {self.n_done} done, {self.n_skipped} skipped, "
            f"{self.n_failed} failed in {self.elapsed_s:.1f} s>"
        )


class _NoProgress:
    def start(self, total: int) -> None:
        pass

    def update(self, outcome: NightOutcome, job_done: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask honours cgroup/SLURM CPU sets)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def make_process_pool(workers: int, *, reports: bool = False) -> cf.ProcessPoolExecutor:
    """A process pool (:data:`~lmdetect.batch.worker.START_METHOD`) of warm workers that run one
    BLAS thread each.

    Use it inside :func:`~lmdetect.batch.worker.pinned_blas_env`, which sets the variables before
    the workers (and the fork server, if the first pool starts it) start. ``reports``: the workers
    also import the report renderer (see :func:`~lmdetect.batch.worker.pool_context`).
    """
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=pool_context(reports), initializer=init_worker,
                                  initargs=(reports,))


@contextlib.contextmanager
def dask_executor(scheduler: str, *, timeout_s: float = 30.0) -> Iterator[cf.Executor]:
    """An executor on a Dask distributed cluster; the client is closed on exit.

    Parameters
    ----------
    scheduler
        Scheduler address (``tcp://host:8786``) or the path of a scheduler file (as written by
        ``dask scheduler --scheduler-file`` or dask-jobqueue / dask-mpi).
    timeout_s
        How long to wait for the scheduler.

    Raises
    ------
    LmdetectError
        dask.distributed is not installed (extra ``lmdetect[dask]``), or the scheduler cannot be reached.
    """
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise LmdetectError(
            f"a Dask scheduler needs dask.distributed, which is not installed ({exc}); "
            "install the extra: pip install 'lmdetect[dask]'"
        ) from None
    kwargs: dict[str, Any] = (
        {"scheduler_file": scheduler} if os.path.isfile(scheduler) else {"address": scheduler}
    )
    try:
        client = Client(timeout=timeout_s, **kwargs)
    except (OSError, TimeoutError, ValueError) as exc:
        raise LmdetectError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from None
    try:
        # pure=False: a night writes files, so dask must run it even if an identical task ran before
        yield client.get_executor(pure=False)
    finally:
        client.close()


def _failed(job: NightJob, message: str, exc: BaseException | None = None) -> NightOutcome:
    import traceback

    tb = "".join(traceback.format_exception(exc)) if exc is not None else ""
    return NightOutcome(
        night_id=job.night_id, participant=job.participant, night=job.night, input_path=job.input_path,
        status="failed", error_type=type(exc).__name__ if exc is not None else "WorkerDied", error=message,
        traceback=tb, worker_pid=0,
    )


def _collect(
    futures: dict[cf.Future[Any], NightJob],
    report: Report,
    broken: list[NightJob] | None = None,
) -> None:
    """Wait for the futures, reporting each outcome; jobs of a broken pool go to ``broken``."""
    try:
        for fut in cf.as_completed(futures):
            job = futures[fut]
            try:
                result = fut.result()
            except BrokenProcessPool:
                if broken is None:
                    raise
                broken.append(job)
                continue
            except Exception as exc:  # noqa: BLE001 - executor-level error of one night (e.g. dask KilledWorker)
                result = _failed(job, f"{type(exc).__name__}: {exc}", exc)
            _report_all(report, result)
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise


def _run_process_pool(
    jobs: Sequence[NightJob],
    workers: int,
    report: Report,
    *,
    max_tasks_per_child: int | None,
    worker: Worker = run_job,
) -> None:
    """Run the jobs on a local pool, recycling the workers every ``max_tasks_per_child`` jobs.

    Workers are recycled by giving each *generation* of ``workers * max_tasks_per_child`` jobs a
    fresh pool, not by the pool's own ``max_tasks_per_child``: with a queue longer than the pool,
    that option stops replacing exited workers and the pool hangs (CPython issue gh-115634,
    Python 3.11 to 3.14).
    """
    size = len(jobs) if not max_tasks_per_child else workers * max_tasks_per_child
    reports = any(j.reports for j in jobs)
    with pinned_blas_env():
        for first in range(0, len(jobs), max(1, size)):
            _run_generation(jobs[first : first + size], workers, report, worker, reports)


def _run_generation(jobs: Sequence[NightJob], workers: int, report: Report, worker: Worker,
                    reports: bool = False) -> None:
    pending = list(jobs)
    while pending:
        broken: list[NightJob] = []
        with make_process_pool(workers, reports=reports) as pool:
            futures = {pool.submit(worker, j): j for j in pending}
            _collect(futures, report, broken)
        if not broken:
            return
        # Work is dispatched in submission order, at most `workers` running plus `workers + 1`
        # queued in the call queue; only those can have killed the pool.
        order = {j.night_id: i for i, j in enumerate(pending)}
        broken.sort(key=lambda j: order[j.night_id])
        n_suspects = 2 * workers + 1
        suspects, pending = broken[:n_suspects], broken[n_suspects:]
        log.warning("a worker process died; retrying %d night(s) one at a time", len(suspects))
        _run_one_at_a_time(suspects, report, worker, reports)


def _run_one_at_a_time(jobs: Sequence[NightJob], report: Report, worker: Worker, reports: bool = False) -> None:
    """One worker, one night in flight: a night that kills its worker is known for certain."""
    solo: cf.ProcessPoolExecutor | None = None
    try:
        for job in jobs:
            if solo is None:
                solo = make_process_pool(1, reports=reports)
            try:
                _report_all(report, solo.submit(worker, job).result())
            except BrokenProcessPool as exc:
                _report_all(report, _failed(job, "the worker process died while processing this night "
                                                 "(killed, out of memory, or crashed in native code)", exc))
                solo.shutdown(wait=True)
                solo = None
    finally:
        if solo is not None:
            solo.shutdown(wait=True)


def _job(n: NightInput, out: Path, config: Config, config_hash: str, reports: bool,
         split_nights: str | None = None, tz: str | None = None) -> NightJob:
    def absolute(p: str | None) -> str | None:
        return None if p is None else os.path.abspath(p)

    return NightJob(
        night_id=n.night_id,
        path=os.path.abspath(n.path),
        input_path=n.path,
        night_dir=str(out / "nights" / n.night_id),
        config=config.to_dict(),
        config_hash=config_hash,
        participant=n.participant,
        night=n.night,
        diary=absolute(n.diary),
        pad_log=absolute(n.pad_log),
        hypnogram=absolute(n.hypnogram),
        reports=reports,
        covariates=n.covariates,
        conditions=n.conditions,
        split_nights=split_nights,
        tz=n.tz or tz,
    )


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _require_reports() -> None:
    try:  # the package checks matplotlib and jinja2 are there; the renderer is the workers' to load
        from .. import report  # noqa: F401
    except ImportError as exc:
        raise LmdetectError(f"reports need lmdetect[report] (matplotlib, jinja2): {exc}") from None


def run_batch(
    inputs: Sequence[str | os.PathLike[str] | NightInput],
    out_dir: str | os.PathLike[str],
    *,
    config: Config | None = None,
    executor: cf.Executor | None = None,
    workers: int | None = None,
    reports: bool = False,
    shard: str | tuple[int, int] | None = None,
    progress: ProgressSink | None = None,
    max_tasks_per_child: int | None = DEFAULT_MAX_TASKS_PER_CHILD,
    split_nights: str | None = None,
    tz: str | None = None,
) -> BatchSummary:
    """Process many nights, each in isolation, and write the cohort table.

    Parameters
    ----------
    inputs
        Recording files, folders (searched recursively), manifest CSVs (see
        :mod:`lmdetect.batch.inputs`) or :class:`~lmdetect.batch.inputs.NightInput` objects.
    out_dir
        Output folder: ``nights/<night id>/`` per night, plus the cohort record (see ``shard``).
    config
        Processing configuration (``Config()`` when omitted).
    executor
        Any ``concurrent.futures.Executor`` (e.g. from :func:`dask_executor`); it is used, not shut
        down. When omitted, a local process pool is made (see the module docs).
    workers
        Pool size when ``executor`` is omitted; default and cap: ``min(available CPUs, nights)``.
    reports
        Also write each night's ``report.html`` (needs ``lmdetect[report]``).
    shard
        ``"I/N"`` or ``(I, N)``: process only every N-th night from the I-th (1-based) in night-id
        order; the record goes to ``out_dir/shards/I-of-N/`` for :func:`lmdetect.batch.collate`.
    progress
        Receives ``start(total_jobs)``, ``update(outcome, job_done)`` per night and ``close()``.
    max_tasks_per_child
        Jobs per pool worker before it is replaced (None: never).
    split_nights
        ``"noon"`` or ``"diary"``: inputs are multi-day files; each is cut into nights
        (:func:`lmdetect.preprocessing.nights.split_nights`; ``"diary"`` needs the diary of a
        manifest) and every night gets its own folder ``nights/<file id>/<evening date>/`` and row.
    tz
        Time zone the device clocks were set in (IANA name or offset; see
        :func:`lmdetect.io.read_recording`), for the nights whose manifest row gives no ``tz``.
        A night processed under another zone is processed again.

    Returns
    -------
    BatchSummary

    Raises
    ------
    LmdetectError
        No recordings in the inputs, a missing input folder, two inputs with one output folder,
        a bad shard, an unknown ``tz``, or reports asked for without ``lmdetect[report]``. A bad *night* never raises:
        it is listed in ``failures.csv``.
    """
    t_start = time.monotonic()
    started = dt.datetime.now(dt.UTC).astimezone()
    if executor is None:
        start_fork_server(reports)  # it imports the pipeline while the inputs are found
    config = config or Config()
    if split_nights is not None:
        check_option("split_nights", split_nights, ("noon", "diary"))
    out = Path(os.path.abspath(out_dir))
    if out.exists() and not out.is_dir():
        raise LmdetectError(f"{out_dir}: exists and is not a folder")
    shard_t = parse_shard(shard) if shard is not None else None
    parse_tz(tz)  # an unknown zone stops the batch before any night
    nights = collect_nights(inputs, exclude=out)
    if not nights:
        raise LmdetectError(f"no recordings found in {', '.join(map(str, inputs)) or 'the inputs'}")
    if shard_t is not None:
        nights = select_shard(nights, shard_t)
    if reports:
        _require_reports()
    config_hash = config.hash()
    jobs = [_job(n, out, config, config_hash, reports, split_nights, tz) for n in nights]
    # largest files first: the long nights start early and the pool's tail stays short
    jobs.sort(key=lambda j: (-_size(j.path), j.night_id))
    record_dir = out / "shards" / shard_folder_name(shard_t) if shard_t is not None else out
    out.mkdir(parents=True, exist_ok=True)

    outcomes: list[NightOutcome] = []
    sink = progress or _NoProgress()

    def report(o: NightOutcome, job_done: bool) -> None:
        outcomes.append(o)
        sink.update(o, job_done)

    engine: dict[str, Any]
    sink.start(len(jobs))
    try:
        if executor is None:
            cpus = available_cpus()
            n = min(workers or cpus, cpus, max(1, len(jobs)))
            if workers and workers > n:
                log.info("using %d worker(s) instead of %d (%d CPU(s), %d night(s))", n, workers, cpus, len(jobs))
            engine = {"kind": "process-pool", "workers": n, "start_method": START_METHOD,
                      "max_tasks_per_child": max_tasks_per_child}
            if jobs:
                _run_process_pool(jobs, n, report, max_tasks_per_child=max_tasks_per_child)
        else:
            engine = {"kind": "executor", "class": f"{type(executor).__module__}.{type(executor).__qualname__}"}
            _collect({executor.submit(run_job, j): j for j in jobs}, report)
    finally:
        sink.close()

    finished = dt.datetime.now(dt.UTC).astimezone()
    cohort, failures, files = write_batch_record(
        record_dir, outcomes, config=config.to_dict(), config_hash=config_hash, engine=engine, shard=shard_t,
        reports=reports, started=started, finished=finished,
    )
    return BatchSummary(
        out_dir=out,
        record_dir=record_dir,
        cohort=cohort,
        failures=failures,
        outcomes=tuple(sorted(outcomes, key=lambda o: o.night_id)),
        files=files,
        engine=engine,
        elapsed_s=time.monotonic() - t_start,
    )
