"""Time ``score_lms`` and ``night_indices`` on a busy synthetic night.

Goal (docs/scoring.md): a night with ~1500 monolateral LMs on two legs scores in under 20 ms.
Run: ``python benchmarks/bench_scoring.py [n_lms] [repeats]``; prints the median and best times.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import pandas as pd

from lmdetect.scoring import AASM, WASM2016, SleepInfo, night_indices, score_lms


def synthetic_lms(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``n`` monolateral LMs over 8 h on two legs (periodic trains, isolated and long movements),
    a 30-s hypnogram and 200 respiratory events."""
    rng = np.random.default_rng(seed)
    hours = 8.0
    onset = np.sort(rng.uniform(0, hours * 3600, n))
    # mostly periodic: make most intervals ~25 s
    onset[1:] = onset[0] + np.cumsum(
        rng.choice([25.0, 4.0, 120.0], size=n - 1, p=[0.8, 0.1, 0.1]) * rng.uniform(0.8, 1.2, n - 1)
    )
    duration = rng.uniform(0.6, 4.0, n)
    duration[rng.random(n) < 0.03] = rng.uniform(10.5, 20.0)
    side = rng.choice(["left", "right"], n)
    lms = pd.DataFrame(
        {
            "onset_s": onset,
            "duration_s": duration,
            "side": side,
            "kind": "lm",
            "amplitude_mg": rng.uniform(20, 400, n),
        }
    )
    epochs = int(onset[-1] // 30 + 2)
    stages = rng.choice(["W", "N1", "N2", "N3", "R"], epochs, p=[0.15, 0.1, 0.45, 0.15, 0.15])
    hyp = pd.DataFrame({"onset_s": np.arange(epochs) * 30.0, "duration_s": 30.0, "stage": stages})
    r_on = np.sort(rng.uniform(0, onset[-1], 200))
    resp = pd.DataFrame({"onset_s": r_on, "duration_s": rng.uniform(10, 40, 200), "kind": "hypopnea"})
    return lms, hyp, resp


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    lms, hyp, resp = synthetic_lms(n)
    sleep = SleepInfo.from_hypnogram(hyp)
    for rules in (WASM2016(), AASM()):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            scored = score_lms(lms, rules, hypnogram=hyp, respiratory=resp)
            times.append(time.perf_counter() - t0)
        t_idx = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            night_indices(scored, sleep, rules)
            t_idx.append(time.perf_counter() - t0)
        print(
            f"{rules.name:9s} n_lm={n} scored={len(scored)} plm={int(scored['in_plm_series'].sum())}: "
            f"score_lms median {statistics.median(times) * 1e3:.2f} ms (best {min(times) * 1e3:.2f} ms); "
            f"night_indices median {statistics.median(t_idx) * 1e3:.2f} ms"
        )


if __name__ == "__main__":
    main()
