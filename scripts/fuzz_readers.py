"""Long fuzzing campaigns over every file reader.

The test suite runs a fixed budget (tests/fuzz); this script runs as many mutants as you ask for,
with any seed, and prints the count of each outcome per reader and every failure::

    python scripts/fuzz_readers.py --budget 20000 --seed 1
    python scripts/fuzz_readers.py --budget 2000 --readers edf,bdf --show 50

Outcomes: ``ok`` (a valid result), ``error`` (a one-line LmdetectError naming the file),
``failure`` (anything else: an escaped exception, a multi-line or anonymous message, an
impossible value accepted, a file left behind, an allocation beyond ``--memory-gb``).
Exit status 1 when there is any failure.
"""

from __future__ import annotations

import argparse
import collections
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz.corpus import CASES, Outcome, campaign


def _limit_memory(gib: float) -> None:
    """Cap the address space so that a header field that makes a reader allocate gigabytes fails
    with MemoryError (counted as a failure) instead of swapping the machine."""
    if gib <= 0:
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as fh:
        used = int(fh.read().split()[0]) * resource.getpagesize()
    cap = used + int(gib * 2**30)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=int, default=5000, help="number of mutants in all (default 5000)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--readers", default="", help="comma-separated reader names (default: all)")
    ap.add_argument("--show", type=int, default=20, help="failures to print (default 20)")
    ap.add_argument("--memory-gb", type=float, default=2.0, help="address-space headroom in GiB (0: none)")
    args = ap.parse_args(argv)

    cases = CASES
    if args.readers:
        wanted = set(args.readers.split(","))
        unknown = wanted - {c.name for c in CASES}
        if unknown:
            ap.error(f"unknown readers {sorted(unknown)}; choose from {', '.join(c.name for c in CASES)}")
        cases = tuple(c for c in CASES if c.name in wanted)
    logging.disable(logging.WARNING)  # readers log warnings for tolerated damage
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    failures: list[Outcome] = []

    def record(outcome: Outcome, _what: str) -> None:
        counts[outcome.case][outcome.kind] += 1
        if outcome.kind == "failure":
            failures.append(outcome)

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lmdetect-fuzz-") as tmp:
        _limit_memory(args.memory_gb)
        campaign(Path(tmp), args.budget, args.seed, cases, on_outcome=record)
    elapsed = time.perf_counter() - t0

    print(f"{'reader':<18}{'ok':>8}{'error':>8}{'failure':>9}")
    for name in (c.name for c in cases):
        c = counts.get(name)
        if c:
            print(f"{name:<18}{c['ok']:>8}{c['error']:>8}{c['failure']:>9}")
    total = collections.Counter[str]()
    for c in counts.values():
        total.update(c)
    print(f"{'all':<18}{total['ok']:>8}{total['error']:>8}{total['failure']:>9}   ({elapsed:.1f} s)")
    for f in failures[: args.show]:
        print(f"FAIL {f.case}: {f.detail}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
