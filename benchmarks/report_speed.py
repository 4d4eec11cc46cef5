"""Time the per-night report of an 8-h night (goal: HTML under 2 s per night) and its size.

Run: python benchmarks/report_speed.py [--hours 8] [--rate 50] [--repeats 5] [--profile pad]
Prints the median and spread of rendering report.html, of each figure, of report.pdf, and the
HTML size (goal: a few MB at most).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

# one core: pin BLAS/FFT threads before numpy is imported
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from firmware_sim.night import simulate_night  # noqa: E402
from lmdetect.pipeline import process_night  # noqa: E402
from lmdetect.report.figures import figure_to_png, night_figures  # noqa: E402
from lmdetect.report.html import render_night_report, report_summary  # noqa: E402
from lmdetect.report.pdf import write_night_report_pdf  # noqa: E402
from lmdetect.results.night_folder import night_summary_document  # noqa: E402


def _time(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _line(name: str, times: list[float]) -> str:
    med = statistics.median(times)
    return f"{name:24s} median {med:.3f} s, min {min(times):.3f} s, max {max(times):.3f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--rate", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--profile", default="pad")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    sim = simulate_night(args.profile, hours=args.hours, rate_hz=args.rate, seed=1)
    result = process_night(sim.recording, diary=sim.diary, pad_log=sim.pad_log)
    doc = night_summary_document(result)
    print(f"night: {args.profile}, {args.hours:g} h at {args.rate} Hz, {len(result.events)} scored movements")

    html = render_night_report(result, summary=doc)  # warm-up (imports, font cache)
    html_t = _time(lambda: render_night_report(result, summary=doc), args.repeats)
    print(_line("report.html", html_t) + "  (goal < 2 s)")
    figs = night_figures(result, report_summary(result, doc))
    for name, fig in figs.items():
        print("  " + _line(f"figure {name}", _time(lambda fig=fig: figure_to_png(fig), args.repeats)))
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "report.pdf"
        pdf_t = _time(lambda: write_night_report_pdf(result, pdf, summary=doc), args.repeats)
        pdf_kb = pdf.stat().st_size / 1024
    print(_line("report.pdf", pdf_t))
    print(f"sizes: report.html {len(html.encode()) / 1024:.0f} KiB, report.pdf {pdf_kb:.0f} KiB")


if __name__ == "__main__":
    main()
