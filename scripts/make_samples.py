"""Regenerate the sample nights in data/samples/ and their README (deterministic).

Every night is made by one ``lmdetect simulate`` command, listed in data/samples/README.md with its
seed and the SHA-256 of each file. Run from the repository root::

    python scripts/make_samples.py            # rewrite data/samples/
    python scripts/make_samples.py --only nights/control

Layout:

* ``nights/{rls,control,pad,noisy}/`` -- one 6.5-h night per simulator profile at 50 Hz.
* ``participant01/night1..night7/`` -- seven consecutive nights of one simulated participant with
  RLS, 7 h at 25 Hz (a battery-saving rate; it keeps the samples small). The pad is used on nights
  2, 4 and 6. The participant's nightly PLM rate varies around a personal mean with a
  within-person SD of 9/h, which gives a lowest-to-highest spread over seven nights comparable
  to the 25/h mean reported for RLS patients by Trotti et al., Sleep Med 2009. Same sensor on
  every night (device id, clock error of the same crystal within +-2 ppm), starting between
  22:00 and 23:30.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import shutil
import sys
import zoneinfo
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"

#: Seed of the participant's personal parameters (nightly PLM rates, start times, clock).
PARTICIPANT_SEED = 2009
PARTICIPANT_NIGHTS = 7
PAD_NIGHTS = (2, 4, 6)
_PARTICIPANT_MEAN_RATE = 42.0  # PLM budget per hour of sleep, personal mean
_PARTICIPANT_SD_RATE = 9.0  # within-person night-to-night SD (see module docstring)
_TZ = zoneinfo.ZoneInfo("Europe/Berlin")


@dataclasses.dataclass(frozen=True)
class Sample:
    """One sample night: its folder (relative to data/samples) and the simulate arguments."""

    folder: str
    seed: int
    args: tuple[str, ...]

    def argv(self, out: Path) -> list[str]:
        return ["simulate", *self.args, "--seed", str(self.seed), "--out", str(out)]

    def command(self) -> str:
        return " ".join(["lmdetect", *self.argv(Path("data/samples") / self.folder)])


def samples() -> list[Sample]:
    """All sample nights, in README order."""
    out = [
        Sample(f"nights/{profile}", seed, ("--profile", profile, "--hours", "6.5", "--rate", "50"))
        for profile, seed in (("rls", 101), ("control", 102), ("pad", 103), ("noisy", 104))
    ]
    rng = np.random.default_rng(PARTICIPANT_SEED)
    base_ppm = float(rng.uniform(20.0, 50.0))
    for night in range(1, PARTICIPANT_NIGHTS + 1):
        rate = float(np.clip(rng.normal(_PARTICIPANT_MEAN_RATE, _PARTICIPANT_SD_RATE), 5.0, 90.0))
        minutes = int(rng.integers(0, 19)) * 5  # 22:00 .. 23:30
        ppm = base_ppm + float(rng.uniform(-2.0, 2.0))
        start = dt.datetime(2026, 3, 13 + night, 22, 0, tzinfo=_TZ) + dt.timedelta(minutes=minutes)
        profile = "pad" if night in PAD_NIGHTS else "rls"
        args = (
            "--profile", profile, "--hours", "7", "--rate", "25",
            "--start", start.isoformat(), "--clock-ppm", f"{ppm:.2f}", "--device-id", "SIM-P01",
            "--set", f"plm_rate_range_per_h=({rate:.1f},{rate:.1f})",
        )  # fmt: skip
        out.append(Sample(f"participant01/night{night}", 3000 + night, args))
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def generate(sample: Sample, root: Path) -> Path:
    """Run the sample's command into ``root / sample.folder`` (replacing what was there)."""
    from lmdetect.cli import main

    out = root / sample.folder
    if out.exists():
        shutil.rmtree(out)
    rc = main(sample.argv(out))
    if rc != 0:
        raise SystemExit(f"{sample.folder}: lmdetect simulate failed with status {rc}")
    return out


