"""Time process_night on an 8-h, 100-Hz, 3-axis night (goal: <= 0.5 s median on one core).

Run: python benchmarks/speed.py [--hours 8] [--rate 100] [--repeats 7]
Prints the median and spread of the whole pipeline and of its stages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

# one core: pin BLAS/FFT threads before numpy is imported
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

from firmware_sim.night import simulate_night  # noqa: E402
from lmdetect.config import Config  # noqa: E402
from lmdetect.detect.lm import detect_lms, movement_magnitude  # noqa: E402
from lmdetect.detect.vibration import detect_vibration  # noqa: E402
from lmdetect.pipeline import process_night  # noqa: E402
from lmdetect.preprocessing.clock import fit_clock  # noqa: E402
from lmdetect.preprocessing.grid import to_regular_grid  # noqa: E402
from lmdetect.preprocessing.nonwear import detect_nonwear  # noqa: E402
from lmdetect.scoring import get_rule_set, score_lms  # noqa: E402


def _time(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--profile", default="rls")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    night = simulate_night(args.profile, hours=args.hours, rate_hz=args.rate, seed=1)
    rec = night.recording
    cfg = Config()
    print(f"night: {args.profile}, {rec.duration_s / 3600:.2f} h, {rec.fs:g} Hz, {rec.n_samples} samples x 3 axes")
    process_night(rec, cfg)  # warm-up
    total = _time(lambda: process_night(rec, cfg), args.repeats)
    clock = fit_clock(rec)
    reg = to_regular_grid(rec, clock)
    mag = movement_magnitude(reg, cfg.detect)
    lms, _ = detect_lms(reg, cfg.detect, magnitude_mg=mag)
    rules = get_rule_set(cfg.rules)
    stages = {
        "clock fit": lambda: fit_clock(rec),
        "uniform grid": lambda: to_regular_grid(rec, clock),
        "low-pass, baseline, magnitude": lambda: movement_magnitude(reg, cfg.detect),
        "vibration detection": lambda: detect_vibration(reg, cfg.vibration),
        "LM detection": lambda: detect_lms(reg, cfg.detect, magnitude_mg=mag),
        "non-wear": lambda: detect_nonwear(reg, cfg.nonwear),
        "scoring": lambda: score_lms(lms, rules),
    }
    med = statistics.median(total)
    print(f"process_night: median {med:.3f} s, min {min(total):.3f} s, max {max(total):.3f} s "
          f"over {args.repeats} runs (goal <= 0.5 s, aim 0.25 s)")
    for name, fn in stages.items():
        print(f"  {name:24s} {statistics.median(_time(fn, 3)):.3f} s")


if __name__ == "__main__":
    main()
