"""``lmdetect summarize``: several processed nights into one table and a multi-night report.

Example::

    lmdetect summarize out/night1 out/night2 ... --out summary/
    lmdetect summarize batch-out/ --labels labels.csv --out summary/
    lmdetect summarize batch-out/ --compare pad --compare foot_wrap --out summary/
    lmdetect summarize out/p01/ --before-after iron_infusion=2026-03-16 --washout-days 7 --out summary/

writes ``summary/multinight.csv``, ``multinight.parquet``, ``multinight.json`` and
``multinight.html`` (its conditions section compares every condition of the nights, or those
named), and with ``--compare`` / ``--before-after`` also ``conditions.json`` and
``conditions.html`` (docs/multinight.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..results.conditions import ConditionRequest

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
    p.add_argument("--compare", action="append", default=[], metavar="CONDITION",
                   help="compare nights with CONDITION (a diary intervention, a condition_<name> column of the "
                   "cohort table or --conditions file; pad from the pad rule) with reference nights; repeat for "
                   "several side by side; with several participants also their within-participant effects; "
                   "writes conditions.json/.html (without it the report compares every condition the nights "
                   "differ in)")
    p.add_argument("--before-after", action="append", default=[], metavar="NAME=YYYY-MM-DD",
                   help="nights before vs after a start date (one participant), with a trend-aware segmented "
                   "regression; repeatable")
    p.add_argument("--washout-days", type=int, default=0, metavar="N",
                   help="nights left out after each --before-after date (default 0)")
    p.add_argument("--conditions", type=Path, metavar="FILE",
                   help="CSV or Parquet with a night column (optionally participant) and condition_<name> "
                   "columns (True/False) marking the nights")


def run(args: argparse.Namespace) -> int:
    from ..outputs import summarize_nights
    from ..summary.multinight import COLUMNS_BEFORE
    from ._outputs import check_output_folder

    check_output_folder(args.out, args.force)
    if args.n_boot < 100:
        raise ConfigError(f"--n-boot must be at least 100, got {args.n_boot}")
    if args.seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {args.seed}")
    if args.washout_days < 0:
        raise ConfigError(f"--washout-days must be >= 0, got {args.washout_days}")
    metric = args.metric
    if COLUMNS_BEFORE.get(metric, metric) != metric:  # a column name of earlier releases
        metric = COLUMNS_BEFORE[metric]
        print(f"lmdetect summarize: --metric {args.metric!r} is deprecated, use --metric {metric}", file=sys.stderr)
        args.metric = metric
    report = not args.no_report
    if report and any(importlib.util.find_spec(m) is None for m in ("matplotlib", "jinja2")):
        print("lmdetect summarize: report skipped (install lmdetect[report])", file=sys.stderr)
        report = False
    res = summarize_nights(args.dirs, args.out, labels=args.labels, metric=metric, n_boot=args.n_boot,
                           seed=args.seed, report=report, conditions=_condition_request(args))
    c = res.summary.comparison

    def fmt(v: float | None, d: int = 2) -> str:
        return "n/a" if v is None else f"{v:.{d}f}"

    print(
        f"{len(res.summary.table)} nights ({c.n_pad} pad, {c.n_no_pad} no-pad); {c.label} pad / no-pad ratio "
        f"{fmt(c.ratio)} ({100 * c.confidence:g} % CI {fmt(c.ci_low)} to {fmt(c.ci_high)})"
    )
    for caution in res.summary.cautions:
        print(f"  caution: {caution}")
    if res.conditions is not None:
        _print_conditions(res.document["conditions"])
    for name, path in res.files.items():
        print(f"  {name}: {path}")
    return 0


def _condition_request(args: argparse.Namespace) -> ConditionRequest:
    """The condition analyses asked for by --compare / --before-after, and the --conditions file."""
    from ..results.conditions import ConditionRequest, parse_before_after

    return ConditionRequest(compare=tuple(args.compare),
                            before_after=tuple(parse_before_after(t) for t in args.before_after),
                            washout_days=args.washout_days, conditions_file=args.conditions)


def _print_conditions(doc: dict[str, Any]) -> None:
    if not doc["requested"]:
        print(f"  conditions compared (every one the nights differ in): {', '.join(doc['conditions'])}")

    def fmt(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.2f}"

    for c in doc["comparisons"]:
        print(f"  {c['condition']}: {c['n_with']} nights vs {c['n_reference']} reference; ratio {fmt(c['ratio'])} "
              f"(CI {fmt(c['ci_low'])} to {fmt(c['ci_high'])})")
    if doc["cohort"] is not None:
        co = doc["cohort"]
        for e in co["effects"]:
            print(f"  {e['condition']} within {e['n_participants']} participants ({co['method']}): ratio "
                  f"{fmt(e['ratio'])} (CI {fmt(e['ci_low'])} to {fmt(e['ci_high'])})")
    for b in doc["before_after"]:
        print(f"  {b['name']} from {b['start']}: level change {fmt(b['level_ratio'])} (CI {fmt(b['level_low'])} "
              f"to {fmt(b['level_high'])}); ratio of means {fmt(b['ratio'])}")
