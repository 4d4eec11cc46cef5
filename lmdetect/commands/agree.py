"""``lmdetect agree NIGHT_DIR --reference SCORING --out DIR``: agreement of a sensor night with a
PSG scoring of the same night (docs/validation.md).

Writes DIR/agreement.json, DIR/matched.csv and DIR/agreement.html. Everything is computed and
rendered before the first write, and each file is written under a temporary name and renamed, so
an error leaves nothing behind. ``--cohort MANIFEST`` compares many nights at once
(:func:`lmdetect.agreement.cohort.run_cohort`).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "agree"
HELP = (
    "compare a sensor night with a PSG scoring of the same night (clock alignment, event and index agreement)"
)

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..agreement.params import DEFAULT_TOLERANCE_S, MANIFEST_COLUMNS
    from ..scoring import rule_set_names
    from ._outputs import add_force

    parser.add_argument(
        "night", nargs="?", type=Path, metavar="NIGHT_OUT_DIR", help="output folder of `lmdetect process`"
    )
    parser.add_argument(
        "--reference", type=Path, metavar="SCORING_FILE",
        help="PSG scoring of the same night: RemLogic export, EDF+ annotations, NSRR XML or events CSV",
    )  # fmt: skip
    parser.add_argument(
        "--reference-hypnogram", type=Path, metavar="FILE",
        help="hypnogram to use instead of the stages in the scoring (CSV onset_s,duration_s,stage, or a scoring file)",
    )  # fmt: skip
    parser.add_argument(
        "--offset", type=float, metavar="SECONDS",
        help="known clock offset, PSG clock minus sensor clock (s); skips the estimation (no drift)",
    )  # fmt: skip
    parser.add_argument(
        "--reference-side", choices=("left", "right", "sensor"), default=None,
        help="compare with the PSG movements of one leg (sensor: the sensor night's side); default both legs",
    )  # fmt: skip
    parser.add_argument(
        "--tolerance", type=float, default=DEFAULT_TOLERANCE_S, metavar="SECONDS",
        help="onset tolerance of event matching (default %(default)g s; intervals must also overlap)",
    )  # fmt: skip
    parser.add_argument(
        "--rules", default=None, choices=rule_set_names(), help="rule set (default: the sensor night's)"
    )
    parser.add_argument(
        "--cohort", type=Path, metavar="MANIFEST",
        help="CSV manifest of nights (columns " + ", ".join(MANIFEST_COLUMNS) + "; the first two required) "
        "instead of NIGHT_OUT_DIR and --reference",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed of --cohort (default %(default)s)")
    parser.add_argument("--n-boot", type=int, default=10_000, metavar="N",
                        help="bootstrap resamples of --cohort (default %(default)s)")  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    add_force(parser)


def run(args: argparse.Namespace) -> int:
    import importlib.util

    from ..errors import LmdetectError
    from ._outputs import check_output_folder

    check_output_folder(args.out, args.force)
    if args.cohort is not None:
        if args.night is not None or args.reference is not None:
            raise LmdetectError(
                "--cohort MANIFEST replaces NIGHT_OUT_DIR and --reference; give one or the other"
            )
        from ..agreement.cohort import run_cohort

        render = None
        if all(importlib.util.find_spec(m) is not None for m in ("matplotlib", "jinja2")):
            from ..report.agreement_cohort import render_cohort_report

            def render(table: Any, doc: Any, dpi: float) -> str:
                return render_cohort_report(table, doc, dpi=dpi)
        else:
            log.warning("cohort_agreement.html skipped: it needs the report extra (pip install 'lmdetect[report]')")
        res = run_cohort(args.cohort, args.out, force=args.force, seed=args.seed, n_boot=args.n_boot,
                         rules=args.rules, tolerance_s=args.tolerance, render=render)
        print(f"{len(res.table)} nights from {args.cohort}; wrote " + ", ".join(str(p) for p in res.files.values()))
        return 0
    if args.night is None or args.reference is None:
        raise LmdetectError("agree needs NIGHT_OUT_DIR and --reference SCORING_FILE (or --cohort MANIFEST)")

    from .._atomic import atomic_write_text
    from ..agreement.night import agree_night
    from ..results.summary_json import to_jsonable

    a = agree_night(
        args.night,
        args.reference,
        reference_hypnogram=args.reference_hypnogram,
        offset_s=args.offset,
        rules=args.rules,
        tolerance_s=args.tolerance,
        reference_side=args.reference_side,
    )
    doc = json.dumps(to_jsonable(a.to_dict()), indent=2, sort_keys=False, allow_nan=False) + "\n"
    matched = a.matched.to_csv(index=False, lineterminator="\n")
    html = None
    if all(importlib.util.find_spec(m) is not None for m in ("matplotlib", "jinja2")):
        from ..report.agreement import render_agreement_html

        html = render_agreement_html(a)
    else:
        log.warning("agreement.html skipped: it needs the report extra (pip install 'lmdetect[report]')")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "matched.csv", matched)
    if html is not None:
        atomic_write_text(out / "agreement.html", html)
    atomic_write_text(out / "agreement.json", doc)  # last: its presence marks a complete set
    al, lm, plm = a.alignment, a.events["lm"], a.events["plm"]
    se = "" if al.offset_se_s is None else f" +- {al.offset_se_s:.2f}"
    drift = f", drift {al.drift_ppm:+.1f} ppm" if al.drift_fitted else ""

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{100 * v:.1f}%"

    print(
        f"{args.night} vs {args.reference}: offset {al.offset_s:+.2f}{se} s{drift}; LM sensitivity "
        f"{pct(lm['sensitivity'])}, PPV {pct(lm['ppv'])}; PLM sensitivity {pct(plm['sensitivity'])}; wrote {out}"
    )
    return 0
