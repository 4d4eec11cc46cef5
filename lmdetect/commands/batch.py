"""``lmdetect batch``: process a cohort of nights into a cohort table, resumably, in parallel."""

from __future__ import annotations

import argparse
import sys

NAME = "batch"
HELP = "process many nights (files, folders or a manifest CSV) into a cohort table; resumable, parallel"

_EPILOG = """\
Each night goes to OUT/nights/<participant>/<night>/ (summary.json, events.csv, epochs.csv,
config.toml[, report.html]); a night whose outputs match the input checksum, config hash and
lmdetect version is skipped. Bad nights are listed in OUT/failures.csv and never stop the batch.
At the end: OUT/cohort.parquet, OUT/cohort.csv and OUT/manifest.json. Exit status 1 if any night
failed. Job arrays: run each task with --shard I/N, then `lmdetect collate OUT`.

OUT is resumed, never replaced: there is no --force. The folders under OUT/nights/ belong to the
batch; one whose outputs are incomplete or stale (another input, side file, configuration, --tz
or lmdetect version) is processed again and replaced. To start afresh, give a new OUT.
"""


def _shard(text: str) -> tuple[int, int]:
    from ..batch import parse_shard
    from ..errors import ConfigError

    try:
        return parse_shard(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return n


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..scoring import rule_set_names  # the registry: the one list of rule sets

    p.epilog = _EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="recording files, folders (searched recursively) or manifest CSVs "
                        "(columns path, participant, night, diary, pad_log, hypnogram, tz)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (resumed when it exists)")
    p.add_argument("--tz", metavar="ZONE",
                   help="IANA time zone (e.g. Europe/Berlin) or offset the device clocks were set in, for "
                        "CWA / GENEActiv / gt3x / EDF files that keep local time without an offset; a "
                        "manifest's tz column overrides it per night")
    p.add_argument("--workers", type=_positive, metavar="N",
                   help="local worker processes (default: one per available CPU, at most one per night)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask cluster: scheduler address (tcp://HOST:PORT) or scheduler file "
                        "(needs lmdetect[dask])")
    p.add_argument("--reports", action="store_true", help="also write report.html for every night")
    p.add_argument("--shard", type=_shard, metavar="I/N",
                   help="process only shard I of N (1-based; e.g. --shard $SLURM_ARRAY_TASK_ID/10 with --array=1-10)")
    p.add_argument("--split-nights", choices=["noon", "diary"],
                   help="inputs hold several nights: cut each file noon-to-noon, or at the diary's lights-off/on "
                        "(diary from the manifest), and process every night on its own")
    p.add_argument("--config", metavar="FILE", help="TOML configuration file")
    p.add_argument("--rules", choices=rule_set_names(), help="PLM rule set (default wasm2016)")
    p.add_argument("--max-tasks-per-child", type=_positive, default=None, metavar="N",
                   help="nights per worker process before it is replaced (default 100)")
    p.add_argument("--quiet", action="store_true", help="no progress display")


def run(args: argparse.Namespace) -> int:
    import contextlib

    if not args.scheduler:  # the local pool's fork server imports the pipeline while this process goes on
        from ..batch.worker import start_fork_server

        start_fork_server(args.reports)
    from ..batch import dask_executor, make_progress, run_batch
    from ..batch.engine import DEFAULT_MAX_TASKS_PER_CHILD
    from ..config import Config, load_config

    config = load_config(args.config) if args.config else Config()
    if args.rules:
        config = config.replace(rules=args.rules)
    if args.scheduler and args.workers:
        print("lmdetect batch: --workers is ignored with --scheduler (the cluster sizes itself)", file=sys.stderr)
    progress = None if args.quiet else make_progress(sys.stderr)
    with contextlib.ExitStack() as stack:
        executor = stack.enter_context(dask_executor(args.scheduler)) if args.scheduler else None
        summary = run_batch(
            args.inputs,
            args.out,
            config=config,
            executor=executor,
            workers=args.workers,
            reports=args.reports,
            shard=args.shard,
            progress=progress,
            max_tasks_per_child=args.max_tasks_per_child or DEFAULT_MAX_TASKS_PER_CHILD,
            split_nights=args.split_nights,
            tz=args.tz,
        )
    print(
        f"{len(summary.outcomes)} night(s): {summary.n_done} done, {summary.n_skipped} skipped, "
        f"{summary.n_failed} failed in {summary.elapsed_s:.1f} s"
    )
    for name, path in summary.files.items():
        print(f"  {name}: {path}")
    if summary.n_failed:
        print(f"lmdetect batch: {summary.n_failed} night(s) failed; see {summary.files['failures_csv']}",
              file=sys.stderr)
        return 1
    return 0