_README_HEAD = """# Sample nights

Simulated nights with ground truth, made by the night simulator (`firmware_sim`, docs/simulator.md).
Each folder holds `night.lmr` (the recording), `truth_lm.csv`, `hypnogram.csv`, `diary.csv`,
`pad_log.csv` and `truth_summary.json`. Regenerate everything with

    python scripts/make_samples.py

or one folder with the command listed for it below (run from the repository root). The simulator is
deterministic: the same command gives the same files.

* `nights/{rls,control,pad,noisy}/`: one 6.5-h night per simulator profile at 50 Hz.
* `participant01/night1..night7/`: seven consecutive nights of one simulated participant with RLS,
  7 h at 25 Hz; the vibration pad is used on nights 2, 4 and 6. The nightly PLM rate varies around a
  personal mean (within-person SD 9/h, after the night-to-night variability reported by Trotti et
  al., Sleep Med 2009), the same sensor is worn every night (device id `SIM-P01`, clock error of one
  crystal within +-2 ppm). The per-night values are drawn in `scripts/make_samples.py` (seed
  2009) and appear in each command. `participant01/manifest.csv` lists the seven nights with their
  diaries and pad logs for `lmdetect batch`.

**Checksums.** The SHA-256 below are of the files as committed. The CSV and JSON files are plain
text and reproduce byte for byte. `night.lmr` is an Arrow IPC stream compressed with zstd, so its
bytes can change with the pyarrow/zstd version even when the decoded content (samples, times,
packet numbers, header) is identical; `tests/test_samples.py` therefore regenerates the smallest
night and compares the text files byte for byte and the recording by its decoded content.
`truth_summary.json` records the lmdetect version that wrote it.
"""


MANIFEST = "participant01/manifest.csv"


def write_manifest(root: Path) -> Path:
    """The participant series as a `lmdetect batch` manifest (paths relative to it)."""
    lines = ["path,participant,night,diary,pad_log"]
    for k in range(1, 8):
        d = f"night{k}"
        lines.append(f"{d}/night.lmr,P01,{d},{d}/diary.csv,{d}/pad_log.csv")
    out = root / MANIFEST
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def write_readme(root: Path, done: list[Sample]) -> None:
    lines = [_README_HEAD, "", "| folder | seed | command |", "|---|---|---|"]
    for s in done:
        lines.append(f"| `{s.folder}/` | {s.seed} | `{s.command()}` |")
    lines += ["", "## SHA-256", "", "| file | bytes | sha256 |", "|---|---:|---|"]
    total = 0
    for s in done:
        for f in sorted((root / s.folder).iterdir()):
            size = f.stat().st_size
            total += size
            lines.append(f"| `{s.folder}/{f.name}` | {size} | `{sha256(f)}` |")
    man = root / MANIFEST
    if man.exists():
        total += man.stat().st_size
        lines.append(f"| `{MANIFEST}` | {man.stat().st_size} | `{sha256(man)}` |")
    lines += ["", f"Total: {total / 1e6:.1f} MB.", ""]
    (root / "README.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Regenerate data/samples/ (deterministic).")
    ap.add_argument("--root", type=Path, default=SAMPLES, help="samples folder (default data/samples)")
    ap.add_argument("--only", action="append", default=[], help="regenerate only this folder (repeatable)")
    args = ap.parse_args(argv)
    todo = samples()
    selected = [s for s in todo if not args.only or s.folder in args.only]
    if args.only and len(selected) != len(args.only):
        known = ", ".join(s.folder for s in todo)
        raise SystemExit(f"unknown folder in --only; choose from {known}")
    for s in selected:
        generate(s, args.root)
        print(f"{s.folder}: {sum(f.stat().st_size for f in (args.root / s.folder).iterdir()) / 1e6:.1f} MB")
    if all((args.root / s.folder).exists() for s in todo):
        write_manifest(args.root)
        write_readme(args.root, todo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
