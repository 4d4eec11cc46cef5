"""Speed of the night simulator: seconds to simulate (and write) nights at each sensor rate.

Run: ``python benchmarks/simulate_speed.py [--hours 8] [--write]``. Goal: an 8-h night at 100 Hz in a
few seconds on one core.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from firmware_sim.night import simulate_night, write_night


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--profiles", default="rls,pad")
    ap.add_argument("--rates", default="25,50,100,200")
    ap.add_argument("--write", action="store_true", help="also time writing night.lmr and the truth files")
    args = ap.parse_args()
    simulate_night("control", hours=0.5, rate_hz=25, seed=0)  # warm imports
    print(f"{'profile':8} {'rate_hz':>7} {'hours':>5} {'simulate_s':>10} {'write_s':>8} {'samples':>10}")
    for profile in args.profiles.split(","):
        for rate in (int(r) for r in args.rates.split(",")):
            t0 = time.perf_counter()
            night = simulate_night(profile, hours=args.hours, rate_hz=rate, seed=1)
            t1 = time.perf_counter()
            write_s = float("nan")
            if args.write:
                with tempfile.TemporaryDirectory() as tmp:
                    write_night(night, Path(tmp))
                    write_s = time.perf_counter() - t1
            print(f"{profile:8} {rate:7d} {args.hours:5g} {t1 - t0:10.2f} {write_s:8.2f} {night.recording.n_samples:10d}")


if __name__ == "__main__":
    main()
