"""Accuracy on the simulator: simulate -> process -> evaluate, on a fixed tuning/validation split.

The split (:data:`SPLIT`) is written here and nowhere else. Tune detector and sleep/wake parameters
on the ``tuning`` nights only; report the ``validation`` nights, which no parameter may be chosen
by looking at:

* seeds: tuning 1-12, validation 1001-1012;
* profiles: ``mounted`` and ``pad_sleep`` are tuning-only, ``field`` and ``pad_alias`` are
  validation-only (the same kinds of variation with other settings: docs/simulator.md); ``rls``,
  ``control``, ``pad`` and ``noisy`` are in both, with their split seeds.

Every night is processed twice: with the diary (lights off/on, sleep onset, final awakening; sleep
from ankle actigraphy inside) and with the true hypnogram (as from PSG, which isolates the
detector). Per profile, rate and anti-alias model the table gives, pooled over the nights:

* LM F1 over all true movements of any kind (micro: counts summed over nights);
* recall of true LMs (kind ``lm``) starting during a pad session, and outside sessions;
* false LMs per hour of pad vibration: detections in a session that match no true movement;
* recall of true LMs of 7-15 mg and 15-30 mg;
* PLMS index error (detected - true), mean absolute and worst, with the diary + ankle sleep/wake
  and with the true hypnogram.

Run: python benchmarks/accuracy.py [--quick] [--split validation] [--seeds ...] [--rates 25 50 100]
     [--aa-filters partial none lpf] [--profiles ...] [--hours 8] [--workers 2] [--csv FILE]
"""

from __future__ import annotations

import argparse
import itertools
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

#: The tuning/validation split of seeds and profiles (see the module docstring).
SPLIT: dict[str, dict[str, tuple[Any, ...]]] = {
    "tuning": {
        "profiles": ("rls", "control", "pad", "noisy", "mounted", "pad_sleep"),
        "seeds": tuple(range(1, 13)),
    },
    "validation": {
        "profiles": ("rls", "control", "pad", "noisy", "field", "pad_alias"),
        "seeds": tuple(range(1001, 1013)),
    },
}

#: Amplitude bands (mg) of the faint-movement recall columns.
FAINT_BANDS_MG: tuple[tuple[float, float], ...] = ((7.0, 15.0), (15.0, 30.0))


def _inside(t: np.ndarray, windows: list[tuple[float, float]]) -> np.ndarray:
    out = np.zeros(t.size, bool)
    for a, b in windows:
        out |= (t >= a) & (t < b)
    return out


def run_one(profile: str, seed: int, rate: int, aa: str, hours: float) -> dict[str, Any]:
    """Simulate one night, process it with the diary and with the true hypnogram, count agreement."""
    from firmware_sim.night import simulate_night
    from lmdetect.evaluation import match_events
    from lmdetect.pipeline import process_night

    night = simulate_night(profile, hours=hours, rate_hz=rate, seed=seed, imu_aa_filter=aa)
    truth = night.truth_lms.reset_index(drop=True)
    with_diary = process_night(night.recording, diary=night.diary)
    with_hyp = process_night(night.recording, diary=night.diary, hypnogram=night.hypnogram)
    det = with_diary.events.reset_index(drop=True)
    di, ri = match_events(det, truth)
    found = np.zeros(len(truth), bool)
    found[ri] = True
    matched_det = np.zeros(len(det), bool)
    matched_det[di] = True

    pads = [(p.start_s, p.end_s) for p in night.pad_sessions]
    is_lm = (truth["kind"] == "lm").to_numpy()
    amp = truth["amplitude_mg"].to_numpy(float)
    under = _inside(truth["onset_s"].to_numpy(float), pads)
    det_under = _inside(det["onset_s"].to_numpy(float), pads)
    true_plms = night.summary["indices"]["plms_index"]

    def err(res: Any) -> float | None:
        v = res.summary["plms_index"]
        return None if v is None or true_plms is None else float(v) - float(true_plms)

    out: dict[str, Any] = {
        "profile": profile,
        "seed": seed,
        "rate_hz": rate,
        "aa": aa,
        "tp": int(di.size),
        "n_det": len(det),
        "n_ref": len(truth),
        "pad_h": float(sum(b - a for a, b in pads)) / 3600.0,
        "false_pad": int((det_under & ~matched_det).sum()),
        "n_pad_lm": int((is_lm & under).sum()),
        "found_pad_lm": int((is_lm & under & found).sum()),
        "n_out_lm": int((is_lm & ~under).sum()),
        "found_out_lm": int((is_lm & ~under & found).sum()),
        "plms_true": true_plms,
        "plms_err_diary": err(with_diary),
        "plms_err_hyp": err(with_hyp),
        "tst_err_h": float(with_diary.summary["tst_h"]) - float(night.summary["tst_h"]),
    }
    for lo, hi in FAINT_BANDS_MG:
        band = is_lm & (amp >= lo) & (amp < hi)
        out[f"n_{lo:g}_{hi:g}"] = int(band.sum())
        out[f"found_{lo:g}_{hi:g}"] = int((band & found).sum())
    return out


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


