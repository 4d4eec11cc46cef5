"""``lmdetect score-events`` on RemLogic exports against PLMScoRe's results (golden files).

The exports and PLMScoRe's movement tables and indices are in tests/data/annotations/plmscore/
(README.md there: how they were made, and with which PLMScoRe commit). Legs are named
``LAntib1-LAntib2`` / ``RAntib1-RAntib2``; the files hold bilateral movements, short IMIs and
IMIs of 9.999999 s and 90.000001 s, ``AROUSAL-APNEA`` / ``AROUSAL-HYPOPNEA`` / ``AROUSAL-RERA``
labels, RERAs and movements outside the scored epochs.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from lmdetect.cli import main

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "annotations" / "plmscore"
EXPORTS = sorted(p.stem for p in GOLDEN.glob("*.txt"))
FLAGS = ("is_clm", "is_clmr", "in_plm_series", "in_plmnr_series", "with_arousal")


def test_every_export_has_golden_results():
    assert len(EXPORTS) >= 6
    for name in EXPORTS:
        assert (GOLDEN / f"{name}.plmscore_movements.csv").is_file()
        assert (GOLDEN / f"{name}.plmscore_indices.csv").is_file()


def _truth(value: str) -> bool:
    return value.strip().lower() == "true"


@pytest.fixture(scope="module", params=EXPORTS)
def scored(request, tmp_path_factory):
    name = request.param
    out = tmp_path_factory.mktemp(name)
    assert main(["score-events", str(GOLDEN / f"{name}.txt"), "--out", str(out)]) == 0
    events = pd.read_csv(out / "events.csv", keep_default_na=False)
    summary = json.loads((out / "summary.json").read_text())
    return name, events, summary


def test_movements_match_plmscore(scored):
    name, events, _ = scored
    golden = pd.read_csv(GOLDEN / f"{name}.plmscore_movements.csv", keep_default_na=False, dtype=str)
    ours = events[list(golden.columns)]
    assert len(ours) == len(golden), name
    assert ours["onset_s"].to_numpy() == pytest.approx(golden["onset_s"].astype(float).to_numpy(), abs=1e-6)
    assert ours["duration_s"].to_numpy() == pytest.approx(
        golden["duration_s"].astype(float).to_numpy(), abs=1e-6
    )
    assert ours["side"].tolist() == golden["side"].tolist()
    assert ours["stage"].tolist() == golden["stage"].tolist()
    for flag in FLAGS:
        want = [_truth(v) for v in golden[flag]]
        got = [_truth(str(v)) for v in ours[flag]]
        bad = [golden["onset_s"][i] for i in range(len(want)) if want[i] != got[i]]
        assert not bad, f"{name}: {flag} differs at onsets {bad}"


def test_indices_match_plmscore(scored):
    name, _, s = scored
    with open(GOLDEN / f"{name}.plmscore_indices.csv", newline="") as fh:
        g = {row["key"]: float(row["value"]) for row in csv.DictReader(fh)}
    assert (s["tib_end_s"] - s["tib_start_s"]) == pytest.approx(g["tib_s"])
    assert s["tst_h"] * 3600 == pytest.approx(g["tst_s"])
    # without respiratory events (arousals) in the file PLMScoRe counts 0 CLMr (PLMS with
    # arousal) and its PLMnr equal the PLM; lmdetect reports None for what was not scored
    if not s["respiratory_scored"]:
        s = {**s, "n_clmr": 0, "n_plmsnr": s["n_plms"], "plmnr_index": s["plms_index"]}
    if not s["arousals_scored"]:
        s = {**s, "n_plms_arousal": 0}
    for key in ("n_clm", "n_plm", "n_plms", "n_plmw", "n_clmr", "n_plmsnr", "n_plms_arousal"):
        assert s[key] == g[key], f"{name}: {key}"
    assert s["plms_index"] == pytest.approx(g["plms_index"])
    assert s["plmnr_index"] == pytest.approx(g["plmnr_index"])
    assert s["warnings"] == []


def test_movements_outside_the_scored_epochs_are_counted(scored):
    name, _, s = scored
    expected = {"outside_epochs": 9, "legs_and_intervals": 0, "arousal_labels": 0}
    if name in expected:
        assert s["n_lm_outside_scoring_period"] == expected[name]
    elif name.startswith("random_"):
        assert s["n_lm_outside_scoring_period"] > 0
