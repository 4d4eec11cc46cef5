"""``lmdetect score-events FILE --out DIR``: score an existing scored-LM annotation file.

No signal is needed: the leg movements (and the sleep stages and respiratory events, when the
file has them) are read from EDF+ annotations, an NSRR XML scoring, our events.csv or a RemLogic
event export, scored with a rule set, and written as DIR/events.csv and DIR/summary.json (the
same summary keys as ``lmdetect process``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._files import sha256_file

if TYPE_CHECKING:
    from ..io.annotations import ScoredEvents
# the readers and rule sets are imported where used: they load pandas, which `lmdetect --help` must not

__all__ = ["NAME", "HELP", "add_arguments", "run", "score_events_file"]

NAME = "score-events"
HELP = "score a scored-LM annotation file (EDF+, NSRR XML, events CSV, RemLogic export) without signal"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..io.annotations import SCORED_EVENT_FORMATS
    from ..scoring import rule_set_names
    from ._outputs import add_force

    parser.add_argument("file", type=Path, help="scored-event file (format detected from its content)")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="output folder for events.csv and summary.json (created if needed; an existing, "
        "non-empty one only with --force)",
    )
    add_force(parser)
    parser.add_argument(
        "--rules",
        default="wasm2016",
        choices=rule_set_names(),
        help="scoring rule set (default: %(default)s)",
    )
    parser.add_argument(
        "--format",
        default="auto",
        choices=["auto", *SCORED_EVENT_FORMATS],
        help="input format (default: detect)",
    )
    parser.add_argument(
        "--hypnogram",
        type=Path,
        metavar="CSV",
        help="hypnogram CSV (onset_s,duration_s,stage) to use instead of stages in FILE",
    )
    parser.add_argument(
        "--lights-off",
        type=float,
        metavar="SECONDS",
        help="start of time in bed, seconds since the file's time zero",
    )
    parser.add_argument(
        "--lights-on",
        type=float,
        metavar="SECONDS",
        help="end of time in bed, seconds since the file's time zero",
    )


def score_events_file(
    path: str | os.PathLike[str],
    rules_name: str = "wasm2016",
    *,
    format: str | None = None,
    hypnogram_csv: str | os.PathLike[str] | None = None,
    lights_off_s: float | None = None,
    lights_on_s: float | None = None,
) -> tuple[Any, dict[str, Any], ScoredEvents]:
    """Read, score and summarise one file; returns (scored table, summary dict, events read)."""
    from .. import __version__
    from ..errors import LmdetectError
    from ..io.annotations import read_hypnogram_csv, read_scored_events
    from ..scoring import SleepInfo, get_rule_set, night_indices, score_lms

    rules = get_rule_set(rules_name)
    events = read_scored_events(path, format)
    sleep_source = "hypnogram" if events.hypnogram is not None else "none"
    if hypnogram_csv is not None:
        events = dataclasses.replace(events, hypnogram=read_hypnogram_csv(hypnogram_csv))
        sleep_source = "hypnogram"
    if lights_off_s is not None and lights_on_s is not None and lights_on_s <= lights_off_s:
        raise LmdetectError(
            f"--lights-on ({lights_on_s:g} s) must be after --lights-off ({lights_off_s:g} s)"
        )
    if lights_off_s is not None:
        events = dataclasses.replace(events, lights_off_s=lights_off_s)
    if lights_on_s is not None:
        events = dataclasses.replace(events, lights_on_s=lights_on_s)
    tib_start, tib_end = events.time_in_bed()

    # movements outside time in bed (clipped to the scored epochs) are not scored at all
    scored = score_lms(
        events.lms,
        rules,
        hypnogram=events.hypnogram,
        respiratory=events.respiratory,
        arousals=events.arousals,
        period=(tib_start, tib_end),
    )
    n_outside = int(scored.attrs["n_outside_period"])
    if n_outside:
        log.info(
            "%s: %d leg-movement event(s) outside %g-%g s (time in bed within the scored epochs) not scored",
            path,
            n_outside,
            tib_start,
            tib_end,
        )
    sleep = SleepInfo(events.hypnogram, tib_start, tib_end, sleep_source)
    summary = night_indices(scored, sleep, rules)
    summary.update(
        {
            "config_hash": rules.hash(),
            "rule_parameters": rules.to_dict(),
            "lmdetect_version": __version__,
            "input_file": Path(path).name,
            "input_sha256": sha256_file(path),
            "source_format": events.source_format,
            "start": None if events.start is None else events.start.isoformat(),
            "n_events_ignored": events.n_ignored,
            "sleep_period_source": sleep_source,
            "n_lm_outside_scoring_period": n_outside,
            "warnings": list(events.warnings),
        }
    )
    return scored, summary, events


def run(args: argparse.Namespace) -> int:
    from ..io.annotations.events_csv import write_events_csv
    from ..results.summary_json import write_summary_json
    from ._outputs import check_output_folder

    check_output_folder(args.out, args.force)
    scored, summary, events = score_events_file(
        args.file,
        args.rules,
        format=None if args.format == "auto" else args.format,
        hypnogram_csv=args.hypnogram,
        lights_off_s=args.lights_off,
        lights_on_s=args.lights_on,
    )
    if len(events.lms) == 0:
        log.warning(
            "%s: no leg-movement events recognised (%d other event(s) ignored)", args.file, events.n_ignored
        )
    out: Path = args.out
    # everything is computed before the first write; summary.json goes last, as the sign that
    # the folder is complete
    write_events_csv(out / "events.csv", scored)
    write_summary_json(out / "summary.json", summary)
    plms = summary["plms_index"]
    index = (
        f"PLMS index {plms:.1f}/h (TST {summary['tst_h']:.2f} h)"
        if plms is not None
        else (
            f"PLM index {summary['plm_index_tib']:.1f}/h in bed"
            if summary["plm_index_tib"] is not None
            else "no time in bed"
        )
    )
    print(
        f"{args.file}: {summary['rule_set']}, {summary['n_clm']} CLM, {summary['n_plm']} PLM in "
        f"{summary['n_series']} series; {index}; wrote {out / 'events.csv'} and {out / 'summary.json'}"
    )
    return 0
