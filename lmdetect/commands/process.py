"""``lmdetect process``: detect and score leg movements in one night."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "process"
HELP = "detect leg movements and score CLM/PLM in one night (.lmr, .csv or any supported recording)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..scoring import rule_set_names  # the registry: the one list of rule sets
    from ._outputs import add_force

    p.add_argument("night", help="recording file (.lmr, .csv, .cwa, .bin, .gt3x, .edf, BIDS motion)")
    p.add_argument("--out", required=True,
                   help="output folder (docs/outputs.md); an existing, non-empty one only with --force")
    add_force(p)
    p.add_argument(
        "--tz",
        metavar="ZONE",
        help="IANA time zone (e.g. Europe/Berlin) or offset (+01:00) the device clock was set in. CWA, "
        "GENEActiv, gt3x and EDF files keep local time without an offset and are read as UTC otherwise, "
        "which shifts them against the diary by the UTC offset. Also the zone the report shows times in",
    )
    p.add_argument("--start", help="start time (ISO 8601 with offset) for a CSV or BIDS file with relative times")
    p.add_argument("--diary", help="RLS diary CSV (rls_episode / lights_off / lights_on rows)")
    p.add_argument("--pad-log", help="vibration-pad log CSV (start, end, intensity)")
    p.add_argument("--hypnogram", help="hypnogram: CSV (onset_s,duration_s,stage) or EDF+ / NSRR XML / RemLogic")
    p.add_argument("--rules", choices=rule_set_names(), help="PLM rule set (default wasm2016)")
    p.add_argument("--config", help="TOML configuration file")
    p.add_argument("--no-report", action="store_true", help="skip report.html")
    p.add_argument("--pdf", action="store_true", help="also write report.pdf (needs lmdetect[report])")


def _report_available() -> bool:
    try:
        import lmdetect.report  # noqa: F401
    except ImportError:
        return False
    return True


def run(args: argparse.Namespace) -> int:
    from ..errors import LmdetectError
    from ._outputs import check_output_folder

    # every refusal comes before the recording is read
    if args.pdf and args.no_report:
        raise LmdetectError("--pdf writes the report as PDF; it cannot be combined with --no-report")
    report = not args.no_report
    if report and not _report_available():
        if args.pdf:
            raise LmdetectError("--pdf needs the report extra: pip install 'lmdetect[report]'")
        print("lmdetect process: report skipped (install lmdetect[report])", file=sys.stderr)
        report = False
    check_output_folder(args.out, args.force)

    from .._files import sha256_file
    from ..config import Config, load_config
    from ..io.night_inputs import read_night_inputs
    from ..outputs import write_night_outputs
    from ..pipeline import process_night

    config = load_config(args.config) if args.config else Config()
    if args.rules:
        config = config.replace(rules=args.rules)
    night = read_night_inputs(
        args.night, tz=args.tz, start=args.start, diary=args.diary, pad_log=args.pad_log, hypnogram=args.hypnogram
    )
    result = process_night(
        night.recording, config, diary=night.diary, pad_log=night.pad_log, hypnogram=night.hypnogram
    )
    paths = write_night_outputs(
        result, args.out, input_path=args.night, input_sha256=sha256_file(args.night), report=report, pdf=args.pdf
    )
    s = result.summary

    def fmt(v: object) -> str:
        return "n/a" if v is None else f"{v:.1f}" if isinstance(v, float) else str(v)

    print(
        f"{Path(args.night).name}: PLMS/h {fmt(s.get('plms_index'))}, PLMW/h {fmt(s.get('plmw_index'))}, "
        f"CLM/h {fmt(s.get('clm_index'))}, TST {fmt(s.get('tst_h'))} h ({s.get('sleep_source')}), "
        f"rules {s.get('rule_set')}"
    )
    for k, pth in paths.items():
        print(f"  {k}: {pth}")
    return 0
