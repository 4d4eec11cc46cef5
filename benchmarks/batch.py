"""Throughput of ``lmdetect batch``: nights/s, scaling from 1 to 2 workers, the engine's own overhead.

Simulated nights are generated once (in parallel) into a data folder and reused by later runs.
Each configuration (1 and 2 workers, with and without report.html) then processes the whole set
into a fresh output folder with the default process pool. Printed per configuration:

* nights/s: nights divided by the wall-clock time of ``run_batch`` (discovery, pool start-up,
  hashing, processing, writing, the cohort table: everything).
* work/night: what a night costs inside its worker: reading the file, ``process_night`` and writing
  its outputs (``NightOutcome.timings_s``).
* engine overhead/night: ``(workers * wall - sum of work) / nights``, i.e. everything the batch
  adds on top of the nights themselves: input discovery, checksums for resumability, worker
  start-up (spawned interpreters importing numpy/scipy/pandas), job and result transfer, and the
  cohort record; with several workers it also holds idle time at the end of the run. Shown in ms
  and as a share of the mean ``process_night`` time.
* scaling efficiency: (nights/s with 2 workers) / (2 * nights/s with 1 worker).

Targets (issue 6): scaling efficiency >= 80 %, engine overhead <= 10 % of process_night time.
A final run over complete outputs measures the cost of a resumed batch (every night skipped).

Usage::

    python benchmarks/batch.py                      # 200 nights of 8 h at 50 Hz
    python benchmarks/batch.py --nights 40 --hours 2 --data /tmp/nights
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROFILES = ("rls", "rls", "control", "pad", "noisy")  # a mixed cohort, RLS-heavy


def _simulate_one(args: tuple[str, int, float, int]) -> str:
    folder, seed, hours, rate = args
    from firmware_sim.night import simulate_night, write_night

    night = simulate_night(PROFILES[seed % len(PROFILES)], hours=hours, rate_hz=rate, seed=seed)
    return str(write_night(night, folder)["recording"])


def generate(data: Path, n: int, hours: float, rate: int, workers: int) -> tuple[list[Path], float]:
    """Simulate the nights that are not there yet; returns the recordings and the seconds spent."""
    todo = [
        (str(data / f"P{seed:03d}"), seed, hours, rate)
        for seed in range(1, n + 1)
        if not (data / f"P{seed:03d}" / "night.lmr").is_file()
    ]
    t0 = time.perf_counter()
    if todo:
        print(f"simulating {len(todo)} night(s) of {hours:g} h at {rate} Hz into {data} ...", flush=True)
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            for i, _ in enumerate(pool.map(_simulate_one, todo, chunksize=1), start=1):
                if i % 20 == 0 or i == len(todo):
                    print(f"  {i}/{len(todo)}", flush=True)
    return [data / f"P{seed:03d}" / "night.lmr" for seed in range(1, n + 1)], time.perf_counter() - t0


def run(inputs: list[Path], out: Path, workers: int, reports: bool) -> dict[str, float]:
    from lmdetect.batch import run_batch

    t0 = time.perf_counter()
    s = run_batch(inputs, out, workers=workers, reports=reports)
    wall = time.perf_counter() - t0
    if s.n_failed:
        first = s.failures.iloc[0]
        raise SystemExit(f"{s.n_failed} night(s) failed, e.g. {first['night_id']}: {first['error']}")
    n = len(s.outcomes)
    t = [o.timings_s for o in s.outcomes]
    work = sum(x.get("read", 0.0) + x.get("process", 0.0) + x.get("write", 0.0) for x in t)
    process = [x["process"] for x in t if "process" in x]
    return {
        "n": n,
        "skipped": s.n_skipped,
        "wall_s": wall,
        "nights_per_s": n / wall,
        "work_per_night_s": work / n,
        "process_per_night_s": statistics.fmean(process) if process else float("nan"),
        "hash_per_night_ms": 1e3 * statistics.fmean(x.get("hash", 0.0) for x in t),
        "overhead_per_night_ms": 1e3 * (workers * wall - work) / n,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nights", type=int, default=200)
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--rate", type=int, default=50, help="sampling rate, Hz")
    ap.add_argument("--data", type=Path, help="folder for the simulated nights (kept for later runs)")
    ap.add_argument("--no-reports", action="store_true", help="skip the runs that write report.html")
    args = ap.parse_args(argv)

    from lmdetect import __version__
    from lmdetect.batch import available_cpus

    cpus = available_cpus()
    data = args.data or Path(tempfile.gettempdir()) / f"lmdetect-bench-batch-{args.nights}x{args.hours:g}h-{args.rate}hz"
    data.mkdir(parents=True, exist_ok=True)
    inputs, gen_s = generate(data, args.nights, args.hours, args.rate, max(1, min(cpus, 4)))
    size_mb = sum(p.stat().st_size for p in inputs) / 1e6
    print(f"lmdetect {__version__}, python {sys.version.split()[0]}, {cpus} CPU(s) available")
    print(f"{len(inputs)} nights of {args.hours:g} h at {args.rate} Hz, {size_mb:.0f} MB of .lmr"
          + (f" (simulated in {gen_s:.0f} s)" if gen_s > 1 else " (already there)"))
    if cpus < 2:
        print("note: fewer than 2 CPUs available; the 2-worker runs cannot scale")

    try:
        import lmdetect.report  # noqa: F401
        from lmdetect.report import write_night_report  # noqa: F401

        report_modes = [False] if args.no_reports else [False, True]
    except ImportError:
        print("note: lmdetect[report] not installed; runs with reports skipped")
        report_modes = [False]

    scratch = Path(tempfile.mkdtemp(prefix="lmdetect-bench-out-"))
    results: dict[tuple[bool, int], dict[str, float]] = {}
    header = (f"{'reports':<8}{'workers':>8}{'wall s':>9}{'nights/s':>10}{'work/night s':>14}"
              f"{'process/night s':>17}{'hash ms':>9}{'engine overhead/night':>24}")
    try:
        print()
        print(header)
        for reports in report_modes:
            for workers in (1, 2):
                out = scratch / f"r{int(reports)}-w{workers}"
                r = run(inputs, out, workers, reports)
                results[(reports, workers)] = r
                share = r["overhead_per_night_ms"] / 1e3 / r["process_per_night_s"]
                print(f"{'yes' if reports else 'no':<8}{workers:>8}{r['wall_s']:>9.1f}{r['nights_per_s']:>10.2f}"
                      f"{r['work_per_night_s']:>14.3f}{r['process_per_night_s']:>17.3f}{r['hash_per_night_ms']:>9.1f}"
                      f"{r['overhead_per_night_ms']:>13.1f} ms ({share:>5.1%})", flush=True)
                if not (reports == report_modes[-1] and workers == 2):
                    shutil.rmtree(out)
        last = scratch / f"r{int(report_modes[-1])}-w2"
        resumed = run(inputs, last, 2, report_modes[-1])
        print()
        for reports in report_modes:
            one, two = results[(reports, 1)], results[(reports, 2)]
            eff = two["nights_per_s"] / (2 * one["nights_per_s"])
            share = one["overhead_per_night_ms"] / 1e3 / one["process_per_night_s"]
            print(f"{'with' if reports else 'without'} reports: scaling efficiency 1 -> 2 workers {eff:.1%} "
                  f"(target >= 80%); engine overhead with 1 worker {one['overhead_per_night_ms']:.1f} ms/night = "
                  f"{share:.1%} of process_night (target <= 10%)")
        print(f"resumed batch (all {int(resumed['skipped'])} nights complete, 2 workers): {resumed['wall_s']:.1f} s, "
              f"{1e3 * resumed['wall_s'] / resumed['n']:.1f} ms/night")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
