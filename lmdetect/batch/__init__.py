"""Many nights through any ``concurrent.futures.Executor``: cohorts, job arrays, resumable runs.

>>> from lmdetect.batch import run_batch
>>> summary = run_batch(["cohort/"], "out", workers=4)          # doctest: +SKIP
>>> summary.cohort.head()                                         # doctest: +SKIP

* :func:`run_batch` processes files, folders and manifest CSVs night by night; a bad night goes to
  ``failures.csv`` and never stops the batch; complete nights are skipped on a rerun.
* The default engine is a local process pool; :func:`dask_executor` provides a Dask cluster's
  executor (extra ``lmdetect[dask]``); any other Executor works too.
* ``shard="I/N"`` splits the cohort for SLURM/PBS job arrays; :func:`collate` merges the shards.

See docs/batch.md for the output layout and the resumability rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .cohort import CollateResult, collate
    from .engine import BatchSummary, available_cpus, dask_executor, make_process_pool, run_batch
    from .inputs import NightInput, collect_nights, parse_shard, read_manifest, select_shard
    from .progress import PlainProgress, ProgressSink, RichProgress, make_progress
    from .worker import NightJob, NightOutcome, run_night_job

# loaded on first use: `lmdetect batch` starts the workers' fork server (lmdetect.batch.worker)
# before the main process imports pandas for finding inputs and writing the record
_LAZY = {
    "CollateResult": ".cohort",
    "collate": ".cohort",
    "BatchSummary": ".engine",
    "available_cpus": ".engine",
    "dask_executor": ".engine",
    "make_process_pool": ".engine",
    "run_batch": ".engine",
    "NightInput": ".inputs",
    "collect_nights": ".inputs",
    "parse_shard": ".inputs",
    "read_manifest": ".inputs",
    "select_shard": ".inputs",
    "PlainProgress": ".progress",
    "ProgressSink": ".progress",
    "RichProgress": ".progress",
    "make_progress": ".progress",
    "NightJob": ".worker",
    "NightOutcome": ".worker",
    "run_night_job": ".worker",
}

__all__ = [
    "run_batch",
    "BatchSummary",
    "collate",
    "CollateResult",
    "dask_executor",
    "make_process_pool",
    "available_cpus",
    "NightInput",
    "collect_nights",
    "read_manifest",
    "parse_shard",
    "select_shard",
    "NightJob",
    "NightOutcome",
    "run_night_job",
    "ProgressSink",
    "PlainProgress",
    "RichProgress",
    "make_progress",
]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__)
