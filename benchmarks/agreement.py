"""Sensor-vs-PSG agreement on simulated pairs: simulate -> process -> PSG export -> agree / evaluate.

For each night the truth is written as a RemLogic scoring through a PSG clock 37 s ahead that gains
20 ppm, with 0.2-s scorer onset jitter (firmware_sim.psg_export). Printed per night: the offset
error, its SE, the drift, the pairs used, `agree`'s LM sensitivity and PPV and `evaluate`'s recall
and precision. The summary checks the goals: offset within 0.2 s, sensitivity within 0.01 of
`evaluate`'s.

Run: python benchmarks/agreement.py [--quick] [--hours 8] [--seeds 11 12] [--profiles rls noisy control]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
from pathlib import Path

OFFSET_S, DRIFT_PPM = 37.0, 20.0


def run_one(profile: str, seed: int, hours: float, rate: int, work: Path) -> dict[str, float]:
    from firmware_sim.psg_export import export_psg
    from lmdetect.agreement.night import agree_night
    from lmdetect.cli import main
    from lmdetect.commands.evaluate import evaluate_dirs

    d = work / f"{profile}_{seed}"
    sim, out = d / "sim", d / "out"
    with contextlib.redirect_stdout(io.StringIO()):
        args = ["--profile", profile, "--hours", str(hours), "--rate", str(rate), "--seed", str(seed)]
        assert main(["simulate", *args, "--out", str(sim)]) == 0
        assert main(["process", str(sim / "night.lmr"), "--out", str(out), "--no-report"]) == 0
    psg = export_psg(sim, d / "psg.txt", offset_s=OFFSET_S, drift_ppm=DRIFT_PPM, seed=seed)
    a = agree_night(out, psg)
    ev = evaluate_dirs(out, sim)
    return {
        "offset_err_s": a.alignment.offset_s - OFFSET_S,
        "offset_se_s": a.alignment.offset_se_s or float("nan"),
        "drift_ppm": a.alignment.drift_ppm,
        "n_pairs": float(a.alignment.n_pairs or 0),
        "sens": a.events["lm"]["sensitivity"],
        "ppv": a.events["lm"]["ppv"],
        "eval_recall": ev["lm"]["recall"],
        "eval_precision": ev["lm"]["precision"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one 3-h noisy night")
    p.add_argument("--hours", type=float, default=8.0)
    p.add_argument("--rate", type=int, default=25)
    p.add_argument("--seeds", type=int, nargs="+", default=[11, 12])
    p.add_argument("--profiles", nargs="+", default=["rls", "noisy", "control"])
    args = p.parse_args()
    grid = (
        [("noisy", 5, 3.0)]
        if args.quick
        else [(pr, s, args.hours) for pr in args.profiles for s in args.seeds]
    )
    worst_offset = worst_sens = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for profile, seed, hours in grid:
            r = run_one(profile, seed, hours, args.rate, Path(tmp))
            diff = r["sens"] - r["eval_recall"]
            worst_offset = max(worst_offset, abs(r["offset_err_s"]))
            worst_sens = max(worst_sens, abs(diff))
            print(
                f"{profile:8s} seed {seed:3d} {hours:g} h: offset error {r['offset_err_s']:+.3f} s "
                f"(SE {r['offset_se_s']:.3f}), drift {r['drift_ppm']:+.1f} ppm, {r['n_pairs']:.0f} pairs; "
                f"LM sensitivity {r['sens']:.4f} vs evaluate {r['eval_recall']:.4f} ({diff:+.4f}), "
                f"PPV {r['ppv']:.4f} vs precision {r['eval_precision']:.4f}"
            )
    print(
        f"worst |offset error| {worst_offset:.3f} s (goal <= 0.2): {'ok' if worst_offset <= 0.2 else 'NOT MET'}"
    )
    print(
        f"worst |sensitivity - evaluate| {worst_sens:.4f} (goal <= 0.01): {'ok' if worst_sens <= 0.01 else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
