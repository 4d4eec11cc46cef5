"""Throughput of ``lmdetect batch``: nights/s, scaling from 1 to 2 workers, the engine's own overhead.

Simulated nights are generated once (in parallel) into a data folder and reused by later runs.
Each configuration (1 and 2 workers, with and without report.html) then processes the whole set
into a fresh output folder with the default process pool, in a fresh Python process of its own,
as ``lmdetect batch`` would run: the start-up (imports, the fork server or the spawned workers)
is paid in every configuration. Printed per configuration:

* start s: the fixed cost of a run, paid once however many nights: the main process importing
  ``lmdetect.batch``, the time until the first night starts in a warm worker (input discovery,
  pool and worker start-up, which includes importing the pipeline) and the cohort record written
  after the last night.
* nights/s: nights divided by the whole run (import of lmdetect.batch to record written).
* work/night: what a night costs inside its worker: reading the file, ``process_night`` and writing
  its outputs (``NightOutcome.timings_s``).
* overhead/night: ``(workers * (wall - start) - sum of work) / nights``: what the engine adds per
  night once the workers are warm (checksums and the checks for resuming, job and result
  transfer, the progress display); with several workers it also holds the idle tail when one
  worker finishes first. Shown in ms and as a share of the mean ``process_night`` time.
* scaling efficiency from 1 to 2 workers, (nights/s with 2) / (2 * nights/s with 1), once over
  whole runs and once over the nights alone (start excluded), next to what the machine allowed:
  the ratio of the work per night with 1 and with 2 workers (if the engine cost nothing, the
  nights would scale by exactly that), and ``process_night`` on one night in one process alone
  and in two processes at once, timed right after the runs.

Targets (issue 15): scaling efficiency >= 90 % and engine overhead <= 10 % of process_night per
night, on 1-h nights. The machine's load average is printed before and after: on a shared machine
the 2-worker figures are only as good as the second CPU is free. A final run over complete
outputs measures the cost of a resumed batch (every night skipped).

Usage::

    python benchmarks/batch.py                      # 200 nights of 8 h at 50 Hz
    python benchmarks/batch.py --nights 20 --hours 1 --rate 100 --data bench-nights/
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROFILES = ("rls", "rls", "control", "pad", "noisy")  # a mixed cohort, RLS-heavy

#: One configuration, run in a fresh interpreter: argv = out dir, workers, reports (0/1), inputs...
_CHILD = """
import json, sys, time
t0 = time.perf_counter()
reports = sys.argv[3] == "1"
try:  # as `lmdetect batch` does: the fork server imports the pipeline while this process imports the rest
    from lmdetect.batch.worker import start_fork_server
except ImportError:  # an lmdetect without one
    pass
else:
    start_fork_server(reports)
from lmdetect.batch import run_batch
t_import = time.perf_counter() - t0


class Clock:
    def __init__(self):
        self.at = []

    def start(self, total):
        pass

    def update(self, outcome, job_done=True):
        self.at.append((time.perf_counter(), outcome.timings_s.get("total", 0.0)))

    def close(self):
        pass


clock = Clock()
out, workers, inputs = sys.argv[1], int(sys.argv[2]), sys.argv[4:]
t1 = time.perf_counter()
s = run_batch(inputs, out, workers=workers, reports=reports, progress=clock)
t2 = time.perf_counter()
arrivals = clock.at
print(json.dumps({
    "import_s": t_import,
    "wall_s": t2 - t1,
    "first_arrival_s": arrivals[0][0] - t1 if arrivals else 0.0,
    "first_total_s": arrivals[0][1] if arrivals else 0.0,
    "last_arrival_s": arrivals[-1][0] - t1 if arrivals else 0.0,
    "failed": [[o.night_id, o.error] for o in s.outcomes if o.status == "failed"],
    "skipped": s.n_skipped,
    "timings": [dict(o.timings_s) for o in s.outcomes],
}))
"""


#: The machine's own ceiling: process_night of one night, timed in a loop; argv = recording, runs.
_CEILING_CHILD = """
import statistics, sys, time
from lmdetect.config import Config
from lmdetect.io.native import read_lmr
from lmdetect.pipeline import process_night
rec, cfg = read_lmr(sys.argv[1]), Config()
process_night(rec, cfg)
ts = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    process_night(rec, cfg)
    ts.append(time.perf_counter() - t)
