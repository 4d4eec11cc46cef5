#!/usr/bin/env python3
"""The end-to-end demo behind `make demo` (no hardware needed).

1. simulate a fresh 8-h night with ground truth, process it and evaluate it against the truth;
2. process every bundled sample night (data/samples) with its diary and pad log into reports;
3. batch-process the 7-night participant series and write the multi-night summary and report;
4. stream a sample night from the simulated sensor firmware (accelerated x600) through a virtual
   BlueZ on a private D-Bus, record it with the real bleak-based collector, and process it.

Each step runs the `lmdetect` command line as a user would. Output paths are printed at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
LMDETECT = [sys.executable, "-m", "lmdetect"]


def run(cmd: list[str], **kw: object) -> str:
    print("$", " ".join(str(c) for c in cmd), flush=True)
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if res.stdout:
        print(res.stdout.rstrip())
    if res.returncode != 0:
        print(res.stderr, file=sys.stderr)
        raise SystemExit(f"demo step failed: {' '.join(str(c) for c in cmd)}")
    return res.stdout


def step_simulate(out: Path) -> list[Path]:
    sim = out / "simulated-rls"
    run(LMDETECT + ["simulate", "--profile", "rls", "--hours", "8", "--rate", "50", "--seed", "7", "--out", sim, "--force"])
    proc = out / "simulated-rls-processed"
    run(LMDETECT + ["process", sim / "night.lmr", "--diary", sim / "diary.csv", "--out", proc, "--force"])
    run(LMDETECT + ["evaluate", proc, "--truth", sim])
    return [proc / "report.html"]


def step_samples(out: Path) -> list[Path]:
    reports = []
    for night in sorted((SAMPLES / "nights").glob("*/night.lmr")):
        d = night.parent
        cmd = LMDETECT + ["process", night, "--out", out / "samples" / d.name, "--force"]
        if (d / "diary.csv").exists():
            cmd += ["--diary", d / "diary.csv"]
        if (d / "pad_log.csv").exists():
            cmd += ["--pad-log", d / "pad_log.csv"]
        run(cmd)
        reports.append(out / "samples" / d.name / "report.html")
    return reports


def step_participant(out: Path) -> list[Path]:
    series = SAMPLES / "participant01"
    manifest = series / "manifest.csv"
    batch_out = out / "participant01"
    run(LMDETECT + ["batch", manifest if manifest.exists() else series, "--out", batch_out, "--reports"])
    nights = sorted(p.parent for p in batch_out.glob("nights/**/summary.json"))
    summary = out / "participant01-summary"
    run(LMDETECT + ["summarize", *nights, "--out", summary, "--force"])
    return [n / "report.html" for n in nights] + [summary / "multinight.html"]


def step_ble(out: Path) -> list[Path]:
    if shutil.which("dbus-daemon") is None:
        print("skipping the BLE step: dbus-daemon is not installed")
        return []
    ble = out / "ble"
    ble.mkdir(parents=True, exist_ok=True)
    name = "LMD-DEMO-01"
    # the rls sample night (6.5 h at 50 Hz), replayed 600 times faster than real time: 6 h of it
    # arrive in about 40 s through bleak's real BlueZ backend
    sample = SAMPLES / "nights" / "rls" / "night.lmr"
    serve = subprocess.Popen(
        [sys.executable, "-m", "firmware_sim", "serve", "--virtual-bluez", "--replay", str(sample),
         "--speed", "600", "--name", name],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        address = None
        t0 = time.monotonic()
        assert serve.stdout is not None
        while time.monotonic() - t0 < 30:
            line = serve.stdout.readline()
            if not line:
                break
            print("  [sensor]", line.rstrip())
            m = re.search(r"DBUS_SYSTEM_BUS_ADDRESS=(\S+)", line)
            if m:
                address = m.group(1)
                break
        if address is None:
            raise SystemExit("demo: the simulated sensor did not report its bus address")
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
        rec = ble / "night.lmr"
        run(LMDETECT + ["collect", "--device", name, "--duration", "6h", "--quiet", "--out", rec], env=env, timeout=300)
        run(LMDETECT + ["info", rec])
        run(LMDETECT + ["process", rec, "--out", ble / "processed", "--force"])
        return [ble / "processed" / "report.html"]
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=10)
        except subprocess.TimeoutExpired:
            serve.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="demo-output", help="output folder (default demo-output)")
    args = ap.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    outputs: list[Path] = []
    for title, fn in (
        ("1/4 simulate, process and evaluate a night", step_simulate),
        ("2/4 process the bundled sample nights", step_samples),
        ("3/4 batch the 7-night participant series and summarise it", step_participant),
        ("4/4 record a night over BLE (virtual BlueZ + real bleak) and process it", step_ble),
    ):
        print(f"\n== {title} ==", flush=True)
        outputs += fn(out)
    print(f"\nDemo finished in {time.monotonic() - t0:.0f} s. Outputs:")
    for p in outputs:
        print(f"  {p}{'' if p.exists() else '  (missing!)'}")
    print(f"  everything: {out}")


if __name__ == "__main__":
    main()
