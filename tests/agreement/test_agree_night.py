"""``lmdetect agree`` on simulated sensor/PSG pairs and on the bundled scoring examples."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from firmware_sim.psg_export import export_psg
from lmdetect.agreement.night import MATCHED_COLUMNS, ROW_KEYS, agree_night
from lmdetect.cli import main
from lmdetect.commands.evaluate import evaluate_dirs
from lmdetect.evaluation import match_events

ANNOTATIONS = Path(__file__).resolve().parents[1] / "data" / "annotations"
OFFSET_S, DRIFT_PPM = 37.0, 20.0


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """A simulated 3-h night (noisy profile), processed, and its truth as RemLogic and EDF+ scorings."""
    d = tmp_path_factory.mktemp("agree")
    sim, out = d / "sim", d / "out"
    args = ["--profile", "noisy", "--hours", "3", "--rate", "25", "--seed", "5"]
    assert main(["simulate", *args, "--out", str(sim)]) == 0
    assert main(["process", str(sim / "night.lmr"), "--out", str(out), "--no-report"]) == 0
    psg = {
        "remlogic": export_psg(sim, d / "psg.txt", offset_s=OFFSET_S, drift_ppm=DRIFT_PPM, seed=1),
        "edf+": export_psg(sim, d / "psg.edf", format="edf+", offset_s=OFFSET_S, drift_ppm=DRIFT_PPM, seed=1),
    }
    return d, sim, out, psg


@pytest.mark.parametrize("fmt", ["remlogic", "edf+"])
def test_offset_recovered_and_sensitivity_equals_evaluate(night, fmt):
    _, sim, out, psg = night
    a = agree_night(out, psg[fmt])
    assert a.reference_format == fmt
    al = a.alignment
    assert abs(al.offset_s - OFFSET_S) < 0.2
    assert al.offset_se_s < 0.1
    # the PSG drifts 20 ppm against the true clock; the sensor's own residual clock error adds to it
    det, truth = pd.read_csv(out / "events.csv"), pd.read_csv(sim / "truth_lm.csv")
    di, ri = match_events(det, truth)
    sensor_ppm = (
        np.polyfit(
            det["onset_s"].to_numpy()[di], truth["onset_s"].to_numpy()[ri] - det["onset_s"].to_numpy()[di], 1
        )[0]
        * 1e6
    )
    assert al.drift_fitted and abs(al.drift_ppm - (DRIFT_PPM + sensor_ppm)) < 5.0
    ev = evaluate_dirs(out, sim)
    assert abs(a.events["lm"]["sensitivity"] - ev["lm"]["recall"]) <= 0.01
    assert abs(a.events["plm"]["sensitivity"] - ev["plm"]["recall"]) <= 0.05
    row = a.row()
    assert tuple(row) == ROW_KEYS
    # the reference's indices are the truth's (same movements, same hypnogram, same rules)
    t = json.loads((sim / "truth_summary.json").read_text())["indices"]
    assert row["tst_h_reference"] == pytest.approx(t["tst_h"], abs=0.02)


def test_cli_writes_three_files_and_follows_the_force_convention(night, capsys):
    d, _, out, psg = night
    dest = d / "agree_cli"
    assert main(["agree", str(out), "--reference", str(psg["remlogic"]), "--out", str(dest)]) == 0
    assert sorted(p.name for p in dest.iterdir()) == ["agreement.html", "agreement.json", "matched.csv"]
    doc = json.loads((dest / "agreement.json").read_text())
    m = pd.read_csv(dest / "matched.csv")
    assert tuple(m.columns) == MATCHED_COLUMNS
    lm = doc["events"]["lm"]
    counts = m["status"].value_counts()
    assert counts["match"] == lm["n_matched"]
    assert counts.get("miss", 0) == lm["n_reference"] - lm["n_matched"]
    assert counts.get("extra", 0) == lm["n_sensor"] - lm["n_matched"]
    html = (dest / "agreement.html").read_text()
    assert "data:image/png;base64," in html and 'src="http' not in html and "<script" not in html
    assert main(["agree", str(out), "--reference", str(psg["remlogic"]), "--out", str(dest)]) == 2
    assert "use --force" in capsys.readouterr().err
    assert main(["agree", str(out), "--reference", str(psg["remlogic"]), "--out", str(dest), "--force",
                 "--offset", str(OFFSET_S)]) == 0  # fmt: skip
    user = json.loads((dest / "agreement.json").read_text())
    assert user["alignment"]["method"] == "user" and user["alignment"]["offset_s"] == OFFSET_S
    assert abs(user["events"]["lm"]["sensitivity"] - lm["sensitivity"]) <= 0.02


def test_ambiguous_alignment_refused_with_files_named_and_nothing_written(night, capsys):
    d, _, out, _ = night
    dest = d / "agree_refused"
    ref = ANNOTATIONS / "remlogic_example.txt"  # 12 movements of another 8-min night
    assert main(["agree", str(out), "--reference", str(ref), "--out", str(dest)]) == 2
    err = capsys.readouterr().err
    assert "ambiguous" in err or "too few" in err
    assert str(ref) in err and "events.csv" in err
    assert not dest.exists()


def test_no_overlap_in_time_refused(night, tmp_path, capsys):
    _, _, out, psg = night
    moved = tmp_path / "moved"
    moved.mkdir()
    for f in ("events.csv", "epochs.csv"):
        (moved / f).write_bytes((out / f).read_bytes())
    s = json.loads((out / "summary.json").read_text())
    s["recording"]["start"] = "2026-03-16T22:30:00+01:00"  # two days later
    (moved / "summary.json").write_text(json.dumps(s))
    assert main(["agree", str(moved), "--reference", str(psg["remlogic"]), "--out", str(tmp_path / "o")]) == 2
    assert "do not overlap in time" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_missing_night_file_is_a_format_error(tmp_path, capsys):
    (tmp_path / "n").mkdir()
    rc = main(["agree", str(tmp_path / "n"), "--reference", str(ANNOTATIONS / "remlogic_example.txt"),
               "--out", str(tmp_path / "o")])  # fmt: skip
    assert rc == 2
    assert "events.csv: file not found" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["remlogic_example.txt", "nsrr_example.xml", "events_example.csv"])
def test_bundled_scoring_against_itself_shifted(tmp_path, name):
    """A 'sensor' night made of the scoring's own movements, on a clock 30 s behind: with the offset
    given, every movement matches and the re-scored indices equal the reference's."""
    ref = ANNOTATIONS / name
    hyp = ANNOTATIONS / "hypnogram_example.csv"
    sensor = tmp_path / "sensor"
    cmd = ["score-events", str(ref), "--out", str(sensor)]
    if name == "events_example.csv":
        cmd += ["--hypnogram", str(hyp)]
    assert main(cmd) == 0
    ev = pd.read_csv(sensor / "events.csv")
    ev["onset_s"] = ev["onset_s"] - 30.0
    ev.to_csv(sensor / "events.csv", index=False)
    a = agree_night(
        sensor, ref, offset_s=30.0, reference_hypnogram=hyp if name == "events_example.csv" else None
    )
    assert a.events["lm"]["sensitivity"] == 1.0 and a.events["lm"]["ppv"] == 1.0
    assert a.events["plm"]["sensitivity"] == 1.0 and a.onset_error["mae_s"] == pytest.approx(0.0, abs=1e-9)
    row = a.row()
    for k in ("plms_per_h", "plmw_per_h", "clm_per_h", "periodicity_index"):
        assert row[f"{k}_sensor"] == row[f"{k}_reference"]
    summary = json.loads((sensor / "summary.json").read_text())
    assert row["plms_per_h_sensor_own"] == summary["plms_index"] == row["plms_per_h_reference"]


