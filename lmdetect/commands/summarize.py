"""``lmdetect summarize``: several processed nights into one table and a multi-night report.

Example::

    lmdetect summarize out/night1 out/night2 ... --out summary/
    lmdetect summarize batch-out/ --labels labels.csv --out summary/

writes ``summary/multinight.csv``, ``multinight.parquet``, ``multinight.json`` and
``multinight.html`` (docs/multinight.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from ..errors import ConfigError

__all__ = ["NAME", "HELP", "add_arguments", "run"]

NAME = "summarize"
HELP = "summarise several processed nights: night table (CSV, Parquet), trends, pad vs no-pad, multi-night report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ._outputs import add_force

    p.add_argument("dirs", nargs="+", metavar="DIR",
                   help="output folders of `lmdetect process` (or a batch output folder holding them)")
    p.add_argument("--out", required=True, type=Path,
                   help="output folder (an existing, non-empty one only with --force)")
    add_force(p)
    p.add_argument("--labels", type=Path,
                   help="CSV with columns night,pad (pad / no-pad) overriding the pad-night rule per night")
    p.add_argument("--metric", default="plms_per_h",
                   help="night-table column compared between pad and no-pad nights, by its id "
                   "(default plms_per_h, i.e. PLMS/h; see docs/multinight.md)")
    p.add_argument("--n-boot", type=int, default=10_000, help="bootstrap resamples (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    p.add_argument("--no-report", action="store_true", help="write the tables only, no multinight.html")


def run(args: argparse.Namespace) -> int:
    from ..outputs import summarize_nights
    from ..summary.multinight import COLUMNS_BEFORE
    from ._outputs import check_output_folder

    check_output_folder(args.out, args.force)
    if args.n_boot < 100:
        raise ConfigError(f"--n-boot must be at least 100, got {args.n_boot}")
    if args.seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {args.seed}")
    metric = args.metric
    if COLUMNS_BEFORE.get(metric, metric) != metric:  # a column name of earlier releases
        metric = COLUMNS_BEFORE[metric]
        print(f"lmdetect summarize: --metric {args.metric!r} is deprecated, use --metric {metric}", file=sys.stderr)
    report = not args.no_report
    if report and any(importlib.util.find_spec(m) is None for m in ("matplotlib", "jinja2")):
        print("lmdetect summarize: report skipped (install lmdetect[report])", file=sys.stderr)
        report = False
    res = summarize_nights(args.dirs, args.out, labels=args.labels, metric=metric, n_boot=args.n_boot,
                           seed=args.seed, report=report)
    c = res.summary.comparison

    def fmt(v: float | None, d: int = 2) -> str:
        return "n/a" if v is None else f"{v:.{d}f}"

    print(
        f"{len(res.summary.table)} nights ({c.n_pad} pad, {c.n_no_pad} no-pad); {c.label} pad / no-pad ratio "
        f"{fmt(c.ratio)} ({100 * c.confidence:g} % CI {fmt(c.ci_low)} to {fmt(c.ci_high)})"
    )
    for caution in res.summary.cautions:
        print(f"  caution: {caution}")
    for name, path in res.files.items():
        print(f"  {name}: {path}")
    return 0
