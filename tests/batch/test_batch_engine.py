"""The executors: a crashing worker, a real Dask LocalCluster, a missing dask extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lmdetect.batch import dask_executor, run_batch
from lmdetect.batch.engine import _job, _run_process_pool
from lmdetect.batch.inputs import collect_nights
from lmdetect.cli import main
from lmdetect.config import Config
from lmdetect.errors import LmdetectError
from tests.batch.batch_helpers import CRASHING_NIGHT, crash_on_one_night, report_warm_modules


def test_a_dying_worker_fails_only_its_own_night(cohort_dir, tmp_path):
    config = Config()
    nights = collect_nights([cohort_dir / "P01", cohort_dir / "P02", cohort_dir / "P03"])
    jobs = [_job(n, tmp_path, config, config.hash(), False) for n in nights]
    outcomes = []
    _run_process_pool(jobs, 2, lambda o, done: outcomes.append(o), max_tasks_per_child=None, worker=crash_on_one_night)
    status = {o.night_id: o.status for o in outcomes}
    assert len(outcomes) == 6 and status.pop(CRASHING_NIGHT) == "failed"
    assert set(status.values()) == {"done"}, [o.error for o in outcomes]
    dead = next(o for o in outcomes if o.night_id == CRASHING_NIGHT)
    assert "worker process died" in dead.error and dead.error_type == "BrokenProcessPool"


def test_workers_are_warm_before_their_first_night(cohort_dir, tmp_path):
    config = Config()
    jobs = [_job(n, tmp_path, config, config.hash(), False) for n in collect_nights([cohort_dir / "P01"])]
    outcomes = []
    # max_tasks_per_child=1: a fresh pool, with fresh workers, for every night
    _run_process_pool(jobs, 1, lambda o, done: outcomes.append(o), max_tasks_per_child=1, worker=report_warm_modules)
    assert len(outcomes) == 2
    for o in outcomes:
        assert o.row is not None and all(o.row.values()), o.row


_MAIN_PROCESS = """
import sys
from lmdetect.batch import run_batch
s = run_batch(sys.argv[2:], sys.argv[1], workers=1)
assert s.n_done == len(sys.argv) - 2, [o.error for o in s.outcomes]
print("MAIN", sorted(m for m in sys.modules if m.split(".")[0] in ("scipy", "matplotlib")
                     or m in ("lmdetect.pipeline", "lmdetect.preprocessing.filters", "lmdetect.detect.lm")))
"""


def test_the_main_process_imports_no_filtering_code(sim_nights, tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    res = subprocess.run([sys.executable, "-c", _MAIN_PROCESS, str(tmp_path / "out"), *map(str, sim_nights[:2])],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "MAIN []"


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


def test_dask_cluster_gives_the_same_cohort_table_as_the_pool(cluster, cohort_dir, pool_run, tmp_path):
    pool = pool_run
    with dask_executor(cluster.scheduler_address) as ex:
        dask = run_batch([cohort_dir], tmp_path / "dask", executor=ex)
    assert dask.engine["kind"] == "executor" and "ClientExecutor" in dask.engine["class"]
    assert (dask.n_done, dask.n_failed) == (18, 2)
    pd.testing.assert_frame_equal(dask.cohort, pool.cohort)
    pd.testing.assert_frame_equal(dask.failures[["night_id", "error"]], pool.failures[["night_id", "error"]])
    # the cluster's workers (other processes) wrote the night outputs
    assert len(list((tmp_path / "dask" / "nights").rglob("summary.json"))) == 18


def test_cli_scheduler_option_runs_on_the_cluster_and_resumes(cluster, cohort_dir, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["batch", str(cohort_dir / "P01"), "--out", str(out), "--scheduler", cluster.scheduler_address, "--quiet"]
    assert main(args) == 0
    assert "2 done" in capsys.readouterr().out
    assert main(args) == 0
    assert "0 done, 2 skipped" in capsys.readouterr().out


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(LmdetectError, match=r"lmdetect\[dask\]"):
        with dask_executor("tcp://127.0.0.1:1"):
            pass


def test_unreachable_scheduler_is_a_clear_error():
    pytest.importorskip("distributed")
    with pytest.raises(LmdetectError, match="cannot connect to the Dask scheduler at tcp://127.0.0.1:9"):
        with dask_executor("tcp://127.0.0.1:9", timeout_s=1.0):
            pass


def test_workers_are_recycled_without_stalling_the_queue(cohort_dir, tmp_path):
    # a queue longer than the pool with a per-worker task limit once hung ProcessPoolExecutor
    s = run_batch([cohort_dir / "P01", cohort_dir / "P02", cohort_dir / "P03"], tmp_path, workers=1,
                  max_tasks_per_child=2)
    assert s.n_done == 6
    per_pid: dict[int, int] = {}
    for o in s.outcomes:
        per_pid[o.worker_pid] = per_pid.get(o.worker_pid, 0) + 1
    assert sorted(per_pid.values()) == [2, 2, 2]
