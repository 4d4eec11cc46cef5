"""``lmdetect summarize --compare / --before-after`` end to end on night folders with a cohort table, and
the conditions report's content (the browser check is in test_browser_conditions.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from lmdetect.cli import main
from lmdetect.report.conditions import render_conditions_report
from lmdetect.results.conditions import ConditionRequest, add_condition_columns, analyse_conditions
from lmdetect.summary.conditions import cohort_effects
from lmdetect.summary.multinight import PAD_COLUMN
from tests.report.conditions_cases import before_after_rows, crossover_rows, write_cohort


@pytest.fixture(scope="module")
def crossover_dir(tmp_path_factory) -> Path:
    return write_cohort(tmp_path_factory.mktemp("crossover"), crossover_rows(11, n_participants=6, nights=4))


def test_compare_several_conditions_across_participants(crossover_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["summarize", str(crossover_dir), "--compare", "pad", "--compare", "wrap", "--out", str(out),
                 "--n-boot", "500", "--no-report"]) == 0
    doc = json.loads((out / "conditions.json").read_text())
    assert [c["condition"] for c in doc["comparisons"]] == ["pad", "wrap"]
    assert [c["n_with"] for c in doc["comparisons"]] == [24, 24]
    # the within-participant effects equal those computed on the cohort table itself
    cohort = pd.read_csv(crossover_dir / "cohort.csv")
    want = cohort_effects(cohort, ["pad", "wrap"])
    got = doc["cohort"]
    assert got["method"] == "mixed" and got["n_participants"] == 6
    for e, w in zip(got["effects"], want.effects, strict=True):
        assert e["ratio"] == pytest.approx(w.ratio, rel=1e-6)
        assert e["ci_low"] == pytest.approx(w.ci_low, rel=1e-6)
    text = capsys.readouterr().out
    assert "pad within 6 participants (mixed)" in text and "conditions_stats" in text
    assert not (out / "conditions.html").exists()
    # a rerun without --compare leaves no conditions file that disagrees with the new tables
    assert main(["summarize", str(crossover_dir), "--out", str(out), "--force", "--no-report"]) == 0
    assert not (out / "conditions.json").exists()


def test_unknown_condition_is_a_clear_error_and_writes_nothing(crossover_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["summarize", str(crossover_dir), "--compare", "iron", "--out", str(out), "--no-report"]) == 2
    err = capsys.readouterr().err
    assert "no condition 'iron'" in err and "pad, wrap" in err
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("arg, message", [("iron", "NAME=YYYY-MM-DD"), ("iron=16.3.2026", "not a date")])
def test_before_after_argument_errors(crossover_dir, tmp_path, capsys, arg, message):
    assert main(["summarize", str(crossover_dir), "--before-after", arg, "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err


def test_before_after_needs_one_participant(crossover_dir, tmp_path, capsys):
    assert main(["summarize", str(crossover_dir), "--before-after", "iron=2026-03-05", "--out", str(tmp_path / "o"),
                 "--no-report"]) == 2
    assert "one participant" in capsys.readouterr().err


def test_conditions_file_marks_nights(tmp_path):
    root = write_cohort(tmp_path / "n", before_after_rows(3))
    (root / "cohort.csv").unlink()
    f = tmp_path / "conditions.csv"
    f.write_text("night,condition_wrap\n2026-03-02,yes\np01/n01,1\np01/n02,\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["summarize", str(root), "--conditions", str(f), "--compare", "wrap", "--out", str(out),
                 "--no-report", "--n-boot", "200"]) == 0
    c = json.loads((out / "conditions.json").read_text())["comparisons"][0]
    assert (c["n_with"], c["n_reference"]) == (2, 33)
    f.write_text("night,condition_wrap\n2026-03-02,maybe\n", encoding="utf-8")
    assert main(["summarize", str(root), "--conditions", str(f), "--compare", "wrap", "--out", str(tmp_path / "o2"),
                 "--no-report"]) == 2


def test_pad_condition_defaults_to_the_pad_rule():
    t = pd.DataFrame({"night": ["a", "b"], "date": ["2026-03-01", "2026-03-02"], "participant": ["", ""],
                      PAD_COLUMN: [True, False], "plms_per_h": [10.0, 20.0]})
    assert add_condition_columns(t, [])["condition_pad"].tolist() == [True, False]


def test_cohort_report_states_method_and_every_condition(tmp_path):
    rows = crossover_rows(12)
    t = pd.DataFrame(rows)
    t["date"] = (pd.Timestamp("2026-03-02") + pd.to_timedelta(t["day"], unit="D")).dt.strftime("%Y-%m-%d")
    a = analyse_conditions(t, ConditionRequest(compare=("pad", "wrap")), metric="plms_per_h", n_boot=500)
    html = render_conditions_report(a, json.loads(json.dumps(a.to_dict())))
    for text in ("Within-participant effects across 20 participants", "MixedLM", "random intercept",
                 'data-condition="pad"', 'data-condition="wrap"', 'id="fig-cohort"', 'id="fig-participants"'):
        assert text in html


def test_a_batch_cohort_table_marks_nights_by_night_id(tmp_path):
    """``lmdetect batch`` names a night by night_id (participant/night) and night (the folder)."""
    t = pd.DataFrame({"night": ["P01/n01", "P01/n02", "P02/n01"], "participant": ["P01", "P01", "P02"],
                      "date": ["2026-03-14", "2026-03-15", "2026-03-14"], PAD_COLUMN: [False, True, False]})
    f = tmp_path / "cohort.csv"
    pd.DataFrame({"night_id": ["P01/n01", "P01/n02", "P02/n01"], "participant": ["P01", "P01", "P02"],
                  "night": ["n01", "n02", "n01"], "condition_foot_wrap": [True, False, False]}).to_csv(f, index=False)
    out = add_condition_columns(t, [f])
    assert out["condition_foot_wrap"].tolist() == [True, False, False]
    # a conditions file may name the night by its folder name with the participant beside it
    g = tmp_path / "conditions.csv"
    g.write_text("participant,night,condition_sham\nP02,n01,yes\n", encoding="utf-8")
    assert add_condition_columns(t, [g])["condition_sham"].tolist() == [False, False, True]


def _diary_cohort(root: Path) -> Path:
    """A one-participant cohort without a cohort table: the wrap nights say so in their own summary.json."""
    rows = crossover_rows(13, n_participants=1, nights=6)
    write_cohort(root, rows)
    (root / "cohort.csv").unlink()
    for r in rows:
        f = root / "nights" / r["participant"] / r["night"] / "summary.json"
        s = json.loads(f.read_text())
        s["interventions"] = [{"name": "wrap", "onset_s": 0.0, "duration_s": 3600.0, "source": "diary"}] \
            if r["condition_wrap"] else []
        s["interventions"] += [{"name": "caffeine", "onset_s": None, "duration_s": None, "source": "manifest"}]
        f.write_text(json.dumps(s))
    return root


def test_without_compare_every_condition_the_nights_differ_in_is_compared(tmp_path, capsys):
    root = _diary_cohort(tmp_path / "n")
    out = tmp_path / "out"
    assert main(["summarize", str(root), "--out", str(out), "--n-boot", "300", "--no-report"]) == 0
    table = pd.read_csv(out / "multinight.csv")
    # the diary's wrap reaches the table; a manifest flag recorded in summary.json does not (the batch's
    # cohort table is where manifest flags are kept current)
    assert [c for c in table.columns if c.startswith("condition_")] == ["condition_pad", "condition_wrap"]
    assert int(table["condition_wrap"].sum()) == 6
    doc = json.loads((out / "multinight.json").read_text())["conditions"]
    assert doc["requested"] is False and doc["conditions"] == ["wrap"]  # the pad is on no night here
    assert doc["comparisons"][0]["n_with"] == 6 and doc["cohort"] is None
    assert not (out / "conditions.json").exists()  # written only when conditions are asked for
    assert "every one the nights differ in): wrap" in capsys.readouterr().out
    # asked for: the same numbers in conditions.json and multinight.json
    assert main(["summarize", str(root), "--out", str(out), "--force", "--compare", "wrap", "--n-boot", "300",
                 "--no-report"]) == 0
    asked = json.loads((out / "conditions.json").read_text())
    assert asked == json.loads((out / "multinight.json").read_text())["conditions"] and asked["requested"]


def test_a_conditions_file_alone_marks_the_nights_for_the_report(tmp_path):
    root = write_cohort(tmp_path / "n", before_after_rows(4, days=range(0, 10)))
    (root / "cohort.csv").unlink()
    f = tmp_path / "conditions.csv"
    f.write_text("night,condition_melatonin\n" + "".join(f"p01/n{k:02d},yes\n" for k in range(5)), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["summarize", str(root), "--conditions", str(f), "--out", str(out), "--n-boot", "200",
                 "--no-report"]) == 0
    doc = json.loads((out / "multinight.json").read_text())["conditions"]
    assert doc["conditions"] == ["melatonin"] and not doc["requested"]
    assert (doc["comparisons"][0]["n_with"], doc["comparisons"][0]["n_reference"]) == (5, 5)
    assert pd.read_csv(out / "multinight.csv")["condition_melatonin"].tolist() == [True] * 5 + [False] * 5
