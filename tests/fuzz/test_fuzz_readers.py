"""Fuzzing every file reader with a fixed seed and budget (longer runs: scripts/fuzz_readers.py).

The guarantee under test (docs/format.md, "Errors and plausibility limits"): a malformed input
gives a valid result or a one-line LmdetectError naming the file; nothing else escapes, nothing
impossible is accepted, nothing is left behind, and the CLI exits 0 or 2 without a traceback.
"""

from __future__ import annotations

import collections
import logging
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmdetect.errors import LmdetectError
from tests.fuzz.corpus import (
    CASES,
    ReaderCase,
    available,
    campaign,
    check_result,
    mutate,
    mutate_zip,
    run_one,
)

#: Mutants per test run, spread evenly over the readers (>= 1000 by the test plan).
BUDGET = 1600
SEED = 20261202
#: Mutated files sent through the CLI in subprocesses (two commands each).
CLI_MUTANTS = 15
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def capped_memory() -> Iterator[None]:
    """Cap the address space 2 GiB above the current use, so that a header field that makes a
    reader allocate gigabytes fails as MemoryError (a test failure) instead of swapping."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as fh:
        used = int(fh.read().split()[0]) * resource.getpagesize()
    cap = used + 2 * 2**30
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_seed_files_are_valid(case: ReaderCase, tmp_path: Path) -> None:
    """Every unmutated seed reads cleanly, so that mutants start from a valid file."""
    if not available(case):
        pytest.skip(f"{case.needs} is not installed")
    files = case.build(tmp_path)
    outcome = run_one(case, files[0])
    assert outcome.kind == "ok", outcome.detail


def test_readers_survive_mutated_files(tmp_path: Path, capped_memory: None) -> None:
    logging.disable(logging.WARNING)  # tolerated damage is logged; thousands of lines otherwise
    try:
        outcomes = campaign(tmp_path, BUDGET, SEED)
    finally:
        logging.disable(logging.NOTSET)
    assert len(outcomes) == BUDGET
    counts = collections.Counter((o.case, o.kind) for o in outcomes)
    failures = [o for o in outcomes if o.kind == "failure"]
    assert not failures, f"{len(failures)} of {BUDGET} mutants broke the guarantee:\n" + "\n".join(
        f"{o.case}: {o.detail}" for o in failures[:25]
    )
    # the mutator really damages files, and not every mutant is refused
    for case in (c for c in CASES if available(c)):
        assert counts[(case.name, "error")] > 0, f"no mutant of {case.name} was refused"
    assert sum(n for (_, kind), n in counts.items() if kind == "ok") > BUDGET // 20


# ------------------------------------------------------------------------- hypothesis
_FUZZ_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
_TEXT_READERS = {
    c.name: c for c in CASES if c.name in ("diary", "pad-log", "hypnogram", "events-csv", "remlogic")
}


def _check_bytes(case: ReaderCase, name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        outcome = run_one(case, path)
    assert outcome.kind != "failure", outcome.detail


@_FUZZ_SETTINGS
@given(
    reader=st.sampled_from(sorted(_TEXT_READERS)),
    header=st.sampled_from(
        [
            "kind,start,end,severity,note\n",
            "start,end,intensity\n",
            "onset_s,duration_s,stage\n",
            "onset_s,duration_s,side,kind\n",
            "Time [hh:mm:ss]\tEvent\tDuration[s]\n",
        ]
    ),
    body=st.lists(
        st.lists(
            st.one_of(
                st.text(max_size=12),
                st.sampled_from(["2026-03-28T23:00:00+01:00", "2026-03-29T01:00:00", "1e308", "nan", "-5"]),
                st.floats(allow_nan=True, allow_infinity=True).map(repr),
            ),
            max_size=6,
        ),
        max_size=8,
    ),
    sep=st.sampled_from([",", "\t", ";"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
)
def test_side_file_readers_on_generated_tables(
    reader: str, header: str, body: list[list[str]], sep: str, encoding: str
) -> None:
    text = header + "".join(sep.join(row) + "\n" for row in body)
    data = text.encode(encoding, errors="replace")
    name = "events.txt" if reader == "remlogic" else f"{reader}.csv"
    _check_bytes(_TEXT_READERS[reader], name, data)


@_FUZZ_SETTINGS
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(
                st.floats(min_value=-1e3, max_value=1e6), st.sampled_from([float("nan"), float("inf")])
            ),
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(width=64),
            st.sampled_from(["0.1", "1", "1e308", "-1e308", "nan", "", "x"]),
        ),
        min_size=0,
        max_size=40,
    )
)
def test_csv_recording_on_generated_cells(rows: list[tuple[float, float, float, str]]) -> None:
    """The reader refuses non-finite and impossible values (a cell 1e308 once became inf and a
    night scored 0 LMs) and non-increasing time, and accepts the rest."""
    lines = ["t,x,y,z"] + [f"{t!r},{x!r},{y!r},{z}" for t, x, y, z in rows]
    data = ("\n".join(lines) + "\n").encode()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "night.csv"
        path.write_bytes(data)
        from lmdetect.io import read_recording

        try:
            rec = read_recording(path, start="2026-03-28T23:00:00+01:00")
        except LmdetectError as exc:
            assert "night.csv" in str(exc) and "\n" not in str(exc)
        else:
            assert rec.n_samples == len(rows)
            assert check_result(rec) is None


# --------------------------------------------------------------------------------- CLI
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "lmdetect", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_cli_on_mutated_files(tmp_path: Path) -> None:
    """A sample of mutants through ``info`` and ``convert`` in real processes: exit 0 or 2, no
    traceback, a one-line error naming the file, and no output file after an error."""
    rng = random.Random(SEED + 1)
    recording_cases = [
        c for c in CASES if c.read.__name__ in ("_recording", "_csv_recording") and available(c)
    ]
    results: list[str] = []
    for i in range(CLI_MUTANTS):
        case = recording_cases[i % len(recording_cases)]
        folder = tmp_path / f"m{i:02d}"
        folder.mkdir()
        files = case.build(folder)
        pool = [p.read_bytes() for p in files]
        original = files[0].read_bytes()
        maker = mutate_zip if case.name.startswith("gt3x") else mutate
        data, what = maker(rng, case, original, rng.choice(pool))
        files[0].write_bytes(data)
        out_dir = tmp_path / f"out{i:02d}"
        out_dir.mkdir()
        target = out_dir / "converted.lmr"
        for args in (("info", str(files[0])), ("convert", str(files[0]), str(target))):
            proc = _cli(*args, cwd=folder)
            label = f"{case.name} {what} {args[0]}: exit {proc.returncode}"
            results.append(label)
            assert proc.returncode in (0, 2), f"{label}\n{proc.stderr}"
            assert "Traceback" not in proc.stderr, f"{label}\n{proc.stderr}"
            if proc.returncode == 2:
                last = proc.stderr.strip().splitlines()[-1]
                assert last.startswith(f"lmdetect {args[0]}: error: ") and files[0].name in last, label
        left = sorted(p.name for p in out_dir.iterdir())
        assert left in ([], ["converted.lmr"]), f"{case.name} {what}: convert left {left}"
        shutil.rmtree(folder)
    assert len(results) == 2 * CLI_MUTANTS
