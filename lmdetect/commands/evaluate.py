"""``lmdetect evaluate``: compare a processed night with its ground truth (simulator or PSG)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

NAME = "evaluate"
HELP = "compare `lmdetect process` outputs with ground-truth events (LM/PLM precision, recall, F1; index errors)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="output folder of `lmdetect process` (events.csv, summary.json)")
    p.add_argument("--truth", required=True, help="folder with truth_lm.csv and truth_summary.json (simulator)")
    p.add_argument("--tolerance", type=float, default=1.0, help="onset tolerance in seconds (default 1)")
    p.add_argument("--min-amplitude", type=float, default=30.0, help="amplitude cut for the headline LM F1 (mg)")
    p.add_argument("--json", action="store_true", help="print JSON")


def evaluate_dirs(out_dir: Path, truth_dir: Path, tolerance: float = 1.0, min_amplitude: float = 30.0) -> dict[str, Any]:
    import pandas as pd

    from ..errors import FormatError
    from ..evaluation import evaluate_events

    for f in (out_dir / "events.csv", out_dir / "summary.json", truth_dir / "truth_lm.csv", truth_dir / "truth_summary.json"):
        if not f.exists():
            raise FormatError(f, "file not found")
    det = pd.read_csv(out_dir / "events.csv")
    ref = pd.read_csv(truth_dir / "truth_lm.csv")
    summ = json.loads((out_dir / "summary.json").read_text())
    truth = json.loads((truth_dir / "truth_summary.json").read_text())
    res = evaluate_events(det, ref, onset_tol_s=tolerance, min_amplitude_mg=min_amplitude)
    tix = truth.get("indices", truth)

    def err(key: str) -> float | None:
        a, b = summ.get(key), tix.get(key)
        return None if a is None or b is None else float(a) - float(b)

    res["plms_index"] = {"detected": summ.get("plms_index"), "truth": tix.get("plms_index"), "error": err("plms_index")}
    res["tst_h"] = {"detected": summ.get("tst_h"), "truth": tix.get("tst_h"), "error": err("tst_h")}
    res["plm_index_tib"] = {
        "detected": summ.get("plm_index_tib"),
        "truth": tix.get("plm_index_tib"),
        "error": err("plm_index_tib"),
    }
    return res


def run(args: argparse.Namespace) -> int:
    res = evaluate_dirs(Path(args.dir), Path(args.truth), args.tolerance, args.min_amplitude)
    if args.json:
        print(json.dumps(res, indent=2, sort_keys=True))
        return 0

    def f(v: Any) -> str:
        return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    lm, big = res["lm"], res.get("lm_min_amplitude", {})
    print(f"LM (all):            precision {f(lm['precision'])} recall {f(lm['recall'])} F1 {f(lm['f1'])}")
    if big:
        print(
            f"LM (>= {big['min_amplitude_mg']:g} mg):      precision {f(big['precision'])} "
            f"recall {f(big['recall'])} F1 {f(big['f1'])}"
        )
    if "plm" in res:
        p = res["plm"]
        print(f"PLM series members:  precision {f(p['precision'])} recall {f(p['recall'])} F1 {f(p['f1'])}")
    for k in ("plms_index", "plm_index_tib", "tst_h"):
        r = res[k]
        print(f"{k:20s} detected {f(r['detected'])} truth {f(r['truth'])} error {f(r['error'])}")
    for band, r in res.get("lm_recall_by_amplitude", {}).items():
        print(f"  recall {band:>9s} mg: {f(r['recall'])} (n={r['n']})")
    return 0
