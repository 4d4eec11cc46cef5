"""Peak memory of read + process as the recording grows: MiB per hour of recording.

For each length (``--hours``, default 1 4 8 16 24) one night is simulated and written as
``.lmr``; a fresh subprocess then imports lmdetect, reads the file and runs ``process_night``,
printing its own high-water mark (VmHWM) after the imports, after the read and after processing.
The growth is the least-squares slope of the final peak over the hours, and the fixed part is
its intercept (libraries plus what does not scale with the night). Goal (issue #15): <= 300 MiB
at 8 h and 100 Hz, growing <= 15 MiB per hour.

Run: python benchmarks/memory_growth.py [--hours 1 4 8 16 24] [--rate 100] [--profile rls]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

_CHILD = """
import sys


def peak_mib():
    # VmHWM: this process's own high-water mark (ru_maxrss would carry the parent's over fork)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM in /proc/self/status")


from lmdetect.config import Config
from lmdetect.io.native import read_lmr
from lmdetect.pipeline import process_night

base = peak_mib()
rec = read_lmr(sys.argv[1])
after_read = peak_mib()
process_night(rec, Config())
print(base, after_read, peak_mib())
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, nargs="+", default=[1.0, 4.0, 8.0, 16.0, 24.0])
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--profile", default="rls")
    args = ap.parse_args()
    if not os.path.exists("/proc/self/status"):
        sys.exit("memory_growth.py reads VmHWM from /proc (Linux only)")

    from firmware_sim.night import simulate_night
    from lmdetect.io.native import write_lmr

    hours, peaks = [], []
    print(f"{'hours':>6} {'imports':>9} {'after read':>11} {'peak':>9}   (MiB, {args.profile}, {args.rate} Hz)")
    with tempfile.TemporaryDirectory() as tmp_s:
        for h in args.hours:
            lmr = Path(tmp_s) / f"night_{h:g}h.lmr"
            night = simulate_night(args.profile, hours=h, rate_hz=args.rate, seed=1)
            write_lmr(night.recording, lmr)
            del night
            r = subprocess.run([sys.executable, "-c", _CHILD, str(lmr)], check=True, capture_output=True, text=True)
            b, a, p = (float(v) for v in r.stdout.split())
            lmr.unlink()
            print(f"{h:6g} {b:9.0f} {a:11.0f} {p:9.0f}")
            hours.append(h)
            peaks.append(p)
    if len(hours) >= 2:
        slope, intercept = np.polyfit(hours, peaks, 1)
        print(f"growth: {slope:.1f} MiB per hour of recording (goal <= 15), fixed part {intercept:.0f} MiB")


if __name__ == "__main__":
    main()