@pytest.mark.parametrize("name", ["random_1.txt", "random_2.txt", "random_3.txt"])
def test_offset_estimated_on_plmscore_exports(tmp_path, name):
    """The PLMScoRe RemLogic exports, read back as a 'sensor' on a clock 30 s behind with one
    movement in ten lost and 0.1-s onset noise: the offset is found from the movements alone."""
    ref = ANNOTATIONS / "plmscore" / name
    sensor = tmp_path / "sensor"
    assert main(["score-events", str(ref), "--out", str(sensor)]) == 0
    ev = pd.read_csv(sensor / "events.csv")
    rng = np.random.default_rng(7)
    ev = ev[rng.random(len(ev)) >= 0.1].copy()
    ev["onset_s"] = ev["onset_s"] - 30.0 + rng.normal(0, 0.1, len(ev))
    ev.to_csv(sensor / "events.csv", index=False)
    a = agree_night(sensor, ref)
    assert a.alignment.method == "estimated"
    assert abs(a.alignment.offset_s - 30.0) < 0.1
    assert a.events["lm"]["ppv"] >= 0.97
    assert a.events["lm"]["sensitivity"] == pytest.approx(
        a.events["lm"]["n_sensor"] / a.events["lm"]["n_reference"], abs=0.03
    )


def test_sensor_night_without_movements(tmp_path, capsys):
    ref = ANNOTATIONS / "remlogic_example.txt"
    sensor = tmp_path / "sensor"
    assert main(["score-events", str(ref), "--out", str(sensor)]) == 0
    header = (sensor / "events.csv").read_text().splitlines()[0]
    (sensor / "events.csv").write_text(header + "\n")
    a = agree_night(sensor, ref, offset_s=0.0)
    assert a.events["lm"]["sensitivity"] == 0.0 and a.events["lm"]["ppv"] is None
    assert set(a.matched["status"]) == {"miss"}
    assert main(["agree", str(sensor), "--reference", str(ref), "--out", str(tmp_path / "o")]) == 2
    assert "no leg movements to align on (sensor 0" in capsys.readouterr().err


