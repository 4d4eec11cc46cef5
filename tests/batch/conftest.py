"""Fixtures for the batch tests: a small cohort of simulated nights plus corrupt files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.batch.batch_helpers import csv_with_bad_line, truncated_lmr

N_GOOD = 18
HOURS = 0.25
RATE_HZ = 25


def _simulate(folder: Path, seed: int) -> Path:
    from firmware_sim.night import simulate_night, write_night

    night = simulate_night("rls", hours=HOURS, rate_hz=RATE_HZ, seed=seed)
    return write_night(night, folder)["recording"]


@pytest.fixture(scope="session")
def sim_nights(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Eighteen distinct simulated nights (15 min at 25 Hz), one folder each with its side files."""
    root = tmp_path_factory.mktemp("sim")
    return [_simulate(root / f"seed{s:02d}", seed=s) for s in range(1, N_GOOD + 1)]


@pytest.fixture(scope="session")
def cohort_dir(sim_nights: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cohort/P01..P09/{n1,n2}.lmr (18 good nights) plus P10/n1.lmr (truncated) and P10/n2.csv (bad line)."""
    root = tmp_path_factory.mktemp("cohort")
    for i, rec in enumerate(sim_nights):
        dest = root / f"P{i // 2 + 1:02d}" / f"n{i % 2 + 1}.lmr"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(rec, dest)
    (root / "P10").mkdir()
    truncated_lmr(sim_nights[0], root / "P10" / "n1.lmr")
    csv_with_bad_line(sim_nights[1], root / "P10" / "n2.csv")
    return root


@pytest.fixture(scope="session")
def pool_run(cohort_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The whole cohort through the default process pool with two workers (read-only for tests)."""
    from lmdetect.batch import run_batch

    return run_batch([cohort_dir], tmp_path_factory.mktemp("pool") / "out", workers=2)
