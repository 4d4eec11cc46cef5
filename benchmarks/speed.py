"""Speed of the whole command and of its parts, as ratios to a floor measured in the same run.

The floor is one zero-phase band-pass (``scipy.signal.sosfiltfilt``, 4th-order Butterworth,
0.5-10 Hz) over the 3-axis float32 night: the least any accelerometry pipeline does. Every figure
is printed as seconds and as a multiple of that floor, so runs on a loaded or a different machine
compare. Parts timed, on one core:

* reading the ``.lmr`` (next to pyarrow's own ``read_all`` of the same file);
* ``process_night`` and each of its stages;
* each writer of the night folder (events.csv, epochs.csv, summary.json, events.tsv/.json, EDF+
  annotations, config.toml, report.html);
* the whole ``lmdetect process`` in a subprocess, with and without the report, and
  ``lmdetect --help``, and what of it is start-up: the imports of the command, of numpy, pandas
  and pyarrow, with scipy.signal (which imports scipy.stats for one function) and with matplotlib;
* peak resident memory of read + process in a fresh subprocess;
* scikit-digital-health's ``skdh.sleep.Sleep.predict`` on the same samples, when installed.

Run: python benchmarks/speed.py [--hours 8] [--rate 100] [--repeats 5] [--profile rls]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# one core: pin BLAS/FFT threads before numpy is imported
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

_RSS_CHILD = """
import resource, sys


def peak_mib():
    # VmHWM: this process's own high-water mark (ru_maxrss carries the parent's over fork/exec)
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