def summarize(df: pd.DataFrame) -> dict[str, Any]:
    """Pooled figures of a group of nights (one row of the table)."""
    p = _ratio(df["tp"].sum(), df["n_det"].sum())
    r = _ratio(df["tp"].sum(), df["n_ref"].sum())
    row: dict[str, Any] = {
        "nights": len(df),
        "lm_f1": None if p is None or r is None or p + r == 0 else 2 * p * r / (p + r),
        "recall_pad": _ratio(df["found_pad_lm"].sum(), df["n_pad_lm"].sum()),
        "recall_outside": _ratio(df["found_out_lm"].sum(), df["n_out_lm"].sum()),
        "false_per_pad_h": _ratio(df["false_pad"].sum(), df["pad_h"].sum()),
    }
    for lo, hi in FAINT_BANDS_MG:
        key = f"{lo:g}_{hi:g}"
        row[f"recall_{key}mg"] = _ratio(df[f"found_{key}"].sum(), df[f"n_{key}"].sum())
    for src in ("diary", "hyp"):
        e = df[f"plms_err_{src}"].dropna().astype(float)
        row[f"plms_mae_{src}"] = float(e.abs().mean()) if len(e) else None
        row[f"plms_worst_{src}"] = float(e.iloc[int(np.argmax(e.abs().to_numpy()))]) if len(e) else None
    return row


_HEAD = (
    "| profile | rate (Hz) | AA | nights | LM F1 | recall in pad / outside | false LM per pad h | "
    "recall 7-15 / 15-30 mg | PLMS err diary+ankle MAE / worst | PLMS err true hypnogram MAE / worst |"
)


def _f(v: Any, fmt: str) -> str:
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, fmt)


def table(df: pd.DataFrame) -> str:
    """The markdown table: one row per profile, rate and anti-alias model, and one for all nights."""
    lines = [_HEAD, "|---|---|---|---:|---:|---|---:|---|---|---|"]
    groups = [(k, g) for k, g in df.groupby(["profile", "rate_hz", "aa"], sort=False)]
    groups.append((("all", "", ""), df))
    for (prof, rate, aa), g in groups:
        s = summarize(g)
        pad = f"{_f(s['recall_pad'], '.3f')} / {_f(s['recall_outside'], '.3f')}"
        faint = f"{_f(s['recall_7_15mg'], '.2f')} / {_f(s['recall_15_30mg'], '.2f')}"
        e1 = f"{_f(s['plms_mae_diary'], '.2f')} / {_f(s['plms_worst_diary'], '+.1f')}"
        e2 = f"{_f(s['plms_mae_hyp'], '.2f')} / {_f(s['plms_worst_hyp'], '+.1f')}"
        fp = _f(s["false_per_pad_h"], ".2f")
        lines.append(f"| {prof} | {rate} | {aa} | {s['nights']} | {_f(s['lm_f1'], '.3f')} | {pad} | {fp} | {faint} | {e1} | {e2} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=tuple(SPLIT), default="validation", help="which nights (default validation)")
    ap.add_argument("--seeds", type=int, nargs="+", help="a subset of the split's seeds (default: all of them)")
    ap.add_argument("--profiles", nargs="+", help="a subset of the split's profiles (default: all of them)")
    ap.add_argument("--rates", type=int, nargs="+", default=[25, 50, 100])
    ap.add_argument("--aa-filters", nargs="+", default=["partial"], choices=["partial", "lpf", "none"],
                    help="IMU anti-alias models to run (default partial)")
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--csv", help="also write the per-night rows to this CSV file (updated after every night)")
    ap.add_argument("--from-csv", help="print the table of the rows in this CSV file instead of running nights")
    ap.add_argument("--quick", action="store_true", help="a smoke run: the split's first seed, 50 Hz, 6-h nights")
    args = ap.parse_args()
    split = SPLIT[args.split]
    if args.quick:
        args.seeds, args.rates, args.hours = [split["seeds"][0]], [50], 6.0
    seeds = args.seeds or list(split["seeds"])
    profiles = args.profiles or list(split["profiles"])
    bad = sorted(set(seeds) - set(split["seeds"])) + sorted(set(profiles) - set(split["profiles"]))
    if bad:
        ap.error(f"not in the {args.split} split: {', '.join(map(str, bad))}")
    if args.from_csv:
        print(table(pd.read_csv(args.from_csv)))
        return
    grid = list(itertools.product(profiles, seeds, args.rates, args.aa_filters))
    rows = []
    with ProcessPoolExecutor(max_workers=args.workers) as ex:
        futs = [ex.submit(run_one, p, s, r, a, args.hours) for p, s, r, a in grid]
        for f in futs:
            rows.append(f.result())
            if args.csv:  # rewritten after every night: a long run that is stopped keeps its rows
                pd.DataFrame(rows).to_csv(args.csv, index=False)
    df = pd.DataFrame(rows)
    print(f"split: {args.split}; seeds {', '.join(map(str, seeds))}; {args.hours:g}-h nights")
    print(table(df))


if __name__ == "__main__":
    main()
