"""Bytes per hour of ``.lmr`` recordings under the storage options that were considered.

Run::

    python benchmarks/lmr_size.py [--hours 1] [--noise-counts 1.5]

The data imitate a still, sleeping leg: gravity in a posture that changes every ~30 min, Gaussian
sensor noise of ``--noise-counts`` counts at +-8 g (4096 counts/g), leg movements of 0.5-4 s every
~30 s during half of the night (PLM-like series), packets of 10 samples with a 32768 Hz sensor
clock, and host receive times with a few ms of jitter.

Options compared (all Arrow IPC streams with zstd-compressed buffers):

* ``all per-sample``: every column on every row, tick included.
* ``packet cols``: ``seq``, ``host_ns`` and ``flags`` only on the first row of each packet (null
  elsewhere); tick per sample.
* ``tick runs`` (the format as built): tick stored on the first row of each packet and where it
  departs from the nominal spacing, null elsewhere; other columns per sample.
* ``tick runs + packet cols``: both.

and, for the chosen layout, zstd levels and batch lengths, plus the real :class:`LmrWriter`
(1-s batches, as streamed by the collector) and :func:`write_lmr` (60-s batches).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from lmdetect.io._lmr_format import nominal_tick_offsets, tick_anchor_mask
from lmdetect.io.native import LmrHeader, LmrWriter, read_lmr, write_lmr

TICK_HZ = 32768
SAMPLES_PER_PACKET = 10
COUNTS_PER_G = 4096  # +-8 g full scale on 16 bits


def simulate(fs: float, hours: float, noise_counts: float, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(fs * hours * 3600)
    t = np.arange(n) / fs
    changes = np.sort(rng.uniform(0, hours * 3600, max(1, int(hours * 2))))
    posture = np.searchsorted(changes, t)
    dirs = rng.normal(size=(posture.max() + 1, 3))
    dirs /= np.linalg.norm(dirs, axis=1)[:, None]
    g = dirs[posture]
    for onset in np.arange(300.0, hours * 3600 - 5, 30.0):
        if rng.random() < 0.5:
            continue
        dur = rng.uniform(0.5, 4.0)
        i0, i1 = int(onset * fs), int((onset + dur) * fs)
        k = np.arange(i1 - i0) / fs
        wave = np.sin(2 * np.pi * rng.uniform(1, 4) * k) * np.hanning(i1 - i0)
        g[i0:i1] += rng.uniform(0.05, 0.3) * wave[:, None] * rng.normal(size=3)
    counts = np.rint(g * COUNTS_PER_G + rng.normal(0, noise_counts, (n, 3))).astype(np.int16)
    seq = np.arange(n, dtype=np.int64) // SAMPLES_PER_PACKET
    first = np.r_[True, seq[1:] != seq[:-1]]
    pkt_start = np.flatnonzero(first)
    tick = 123_456 + nominal_tick_offsets(pkt_start, TICK_HZ, fs)[seq] + nominal_tick_offsets(
        np.arange(n) - pkt_start[seq], TICK_HZ, fs
    )
    t_last = t[np.minimum(pkt_start + SAMPLES_PER_PACKET - 1, n - 1)]
    latency_s = 0.010 + rng.exponential(0.015, pkt_start.size)
    host_pkt = 1_700_000_000 * 10**9 + np.rint((t_last + latency_s) * 1e9)
    host = host_pkt.astype(np.int64)[seq]
    return {"counts": counts, "seq": seq, "tick": tick, "host": host, "first": first}


def _nullable(values: np.ndarray, keep: np.ndarray, typ: pa.DataType) -> pa.Array:
    return pa.array(np.where(keep, values, 0), type=typ, mask=~keep)


def layout_table(d: dict[str, np.ndarray], layout: str, fs: float) -> pa.Table:
    c, first = d["counts"], d["first"]
    everywhere = np.ones(first.shape, bool)
    tick_keep = tick_anchor_mask(d["tick"], first, TICK_HZ, fs) if "tick runs" in layout else everywhere
    pkt_keep = first if "packet cols" in layout else everywhere
    return pa.table(
        {
            "x": pa.array(c[:, 0]),
            "y": pa.array(c[:, 1]),
            "z": pa.array(c[:, 2]),
            "seq": _nullable(d["seq"], pkt_keep, pa.int64()),
            "tick": _nullable(d["tick"], tick_keep, pa.int64()),
            "host_ns": _nullable(d["host"], pkt_keep, pa.int64()),
            "flags": _nullable(np.zeros(first.shape, np.uint8), pkt_keep, pa.uint8()),
        }
    )


def stream_bytes(table: pa.Table, batch_rows: int, level: int) -> int:
    sink = pa.BufferOutputStream()
    opts = ipc.IpcWriteOptions(compression=pa.Codec("zstd", compression_level=level))
    with ipc.new_stream(sink, table.schema, options=opts) as w:
        for b in table.to_batches(max_chunksize=batch_rows):
            w.write_batch(b)
    return int(sink.tell())


def writer_bytes(d: dict[str, np.ndarray], fs: float, folder: Path) -> tuple[int, int]:
    """Size from the streaming LmrWriter (a flush per second of data) and from write_lmr."""
    header = LmrHeader(
        fs=fs,
        start=dt.datetime(2024, 1, 1, 23, 0, tzinfo=dt.UTC),
        tick_hz=TICK_HZ,
        scale_g=1 / COUNTS_PER_G,
        range_g=8.0,
        device_id="bench",
    )
    path = folder / f"stream_{fs:g}.lmr"
    first = np.flatnonzero(d["first"])
    per_flush = max(1, int(round(fs / SAMPLES_PER_PACKET)))
    with LmrWriter(path, header, flush_interval_s=1e9, fsync_interval_s=1e9) as w:
        for k, i0 in enumerate(first):
            i1 = i0 + SAMPLES_PER_PACKET
            w.write_packet(
                int(d["seq"][i0]), int(d["tick"][i0]), d["counts"][i0:i1], host_ns=int(d["host"][i0])
            )
            if (k + 1) % per_flush == 0:
                w.flush()
    streamed = path.stat().st_size
    out = folder / f"offline_{fs:g}.lmr"
    write_lmr(read_lmr(path), out)
    return streamed, out.stat().st_size


def row(fs: float, layout: str, batch_s: float, level: int, mb_per_h: float, extra: str = "") -> None:
    print(f"{fs:>4g}Hz {layout:<26} {batch_s:>5g}s {level:>4} {mb_per_h:7.3f} {6 * mb_per_h:7.2f} {extra}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, default=1.0, help="hours of data to simulate per rate")
    ap.add_argument("--noise-counts", type=float, default=1.5, help="sensor noise SD in counts")
    args = ap.parse_args()
    mb_h = lambda nbytes: nbytes / args.hours / 1e6  # noqa: E731
    print(f"noise {args.noise_counts} counts at 4096 counts/g; {args.hours} h simulated per rate")
    print(f"{'rate':>6} {'layout':<26} {'batch':>6} {'zstd':>4} {'MB/h':>7} {'MB/6h':>7} {'write s/h':>9}")
    for fs in (50.0, 100.0):
        d = simulate(fs, args.hours, args.noise_counts)
        rows = lambda s, fs=fs: int(s * fs)  # noqa: E731
        layouts = ("all per-sample", "packet cols", "tick runs", "tick runs + packet cols")
        cases = [(lay, 60, 3) for lay in layouts]
        batch_levels = ((1, 3), (10, 3), (60, 1), (60, 9), (60, 12), (60, 19), (300, 12))
        cases += [("tick runs", b, lvl) for b, lvl in batch_levels]
        for layout, batch_s, level in cases:
            table = layout_table(d, layout, fs)
            t0 = time.perf_counter()
            size = stream_bytes(table, rows(batch_s), level)
            secs = (time.perf_counter() - t0) / args.hours
            row(fs, layout, batch_s, level, mb_h(size), f"{secs:9.3f}")
        with tempfile.TemporaryDirectory() as tmp:
            streamed, offline = writer_bytes(d, fs, Path(tmp))
        row(fs, "LmrWriter (1-s flushes)", 1, 3, mb_h(streamed))
        row(fs, "write_lmr (default)", 60, 12, mb_h(offline))


if __name__ == "__main__":
    main()