print(statistics.median(ts))
"""


def machine_ceiling(recording: Path, runs: int = 6) -> tuple[float, float]:
    """Median process_night seconds of one process alone, and of each of two running at once:
    the scaling the CPUs allow whatever the engine does (a second CPU busy with other work, or
    shared with another virtual machine, shows here)."""
    args = [sys.executable, "-c", _CEILING_CHILD, str(recording), str(runs)]
    alone = float(subprocess.run(args, check=True, capture_output=True, text=True).stdout.split()[-1])
    pair = [subprocess.Popen(args, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    both = [float(proc.communicate()[0].split()[-1]) for proc in pair]
    return alone, statistics.fmean(both)


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
    """One configuration in a fresh interpreter; the figures described in the module docs."""
    args = [sys.executable, "-c", _CHILD, str(out), str(workers), "1" if reports else "0", *map(str, inputs)]
    res = subprocess.run(args, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"batch run failed:\n{res.stderr}")
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    if doc["failed"]:
        night_id, error = doc["failed"][0]
        raise SystemExit(f"{len(doc['failed'])} night(s) failed, e.g. {night_id}: {error}")
    t = doc["timings"]
    n = len(t)
    work = sum(x.get("read", 0.0) + x.get("process", 0.0) + x.get("write", 0.0) for x in t)
    process = [x["process"] for x in t if "process" in x]
    # the first night to come back started when its worker was warm: everything before is start-up,
    # and so is the cohort record written after the last one
    start_in_run = (max(0.0, doc["first_arrival_s"] - doc["first_total_s"])
                    + max(0.0, doc["wall_s"] - doc["last_arrival_s"]))
    start = doc["import_s"] + start_in_run
    whole = doc["import_s"] + doc["wall_s"]
    nights_wall = max(1e-9, doc["wall_s"] - start_in_run)
    return {
        "n": n,
        "skipped": doc["skipped"],
        "wall_s": whole,
        "start_s": start,
        "nights_per_s": n / whole,
        "steady_nights_per_s": n / nights_wall,
        "work_per_night_s": work / n,
        "process_per_night_s": statistics.fmean(process) if process else float("nan"),
        "hash_per_night_ms": 1e3 * statistics.fmean(x.get("hash", 0.0) for x in t),
        "overhead_per_night_ms": 1e3 * (workers * nights_wall - work) / n,
    }


def _load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover - not on this platform
        return "n/a"


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
    from lmdetect.batch.engine import START_METHOD

    cpus = available_cpus()
    data = args.data or Path(tempfile.gettempdir()) / f"lmdetect-bench-batch-{args.nights}x{args.hours:g}h-{args.rate}hz"
    data.mkdir(parents=True, exist_ok=True)
    inputs, gen_s = generate(data, args.nights, args.hours, args.rate, max(1, min(cpus, 4)))
    size_mb = sum(p.stat().st_size for p in inputs) / 1e6
    print(f"lmdetect {__version__}, python {sys.version.split()[0]}, {cpus} CPU(s) available, "
          f"pool start method {START_METHOD}")
    print(f"{len(inputs)} nights of {args.hours:g} h at {args.rate} Hz, {size_mb:.0f} MB of .lmr"
          + (f" (simulated in {gen_s:.0f} s)" if gen_s > 1 else " (already there)"))
    if cpus < 2:
        print("note: fewer than 2 CPUs available; the 2-worker runs cannot scale")

    import importlib.util

    if args.no_reports or any(importlib.util.find_spec(m) is None for m in ("matplotlib", "jinja2")):
        if not args.no_reports:
            print("note: lmdetect[report] not installed; runs with reports skipped")
        report_modes = [False]
    else:
        report_modes = [False, True]

    scratch = Path(tempfile.mkdtemp(prefix="lmdetect-bench-out-"))
    results: dict[tuple[bool, int], dict[str, float]] = {}
    header = (f"{'reports':<8}{'workers':>8}{'wall s':>9}{'start s':>9}{'nights/s':>10}{'work/night s':>14}"
              f"{'process/night s':>17}{'hash ms':>9}{'overhead/night':>24}")
    try:
        print(f"load average before: {_load()}")
        print()
        print(header)
        for reports in report_modes:
            for workers in (1, 2):
                out = scratch / f"r{int(reports)}-w{workers}"
                r = run(inputs, out, workers, reports)
                results[(reports, workers)] = r
                share = r["overhead_per_night_ms"] / 1e3 / r["process_per_night_s"]
                print(f"{'yes' if reports else 'no':<8}{workers:>8}{r['wall_s']:>9.1f}{r['start_s']:>9.2f}"
                      f"{r['nights_per_s']:>10.2f}{r['work_per_night_s']:>14.3f}{r['process_per_night_s']:>17.3f}"
                      f"{r['hash_per_night_ms']:>9.1f}{r['overhead_per_night_ms']:>13.1f} ms ({share:>5.1%})",
                      flush=True)
                if not (reports == report_modes[-1] and workers == 2):
                    shutil.rmtree(out)
        last = scratch / f"r{int(report_modes[-1])}-w2"
        resumed = run(inputs, last, 2, report_modes[-1])
        alone, together = machine_ceiling(inputs[0])
        print()
        print(f"this machine: process_night of one night {alone:.3f} s alone, {together:.3f} s each with two processes "
              f"at once: at most {alone / together:.1%} scaling from 1 to 2 workers whatever the engine does")
        for reports in report_modes:
            one, two = results[(reports, 1)], results[(reports, 2)]
            eff = two["nights_per_s"] / (2 * one["nights_per_s"])
            steady = two["steady_nights_per_s"] / (2 * one["steady_nights_per_s"])
            share = one["overhead_per_night_ms"] / 1e3 / one["process_per_night_s"]
            # if the engine cost nothing, 2 workers would finish in half the summed work: the work per
            # night growing under two workers (CPUs shared with other load, memory bandwidth) bounds it
            bound = one["work_per_night_s"] / two["work_per_night_s"]
            print(f"{'with' if reports else 'without'} reports: scaling efficiency 1 -> 2 workers {steady:.1%} "
                  f"over the nights, where the work per night growing from 1 to 2 workers allows {bound:.1%} "
                  f"(this machine's ceiling measured after: {alone / together:.1%}); {eff:.1%} over "
                  f"whole runs (target >= 90%); engine overhead with 1 worker "
                  f"{one['overhead_per_night_ms']:.1f} ms/night = {share:.1%} of process_night (target <= 10%), "
                  f"plus {one['start_s']:.2f} s once per run")
        print(f"resumed batch (all {int(resumed['skipped'])} nights complete, 2 workers): {resumed['wall_s']:.1f} s, "
              f"{1e3 * resumed['wall_s'] / resumed['n']:.1f} ms/night")
        print(f"load average after: {_load()}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
