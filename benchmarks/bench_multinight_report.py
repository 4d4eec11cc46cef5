"""Time ``lmdetect summarize`` (read the nights, statistics, figures, HTML, files) for 7 and 30 nights.

Goal (docs/multinight.md): the multi-night report renders in under 2 s per night; in practice the
whole summary of a week takes about a second.

Run: ``python benchmarks/bench_multinight_report.py [hours_per_night]``. Seven full nights are
simulated and processed once (the slow part, not timed); the 30-night case repeats them with
shifted dates. Prints the median of 3 runs for each step.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from firmware_sim.night import DEFAULT_START, simulate_night
from lmdetect.outputs import write_night_outputs
from lmdetect.pipeline import process_night
from lmdetect.report.multinight import render_multinight_report
from lmdetect.results.multinight import multinight_document, read_night_folders
from lmdetect.summary.multinight import multinight_summary, multinight_table


def make_nights(root: Path, hours: float) -> list[Path]:
    out = []
    for k in range(7):
        night = simulate_night("pad" if k % 2 else "rls", hours=hours, rate_hz=25, seed=500 + k,
                               start=DEFAULT_START + dt.timedelta(days=k))
        result = process_night(night.recording, diary=night.diary,
                               pad_log=night.pad_log if len(night.pad_log) else None)
        write_night_outputs(result, root / f"night{k + 1:02d}")
        out.append(root / f"night{k + 1:02d}")
    return out


def repeat_nights(root: Path, base: list[Path], n: int) -> list[Path]:
    """``n`` night folders: copies of ``base`` with the start moved by whole days."""
    out = []
    for k in range(n):
        src = base[k % len(base)]
        dst = root / f"copy{k + 1:02d}"
        shutil.copytree(src, dst)
        doc = json.loads((dst / "summary.json").read_text())
        start = dt.datetime.fromisoformat(doc["recording_start"]) + dt.timedelta(days=k - k % len(base))
        doc["recording_start"] = start.isoformat()
        (dst / "summary.json").write_text(json.dumps(doc))
        out.append(dst)
    return out


def timed(fn, repeats: int = 3) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


def main() -> None:
    hours = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"simulating and processing 7 nights of {hours:g} h (not timed) ...", flush=True)
        base = make_nights(root / "base", hours)
        for n, dirs in ((7, base), (30, repeat_nights(root / "copies", base, 30))):
            t_read, folders = timed(lambda dirs=dirs: read_night_folders(dirs))
            names = [f.path.name for f in folders]
            t_stats, summary = timed(
                lambda folders=folders, names=names: multinight_summary(
                    multinight_table([f.summary for f in folders], names)))
            doc = multinight_document(summary, folders, names)
            by_label = dict(zip(names, folders, strict=True))
            t_html, html = timed(
                lambda summary=summary, by_label=by_label, doc=doc: render_multinight_report(summary, by_label, doc))
            total = t_read + t_stats + t_html
            print(f"{n:2d} nights: read {t_read:.2f} s, statistics {t_stats:.2f} s, figures+HTML {t_html:.2f} s; "
                  f"total {total:.2f} s = {total / n:.3f} s per night (goal < 2 s); page {len(html) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
