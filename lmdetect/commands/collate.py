"""``lmdetect collate``: merge the shard outputs of a job array into one cohort table."""

from __future__ import annotations

import argparse
import sys

NAME = "collate"
HELP = "merge `lmdetect batch --shard I/N` outputs into one cohort table, failures list and manifest"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dirs", nargs="+", metavar="DIR",
                   help="batch output folders (their shards/I-of-N/ records, or their own record)")
    p.add_argument("--out", metavar="DIR", help="where to write the merged files (default: the single DIR)")
    p.add_argument("--partial", action="store_true", help="merge even if some shards have no outputs yet")


def run(args: argparse.Namespace) -> int:
    from ..batch import collate

    res = collate(args.dirs, args.out, allow_partial=args.partial)
    c = res.counts
    print(
        f"{c['total']} night(s) from {len(res.sources)} record(s): {c['done']} done, {c['skipped']} skipped, "
        f"{c['failed']} failed; {len(res.cohort)} cohort row(s)"
    )
    if res.missing_shards:
        print(f"lmdetect collate: shard(s) {', '.join(map(str, res.missing_shards))} missing", file=sys.stderr)
    for name, path in res.files.items():
        print(f"  {name}: {path}")
    return 0
