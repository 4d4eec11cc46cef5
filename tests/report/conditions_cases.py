"""Night folders and a cohort table for the condition tests, without processing a night for each.

One short night is simulated and processed once (:func:`template_summary`); its ``summary.json`` is
then copied for every night of a simulated cohort with the night's date, participant, night id and
PLMS index set (the log-normal model of tests/summary/test_conditions.py), as ``lmdetect batch``
lays them out: ``root/nights/<participant>/<night>/summary.json`` and ``root/cohort.csv`` holding
``night_id`` (``participant/night``), ``participant``, ``night``, ``plms_per_h`` and one
``condition_<name>`` column per condition.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["template_summary", "write_cohort", "crossover_rows", "before_after_rows"]

SD_WITHIN = math.sqrt(math.log(1 + 0.43**2))  # Skeba et al., Sleep Med 2016: night-to-night CV 43 %
SD_BETWEEN = math.sqrt(5) * SD_WITHIN  # Trotti et al., Sleep Med 2009: between = 5 x within variance


@functools.cache
def template_summary() -> dict[str, Any]:
    """The ``summary.json`` of one processed 1-h simulated night."""
    from tests.report.multinight_cases import build_series

    with tempfile.TemporaryDirectory() as tmp:
        (folder,) = build_series(Path(tmp), n=1, pad_nights=(), hours=1.0)
        return json.loads((folder / "summary.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def crossover_rows(seed: int, n_participants: int = 20, nights: int = 7,
                   effects: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """Pad / wrap / nothing, ``nights`` nights each per participant, blocks in random order."""
    effects = {"pad": 0.6, "wrap": 0.8} if effects is None else effects
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_participants):
        u = rng.normal(0, SD_BETWEEN)
        blocks = [*effects, None]
        rng.shuffle(blocks)
        k = 0
        for cond in blocks:
            for _ in range(nights):
                ratio = 1.0 if cond is None else effects[cond]
                rows.append({"participant": f"p{i:02d}", "night": f"n{k:02d}", "day": k,
                             "plms_per_h": round(math.exp(math.log(30) + u + math.log(ratio)
                                                          + rng.normal(0, SD_WITHIN)), 2),
                             **{f"condition_{c}": c == cond for c in effects}})
                k += 1
    return rows


def before_after_rows(seed: int, days: range = range(-14, 21), step_from: int = 7, ratio: float = 0.5,
                      name: str = "iron_infusion") -> list[dict[str, Any]]:
    """One participant, a step of ``ratio`` from day ``step_from`` (the end of a washout)."""
    rng = np.random.default_rng(seed)
    return [{"participant": "p01", "night": f"n{d - days.start:02d}", "day": d - days.start,
             "plms_per_h": round(math.exp(math.log(30) + (math.log(ratio) if d >= step_from else 0.0)
                                          + rng.normal(0, SD_WITHIN)), 2),
             f"condition_{name}": d >= 0} for d in days]


def write_cohort(root: Path, rows: list[dict[str, Any]], first: dt.date = dt.date(2026, 3, 2)) -> Path:
    """Write the night folders and ``cohort.csv`` of ``rows`` under ``root``; returns ``root``."""
    base = template_summary()
    for r in rows:
        s = copy.deepcopy(base)
        s["recording_start"] = f"{(first + dt.timedelta(days=r['day'])).isoformat()}T22:30:00+01:00"
        s["plms_index"] = r["plms_per_h"]
        s.pop("files", None)  # the folder holds only this summary: no checksums of other files to verify
        s["batch"] = {"night_id": f"{r['participant']}/{r['night']}", "participant": r["participant"],
                      "night": r["night"]}
        folder = root / "nights" / r["participant"] / r["night"]
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text(json.dumps(s), encoding="utf-8")
    table = pd.DataFrame(rows).drop(columns=["day"])
    table.insert(0, "night_id", table["participant"] + "/" + table["night"])
    table.to_csv(root / "cohort.csv", index=False)
    return root
