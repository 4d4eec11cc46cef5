"""``lmdetect process``: detect and score leg movements in one night."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "process"
HELP = "detect leg movements and score CLM/PLM in one night (.lmr, .csv or any supported recording)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("night", help="recording file (.lmr, .csv, ...)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--diary", help="RLS diary CSV (rls_episode / lights_off / lights_on rows)")
    p.add_argument("--pad-log", help="vibration-pad log CSV (start, end, intensity)")
    p.add_argument("--hypnogram", help="hypnogram: CSV (onset_s,duration_s,stage) or EDF+ / NSRR XML / RemLogic")
    p.add_argument("--rules", choices=["wasm2016", "aasm"], help="PLM rule set (default wasm2016)")
    p.add_argument("--config", help="TOML configuration file")
    p.add_argument("--start", help="start time (ISO 8601 with offset) for CSV files with relative times")
    p.add_argument("--no-report", action="store_true", help="skip report.html")
    p.add_argument("--pdf", action="store_true", help="also write report.pdf")


def run(args: argparse.Namespace) -> int:
    from ..config import Config, load_config
    from ..io import read_recording
    from ..io.diary import read_diary, read_pad_log
    from ..io.hypnogram import read_hypnogram
    from ..outputs import write_night_outputs
    from ..pipeline import process_night
    from ..results.night_folder import sha256_file

    config = load_config(args.config) if args.config else Config()
    if args.rules:
        config = config.replace(rules=args.rules)
    opts = {"start": args.start} if args.start and args.night.lower().endswith(".csv") else {}
    rec = read_recording(args.night, **opts)
    diary = read_diary(args.diary) if args.diary else None
    pad_log = read_pad_log(args.pad_log) if args.pad_log else None
    hyp = read_hypnogram(args.hypnogram, rec.start) if args.hypnogram else None
    result = process_night(rec, config, diary=diary, pad_log=pad_log, hypnogram=hyp)
    report = not args.no_report
    if report:
        try:
            import lmdetect.report  # noqa: F401
        except ImportError:
            print("lmdetect process: report skipped (install lmdetect[report])", file=sys.stderr)
            report = False
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
