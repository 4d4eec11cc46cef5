"""``lmdetect simulate``: write a simulated night (``night.lmr``) and its ground truth.

Example::

    lmdetect simulate --profile rls --hours 8 --rate 100 --seed 1 --out night1/

writes ``night1/night.lmr``, ``truth_lm.csv``, ``hypnogram.csv``, ``diary.csv``, ``pad_log.csv`` and
``truth_summary.json`` (docs/simulator.md). The same arguments always give identical files.

With ``--crossover`` it writes a crossover study instead (:func:`firmware_sim.study.simulate_crossover`)::

    lmdetect simulate --crossover --participants 20 --conditions none,pad,foot_wrap --nights 7 \
        --hours 2 --rate 25 --out study/

one folder per night, ``manifest.csv`` (with ``condition_<name>`` columns) for ``lmdetect batch``,
and the true effects in ``study_truth.json`` / ``study_truth.csv``.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["NAME", "HELP", "add_arguments", "run", "parse_start", "parse_overrides", "parse_effects"]

NAME = "simulate"
HELP = "simulate a night of ankle acceleration with ground truth (movements, hypnogram, diary, pad log)"


# firmware_sim.profiles.PROFILES, without importing it here
_PROFILE_NAMES = ("rls", "control", "pad", "noisy", "mounted", "pad_sleep", "field", "pad_alias")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..protocol import RATES_HZ  # numpy: imported only when this command runs
    from ._outputs import add_force

    parser.add_argument("--profile", default="rls", choices=_PROFILE_NAMES, help="kind of night (default rls)")
    parser.add_argument("--hours", type=float, default=8.0, help="recording length in hours (default 8)")
    parser.add_argument("--rate", type=int, default=50, choices=RATES_HZ, help="sensor output data rate in Hz (default 50)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--range", dest="range_g", type=int, default=8, choices=(2, 4, 8, 16), help="full scale in +-g (default 8)")
    parser.add_argument("--side", default="left", choices=("left", "right"), help="ankle the sensor is on (default left)")
    parser.add_argument(
        "--start",
        default=None,
        help="true time of the first sample, ISO 8601 with a UTC offset (default 2026-03-14T22:30 Europe/Berlin); "
        "a time without offset is read in --tz",
    )
    parser.add_argument("--tz", default="Europe/Berlin", help="time zone for a --start without offset (default Europe/Berlin)")
    parser.add_argument("--clock-ppm", type=float, default=None, help="sensor clock error in ppm (default: drawn, 20-50 ppm)")
    parser.add_argument("--aa-filter", default=None, choices=("partial", "lpf", "none"), help="IMU anti-alias model (default partial)")
    parser.add_argument("--device-id", default=None, help="device id stored in the recording (default SIM-<seed>)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a profile parameter, e.g. --set pad_sessions_range=(2,2) (repeatable)",
    )
    study = parser.add_argument_group("crossover study (--crossover)")
    study.add_argument("--crossover", action="store_true",
                       help="write a crossover study (participants x conditions x nights) with a batch manifest")
    study.add_argument("--participants", type=int, default=20, help="participants (default 20)")
    study.add_argument("--conditions", default="none,pad,foot_wrap",
                       help="comma-separated conditions, 'none' the reference (default none,pad,foot_wrap)")
    study.add_argument("--nights", type=int, default=7, help="consecutive nights per condition (default 7)")
    study.add_argument("--effect", dest="effects", action="append", default=[], metavar="NAME=FACTOR",
                       help="PLM-rate factor of a condition, e.g. foot_wrap=0.75 (repeatable; docs/simulator.md)")
    study.add_argument("--full-nights", action="store_true",
                       help="do not shorten lights off, sleep latency and series (slower nights)")
    parser.add_argument("--out", required=True, type=Path,
                        help="output folder (created if missing; an existing, non-empty one only with --force)")
    add_force(parser)


def parse_start(text: str | None, tz: str) -> dt.datetime | None:
    """``--start`` as a tz-aware datetime (None when not given)."""
    if text is None:
        return None
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--start {text!r} is not an ISO 8601 date-time (e.g. 2026-03-14T22:30:00+01:00)") from None
    if t.tzinfo is None:
        try:
            t = t.replace(tzinfo=zoneinfo.ZoneInfo(tz))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"unknown time zone {tz!r} (use an IANA name such as Europe/Berlin)") from None
    return t


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` strings as a dict; values are Python literals (numbers, tuples) or plain strings."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set expects NAME=VALUE, got {item!r}")
        try:
            v: Any = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            v = value.strip()
        out[name.strip()] = v
    return out


def parse_effects(items: list[str]) -> dict[str, float]:
    """``NAME=FACTOR`` strings as a dict of positive factors."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            factor = float(value)
        except ValueError:
            factor = float("nan")
        if not sep or not name.strip() or not factor > 0:
            raise ConfigError(f"--effect expects NAME=FACTOR with a positive factor (foot_wrap=0.75), got {item!r}")
        out[name.strip()] = factor
    return out


def _run_crossover(args: argparse.Namespace) -> int:
    from firmware_sim.study import CrossoverDesign, simulate_crossover

    design = CrossoverDesign(
        participants=args.participants,
        conditions=tuple(c.strip() for c in args.conditions.split(",") if c.strip()),
        nights=args.nights,
        effects=parse_effects(args.effects),
        hours=args.hours,
        rate_hz=args.rate,
        seed=args.seed,
        profile=args.profile,
        short=not args.full_nights,
    )
    manifest = simulate_crossover(args.out, design)
    effects = ", ".join(f"{c} x{design.factor(c):g}" for c in design.conditions if c != "none")
    print(
        f"{args.out}: crossover of {design.participants} participants x {len(design.conditions)} conditions x "
        f"{design.nights} nights ({effects}); manifest {manifest}, truth in study_truth.json"
    )
    return 0


def run(args: argparse.Namespace) -> int:
    from firmware_sim.night import simulate_night, write_night

    from ._outputs import check_output_folder

    check_output_folder(args.out, args.force)
    if args.crossover:
        return _run_crossover(args)
    overrides = parse_overrides(args.overrides)
    if args.aa_filter is not None:
        overrides["imu_aa_filter"] = args.aa_filter
    night = simulate_night(
        args.profile,
        hours=args.hours,
        rate_hz=args.rate,
        seed=args.seed,
        range_g=args.range_g,
        side=args.side,
        start=parse_start(args.start, args.tz),
        clock_ppm=args.clock_ppm,
        device_id=args.device_id,
        **overrides,
    )
    paths = write_night(night, args.out)
    idx = night.summary["indices"]
    plms = idx.get("plms_index")
    print(
        f"{args.out}: {args.profile} night, seed {args.seed}, {args.hours:g} h at {args.rate} Hz; "
        f"{len(night.truth_lms)} true movements, true PLMS index "
        f"{'n/a' if plms is None else f'{plms:.1f}/h'}; wrote {', '.join(p.name for p in paths.values())}"
    )
    return 0