from lmdetect.config import Config
from lmdetect.io.native import read_lmr
from lmdetect.pipeline import process_night
base = peak_mib()
rec = read_lmr(sys.argv[1])
after_read = peak_mib()
process_night(rec, Config())
peak = peak_mib()
print(base, after_read, peak)
"""


_PROCESS_IMPORTS = "import lmdetect.io.night_inputs, lmdetect.pipeline, lmdetect.outputs, lmdetect.io.native"
_SCIPY_SIGNAL = "import numpy, pandas, pyarrow, scipy.signal, scipy.ndimage"
_REPORT_IMPORTS = "; import lmdetect.report.html"


def _median(fn: Callable[[], object], repeats: int) -> float:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def _subprocess_s(args: list[str], repeats: int) -> float:
    env = dict(os.environ)
    return _median(lambda: subprocess.run(args, check=True, capture_output=True, env=env), repeats)


class Table:
    def __init__(self, floor_s: float) -> None:
        self.floor_s = floor_s

    def row(self, name: str, seconds: float, note: str = "") -> None:
        print(f"  {name:34s} {seconds:7.3f} s  {seconds / self.floor_s:6.2f}x  {note}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--profile", default="rls")
    ap.add_argument("--no-cli", action="store_true", help="skip the subprocess runs")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    import pyarrow as pa
    from scipy import signal

    from firmware_sim.night import simulate_night
    from lmdetect.config import Config
    from lmdetect.detect.lm import detect_lms, movement_magnitude
    from lmdetect.detect.vibration import detect_vibration
    from lmdetect.io.native import read_lmr, write_lmr
    from lmdetect.pipeline import process_night
    from lmdetect.preprocessing.clock import fit_clock
    from lmdetect.preprocessing.filters import zero_phase
    from lmdetect.preprocessing.grid import to_regular_grid
    from lmdetect.preprocessing.nonwear import detect_nonwear
    from lmdetect.scoring import get_rule_set, score_lms

    night = simulate_night(args.profile, hours=args.hours, rate_hz=args.rate, seed=1)
    rec0 = night.recording
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        lmr = tmp / "night.lmr"
        write_lmr(rec0, lmr)
        del night, rec0
        rec = read_lmr(lmr)
        x = np.ascontiguousarray(rec.accel_g, dtype=np.float32)
        sos = signal.butter(4, [0.5, 10.0], btype="bandpass", fs=rec.fs, output="sos")
        floor = _median(lambda: signal.sosfiltfilt(sos, x, axis=0), args.repeats)
        t = Table(floor)
        t_zp = _median(lambda: zero_phase(sos, x), args.repeats)
        mb = lmr.stat().st_size / 1e6
        print(f"night: {args.profile}, {rec.duration_s / 3600:.2f} h, {rec.fs:g} Hz, {rec.n_samples} samples x 3 axes, "
              f".lmr {mb:.1f} MB")
        print(f"floor: sosfiltfilt, 4th order band-pass, 3-axis float32: {floor:.3f} s (= 1.00x); "
              f"medians of {args.repeats} runs on one core")
        t.row("zero_phase, same band-pass", t_zp, "(lmdetect's forward-backward filter; float32 out, no padding)")

        print("reading")
        t_pa = _median(lambda: pa.ipc.open_stream(lmr).read_all(), args.repeats)
        t_pa_xyz = _median(lambda: pa.ipc.open_stream(lmr).read_all().select(["x", "y", "z"]), args.repeats)
        t_read = _median(lambda: read_lmr(lmr), args.repeats)
        t.row("pyarrow read_all", t_pa)
        t.row("pyarrow read_all, x/y/z selected", t_pa_xyz)
        t.row("read_lmr", t_read, f"{t_read / t_pa:.2f}x pyarrow's read_all (goal <= 1.20x)")

        cfg = Config()
        process_night(rec, cfg)  # warm-up
        t_core = _median(lambda: process_night(rec, cfg), args.repeats)
        print("process_night")
        t.row("process_night", t_core, "(goal <= 2.0x)")
        clock = fit_clock(rec)
        reg = to_regular_grid(rec, clock)
        mag = movement_magnitude(reg, cfg.detect)
        lms, _ = detect_lms(reg, cfg.detect, magnitude_mg=mag)
        rules = get_rule_set(cfg.rules)
        stages: dict[str, Callable[[], object]] = {
            "clock fit": lambda: fit_clock(rec),
            "uniform grid": lambda: to_regular_grid(rec, clock),
            "low-pass, baseline, magnitude": lambda: movement_magnitude(reg, cfg.detect),
            "vibration detection": lambda: detect_vibration(reg, cfg.vibration),
            "LM detection": lambda: detect_lms(reg, cfg.detect, magnitude_mg=mag),
            "non-wear": lambda: detect_nonwear(reg, cfg.nonwear),
            "scoring": lambda: score_lms(lms, rules),
        }
        for name, fn in stages.items():
            t.row(f"  {name}", _median(fn, 3))

        result = process_night(rec, cfg)
        print("writers")
        _writers(t, result, tmp, args.repeats)

        if importlib.util.find_spec("skdh") is not None:
            print("scikit-digital-health")
            t.row("skdh.sleep.Sleep.predict", _skdh_s(rec, args.repeats), "(sleep/wake only)")
        else:
            print("scikit-digital-health: not installed (pip install scikit-digital-health to compare)")

        if not args.no_cli:
            py = sys.executable
            print("whole command (subprocess, includes start-up)")
            t.row("lmdetect --help", _subprocess_s([py, "-m", "lmdetect", "--help"], 3), "(goal <= 0.3 s)")
            out = tmp / "out"
            base = [py, "-m", "lmdetect", "process", str(lmr), "--out", str(out), "--force"]
            t.row("lmdetect process --no-report", _subprocess_s(base + ["--no-report"], 3), "(goal <= 4x)")
            t.row("lmdetect process (report.html)", _subprocess_s(base, 3), "(goal <= 6x)")
            # what start-up alone costs of the above: the imports, most of them third-party
            t.row("  imports of process --no-report", _subprocess_s([py, "-c", _PROCESS_IMPORTS], 3))
            t.row("    numpy, pandas, pyarrow", _subprocess_s([py, "-c", "import numpy, pandas, pyarrow"], 3))
            t.row("    + scipy.signal, scipy.ndimage", _subprocess_s([py, "-c", _SCIPY_SIGNAL], 3))
            t.row("  + matplotlib (report.html)", _subprocess_s([py, "-c", _PROCESS_IMPORTS + _REPORT_IMPORTS], 3))
            r = subprocess.run([py, "-c", _RSS_CHILD, str(lmr)], check=True, capture_output=True, text=True)
            b, a, p = (float(v) for v in r.stdout.split())
            print(f"peak RSS: {b:.0f} MiB after imports, {a:.0f} MiB after read_lmr, {p:.0f} MiB after process_night "
                  f"(goal <= 300 MiB for 8 h at 100 Hz)")


def _writers(t: Table, result, tmp: Path, repeats: int) -> None:  # type: ignore[no-untyped-def]
    from lmdetect._atomic import atomic_write_text
    from lmdetect.config import dump_config_toml
    from lmdetect.io.annotations.events_csv import write_events_csv
    from lmdetect.io.bids_events import write_bids_events
    from lmdetect.results.night_folder import night_summary_document
    from lmdetect.results.summary_json import to_jsonable, write_summary_json

    doc = night_summary_document(result)
    writers: dict[str, Callable[[], object]] = {
        "events.csv": lambda: write_events_csv(tmp / "events.csv", result.events),
        "epochs.csv": lambda: atomic_write_text(
            tmp / "epochs.csv", result.epochs.to_csv(index=False, float_format="%.6g")),
        "summary.json": lambda: write_summary_json(tmp / "summary.json", doc),
        "events.tsv + events.json": lambda: write_bids_events(result, tmp / "events.tsv", summary=doc),
        "config.toml": lambda: atomic_write_text(tmp / "config.toml", dump_config_toml(result.config)),
    }
    if importlib.util.find_spec("edfio") is not None:
        from lmdetect.io.edf_annotations import write_night_edf_annotations

        writers["events_annotations.edf"] = lambda: write_night_edf_annotations(
            result, tmp / "events.edf", summary=doc)
    if importlib.util.find_spec("matplotlib") is not None and importlib.util.find_spec("jinja2") is not None:
        from lmdetect.report import write_night_report

        jdoc = to_jsonable(doc)
        writers["report.html"] = lambda: write_night_report(result, tmp / "report.html", summary=jdoc)
    for name, fn in writers.items():
        fn()  # warm-up (font cache, templates)
        t.row(name, _median(fn, repeats))


def _skdh_s(rec, repeats: int) -> float:  # type: ignore[no-untyped-def]
    from skdh.sleep import Sleep

    time_s = rec.start.timestamp() + rec.time_s
    accel = rec.accel_g.astype(np.float64)
    sleep = Sleep(start_buffer=0, stop_buffer=0, min_rest_block=30, max_activity_break=150,
                  min_angle_thresh=0.1, max_angle_thresh=1.0, day_window=(12, 24))
    return _median(lambda: sleep.predict(time=time_s, accel=accel, fs=rec.fs), repeats)


if __name__ == "__main__":
    main()