def test_one_leg_of_the_psg(tmp_path):
    """A left-ankle sensor against the PSG's left-leg movements only: the right leg's movements
    are no longer counted as misses."""
    from lmdetect.io.annotations import read_scored_events
    from lmdetect.scoring import score_lms

    ref = ANNOTATIONS / "remlogic_example.txt"
    sensor = tmp_path / "sensor"
    assert main(["score-events", str(ref), "--out", str(sensor)]) == 0
    ev = pd.read_csv(sensor / "events.csv")
    ev = ev[ev["side"].isin(["left", "both"])]  # what a sensor on the left ankle sees
    ev.assign(side="left").to_csv(sensor / "events.csv", index=False)
    s = json.loads((sensor / "summary.json").read_text())
    (sensor / "summary.json").write_text(json.dumps({**s, "side": "left"}))
    both = agree_night(sensor, ref, offset_s=0.0)
    left = agree_night(sensor, ref, offset_s=0.0, reference_side="sensor")
    assert left.reference_side == "left" and left.to_dict()["reference_legs"] == "left"
    e = read_scored_events(ref)
    n_left = len(score_lms(e.lms[e.lms["side"] == "left"], hypnogram=e.hypnogram, period=e.time_in_bed()))
    assert left.events["lm"]["n_reference"] == n_left < both.events["lm"]["n_reference"]
    assert left.events["lm"]["sensitivity"] == 1.0 > both.events["lm"]["sensitivity"]
    with pytest.raises(Exception, match="expected left, right or sensor"):
        agree_night(sensor, ref, offset_s=0.0, reference_side="middle")


def test_cli_needs_a_night_and_a_reference_or_a_cohort(tmp_path, capsys):
    assert main(["agree", "--out", str(tmp_path / "o")]) == 2
    assert "needs NIGHT_OUT_DIR and --reference" in capsys.readouterr().err
    manifest = tmp_path / "m.csv"
    manifest.write_text("sensor_night,reference\n")
    assert main(["agree", str(tmp_path), "--cohort", str(manifest), "--out", str(tmp_path / "o")]) == 2
    assert "replaces NIGHT_OUT_DIR and --reference" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
