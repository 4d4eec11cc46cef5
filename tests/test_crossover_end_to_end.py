"""From signal to effect: ``lmdetect simulate --crossover`` -> ``lmdetect batch`` -> ``lmdetect summarize
--compare``, through the command-line entry point.

A small crossover (3 participants x none / foot_wrap / sham x 3 consecutive 2-h nights at 25 Hz,
the simulator's short nights) with a strong wrap (PLM series rate x 0.5) and a sham of no effect.
Every night is simulated as acceleration, detected and scored by ``lmdetect batch``, and compared
from the cohort table. The wrap's effect must come out below 1 with an interval excluding 1 and
covering the true factor, at night level and within participants; the sham must not be flagged.
The rate at which a no-effect condition is flagged (<= 5 %) is checked on 100 simulated cohorts in
tests/summary/test_conditions.py; this test checks the whole chain on one seeded study.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from lmdetect.cli import main

pytestmark = pytest.mark.slow

WRAP = 0.5


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("crossover")
    assert main(["simulate", "--crossover", "--participants", "3", "--conditions", "none,foot_wrap,sham",
                 "--nights", "3", "--hours", "2", "--rate", "25", "--effect", f"foot_wrap={WRAP}", "--seed", "1",
                 "--out", str(root / "study")]) == 0
    assert main(["batch", str(root / "study" / "manifest.csv"), "--out", str(root / "results"),
                 "--workers", "1"]) == 0
    assert main(["summarize", str(root / "results"), "--compare", "foot_wrap", "--compare", "sham",
                 "--out", str(root / "summary"), "--n-boot", "2000", "--no-report"]) == 0
    return root


def test_each_night_carries_its_simulated_condition(study):
    truth = pd.read_csv(study / "study" / "study_truth.csv")
    cohort = pd.read_csv(study / "results" / "cohort.csv").set_index("night_id")
    table = pd.read_csv(study / "summary" / "multinight.csv").set_index("night")
    assert len(truth) == len(cohort) == len(table) == 27
    for r in truth.itertuples():
        nid = f"{r.participant}/{r.night}"
        for name in ("foot_wrap", "sham"):
            assert bool(cohort.loc[nid, f"condition_{name}"]) == (r.condition == name), (nid, name)
            assert bool(table.loc[nid, f"condition_{name}"]) == (r.condition == name), (nid, name)
        # the diary's wrap and sham periods reach the cohort table as interventions, not only the manifest flag
        assert (r.condition in str(cohort.loc[nid, "interventions"])) == (r.condition != "none"), nid


def test_the_strong_effect_is_recovered_and_the_sham_is_not_flagged(study):
    truth = json.loads((study / "study" / "study_truth.json").read_text())["effects"]
    assert truth["foot_wrap"]["plm_factor"] == WRAP and truth["sham"]["plm_factor"] == 1.0
    doc = json.loads((study / "summary" / "conditions.json").read_text())
    wrap, sham = doc["comparisons"]
    assert (wrap["condition"], sham["condition"]) == ("foot_wrap", "sham")
    assert (wrap["n_with"], wrap["n_reference"], sham["n_with"]) == (9, 9, 9)
    cohort = doc["cohort"]
    assert cohort["method"] == "mixed" and cohort["n_participants"] == 3
    cwrap, csham = cohort["effects"]
    for est in (wrap, cwrap):
        assert est["ci_high"] < 1 and est["flagged"], est  # fewer PLMs with the wrap
        assert 0.7 * WRAP < est["ratio"] < WRAP / 0.7, est  # and about as many fewer as simulated
        assert est["ci_low"] < truth["foot_wrap"]["plm_factor"] < est["ci_high"], est  # the interval covers the truth
    for est in (sham, csham):
        assert est["ci_low"] < 1 < est["ci_high"] and not est["flagged"], est
    # the same analyses reach the multi-night table's statistics
    assert json.loads((study / "summary" / "multinight.json").read_text())["conditions"] == doc
