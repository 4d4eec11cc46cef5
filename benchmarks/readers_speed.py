"""Reading speed of the .lmr, CSV and Axivity CWA readers, each next to its decode floor.

Builds one recording (default 8 h at 100 Hz), writes it in each format and times the reader
against the least work that decodes the same file:

* ``.lmr``: pyarrow's own ``pa.ipc.open_stream(path).read_all()`` (zstd decompression of every
  column); goal: ``read_lmr`` within 20 % of it;
* CSV: ``pyarrow.csv.read_csv`` of the same file with the column types given (the parse alone);
* CWA: reading the file and viewing the packed 16-bit samples of every 512-byte block as one
  numpy array (no scaling, no timestamps): the raw decode.

Prints MB/s of the file and million samples/s for reader and floor, their ratio, and the peak
resident memory of a fresh process that only reads (the array itself is ``n * 12`` bytes).

    python benchmarks/readers_speed.py [--hours 8] [--fs 100] [--repeats 3] [--formats lmr csv cwa]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
import zoneinfo
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lmdetect.model import Recording

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


from lmdetect.io import read_recording
base = peak_mib()
rec = read_recording(sys.argv[1], **({"tz": "Europe/Berlin"} if sys.argv[1].endswith(".cwa") else {}))
print(base, peak_mib(), rec.accel_g.nbytes / 2**20)
"""


def build(hours: float, fs: float) -> Recording:
    n = int(hours * 3600 * fs)
    t = np.arange(n, dtype=np.float64) / fs
    accel = np.empty((n, 3), dtype=np.float32)
    phase = (t * 0.7).astype(np.float32)
    rng = np.random.default_rng(0)
    accel[:, 0] = 0.1 * np.sin(phase) + rng.normal(0, 0.004, n)
    accel[:, 1] = 0.05 * np.cos(phase) + rng.normal(0, 0.004, n)
    accel[:, 2] = 1.0 + rng.normal(0, 0.004, n)
    start = dt.datetime(2026, 3, 23, 22, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    return Recording(accel, t, fs, start, device_id="AX3-1", side="left", range_g=8.0)


def _median(fn: Callable[[], object], repeats: int) -> float:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def _floors(path: Path) -> Callable[[], object]:
    if path.suffix == ".lmr":
        import pyarrow as pa

        return lambda: pa.ipc.open_stream(path).read_all()
    if path.suffix == ".csv":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        def csv_floor() -> object:
            with open(path, encoding="utf-8") as fh:
                names = fh.readline().strip().split(",")
            types = {name: pa.float64() for name in names[1:]}
            return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))

        return csv_floor

    def cwa_floor() -> object:
        raw = np.fromfile(path, dtype=np.uint8)
        blocks = raw[: raw.size // 512 * 512].reshape(-1, 512)
        data = blocks[blocks[:, 0] == ord("A")]  # data blocks ("AX"), header blocks dropped
        return np.ascontiguousarray(data[:, 30:510]).view("<i2").reshape(-1, 3)

    return cwa_floor


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hours", type=float, default=8.0)
    p.add_argument("--fs", type=float, default=100.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--formats", nargs="+", default=["lmr", "csv", "cwa"], choices=["lmr", "csv", "cwa"])
    args = p.parse_args(argv)

    from lmdetect.io import read_recording
    from lmdetect.io.csv import write_csv_recording
    from lmdetect.io.cwa import write_cwa
    from lmdetect.io.native import write_lmr

    rec = build(args.hours, args.fs)
    n = rec.n_samples
    print(f"{args.hours:g} h at {args.fs:g} Hz: {n / 1e6:.2f} M samples ({rec.accel_g.nbytes / 2**20:.0f} MiB as float32)")
    print(f"  {'format':6} {'MB':>6} {'reader':>14} {'floor':>14} {'ratio':>6} {'M samples/s':>12} {'peak RSS':>22}")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats:
            path = Path(tmp) / f"night.{fmt}"
            {"lmr": write_lmr, "csv": write_csv_recording, "cwa": write_cwa}[fmt](rec, path)
            opts = {"tz": "Europe/Berlin"} if fmt == "cwa" else {}
            back = read_recording(path, **opts)
            assert back.n_samples == n, (fmt, back.n_samples, n)
            del back
            mb = path.stat().st_size / 1e6
            t_read = _median(lambda path=path, opts=opts: read_recording(path, **opts), args.repeats)
            t_floor = _median(_floors(path), args.repeats)
            r = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(path)], check=True, capture_output=True,
                               text=True)
            base, peak, arr = (float(v) for v in r.stdout.split())
            print(
                f"  {fmt:6} {mb:6.0f} {mb / t_read:8.1f} MB/s {mb / t_floor:8.1f} MB/s {t_read / t_floor:5.2f}x"
                f" {n / 1e6 / t_read:12.1f} {base:5.0f} -> {peak:5.0f} MiB ({(peak - base) / arr:.1f}x array)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
