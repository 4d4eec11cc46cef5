"""Decoding speed of the Axivity CWA reader on a large spec-built file.

Builds a multi-day 100 Hz recording (default 7 days, about 60 million samples, the size of a
week-long AX3 deployment), writes it with :func:`lmdetect.io.cwa.write_cwa` (16-bit samples,
80 per 512-byte block) and times :func:`lmdetect.io.cwa.read_cwa`. Prints file size, MB/s,
million samples/s and the peak resident memory of the process.

    python benchmarks/readers_speed.py [--days 7] [--fs 100] [--keep FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
import zoneinfo
from pathlib import Path

import numpy as np

from lmdetect.io.cwa import read_cwa, write_cwa
from lmdetect.model import Recording


def build(days: float, fs: float) -> Recording:
    n = int(days * 86400 * fs)
    t = np.arange(n, dtype=np.float64) / fs
    accel = np.empty((n, 3), dtype=np.float32)
    phase = (t * 0.7).astype(np.float32)
    accel[:, 0] = 0.1 * np.sin(phase)
    accel[:, 1] = 0.05 * np.cos(phase)
    accel[:, 2] = 1.0
    start = dt.datetime(2026, 3, 23, 12, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    return Recording(accel, t, fs, start, device_id="AX3-1", side="left", range_g=8.0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=float, default=7.0)
    p.add_argument("--fs", type=float, default=100.0)
    p.add_argument("--keep", type=Path, help="keep the built file here instead of a temporary folder")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "week.cwa"
        rec = build(args.days, args.fs)
        t0 = time.perf_counter()
        write_cwa(rec, path)
        t_write = time.perf_counter() - t0
        n = rec.n_samples
        del rec
        size_mb = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        back = read_cwa(path, tz="Europe/Berlin")
        t_read = time.perf_counter() - t0
        assert back.n_samples == n
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"CWA, {args.days:g} days at {args.fs:g} Hz: {n / 1e6:.1f} M samples, {size_mb:.0f} MB")
        print(f"  write_cwa {t_write:6.2f} s   {size_mb / t_write:7.1f} MB/s")
        rate = n / 1e6 / t_read
        print(f"  read_cwa  {t_read:6.2f} s   {size_mb / t_read:7.1f} MB/s   {rate:6.1f} M samples/s")
        print(f"  peak resident memory {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
