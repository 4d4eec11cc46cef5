"""``lmdetect score-events``: end to end on the example files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from lmdetect import __version__
from lmdetect.cli import main
from lmdetect.io.annotations.events_csv import EVENTS_LEADING_COLUMNS
from lmdetect.scoring import AASM, INDEX_KEYS, WASM2016

DATA = Path(__file__).resolve().parents[1] / "data" / "annotations"
REMLOGIC = DATA / "remlogic_example.txt"

TST_H = 390 / 3600  # N1 30 s + N2 300 s + R 60 s


def run(*argv) -> int:
    return main(["score-events", *map(str, argv)])


def test_remlogic_wasm2016(tmp_path, capsys):
    out = tmp_path / "out"
    assert run(REMLOGIC, "--out", out) == 0
    assert "9 PLM in 2 series" in capsys.readouterr().out
    s = json.loads((out / "summary.json").read_text())
    assert set(INDEX_KEYS) <= set(s)
    assert s["rule_set"] == "wasm2016" and s["config_hash"] == WASM2016().hash()
    assert s["lmdetect_version"] == __version__
    assert s["input_sha256"] == hashlib.sha256(REMLOGIC.read_bytes()).hexdigest()
    assert s["source_format"] == "remlogic" and s["sleep_source"] == "hypnogram"
    assert s["start"] == "2026-03-14T22:30:00" and s["n_events_ignored"] == 0
    assert (s["tib_start_s"], s["tib_end_s"]) == (0.0, 480.0)
    assert s["tst_h"] == pytest.approx(TST_H)
    assert (s["n_clm"], s["n_plm"], s["n_plms"], s["n_series"]) == (9, 9, 9, 2)
    assert s["plms_index"] == pytest.approx(9 / TST_H)
    # the hypopnea (180-195 s) makes the CLM at 205 s respiratory-related; without it the second
    # series (185, 205, 225, 245) falls apart
    assert (s["n_clmr"], s["n_plmsnr"]) == (1, 5)
    assert s["plmnr_index"] == pytest.approx(5 / TST_H)
    # the arousal at 227.3 s starts 0.3 s after the PLM at 225-227 s ends: associated (WASM 2016)
    assert s["arousals_scored"] is True and s["n_plms_arousal"] == 1
    assert s["plms_arousal_index"] == pytest.approx(1 / TST_H)
    events = pd.read_csv(out / "events.csv", keep_default_na=False)
    assert events.loc[events["with_arousal"].astype(str) == "True", "onset_s"].tolist() == [225.0]
    assert tuple(events.columns[: len(EVENTS_LEADING_COLUMNS)]) == EVENTS_LEADING_COLUMNS
    assert len(events) == 10 and events["in_plm_series"].sum() == 9  # 140/140.3 merged, 0.3-s LM dropped


def test_remlogic_aasm(tmp_path):
    assert run(REMLOGIC, "--rules", "aasm", "--out", tmp_path) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["rule_set"] == "aasm" and s["config_hash"] == AASM().hash()
    # 180 and 185 s fall in the hypopnea's exclusion window and are not scored; 100-160 and
    # 205-245 are one run (160 -> 205 is 45 s)
    assert (s["n_clm"], s["n_plm"], s["n_series"], s["n_clmr"]) == (7, 7, 1, 2)


def test_events_csv_with_hypnogram_and_lights(tmp_path):
    assert (
        run(
            DATA / "events_example.csv",
            "--hypnogram",
            DATA / "hypnogram_example.csv",
            "--lights-off",
            60,
            "--lights-on",
            450,
            "--out",
            tmp_path,
        )
        == 0
    )
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["source_format"] == "events-csv" and s["sleep_source"] == "hypnogram"
    assert (s["tib_start_s"], s["tib_end_s"]) == (60.0, 450.0)
    assert s["tst_h"] == pytest.approx(TST_H)
    assert s["n_plms"] == 9 and s["n_clmr"] is None and s["respiratory_scored"] is False
    assert s["n_plms_arousal"] is None and s["arousals_scored"] is False  # no arousals in the file


def test_without_stages_only_time_in_bed_index(tmp_path, capsys):
    assert run(DATA / "events_example.csv", "--out", tmp_path) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["sleep_source"] == "none" and s["plms_index"] is None and s["tst_h"] is None
    assert s["tib_end_s"] == 320.3  # end of the last event in the file
    assert "in bed" in capsys.readouterr().out


def test_malformed_input_exits_2_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("onset_s,duration_s\n1,2\n3,abc\n")
    out = tmp_path / "out"
    assert run(bad, "--out", out) == 2
    err = capsys.readouterr().err
    assert "lmdetect score-events: error:" in err and f"{bad}, line 3" in err
    assert not out.exists()


def test_missing_file_and_unknown_format(tmp_path, capsys):
    assert run(tmp_path / "nope.txt", "--out", tmp_path / "o") == 2
    assert "file not found" in capsys.readouterr().err
    junk = tmp_path / "junk.txt"
    junk.write_text("nothing to see\n")
    assert run(junk, "--out", tmp_path / "o") == 2
    assert "not a recognised scored-event file" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bad_lights_and_unknown_rule_set(tmp_path, capsys):
    assert run(REMLOGIC, "--lights-off", 100, "--lights-on", 50, "--out", tmp_path / "o") == 2
    assert "--lights-on" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        run(REMLOGIC, "--rules", "wasm2006", "--out", tmp_path / "o")
    assert exc.value.code == 2


def test_remlogic_legs_arousal_labels_and_outside_movements(tmp_path):
    """LAntib legs, AROUSAL-APNEA / AROUSAL-RERA and movements outside the scored epochs, end to
    end (the WASM 2016 result, as PLMScoRe gives it; see test_plmscore_golden.py)."""
    rows = ["\t2026-03-14T23:00:00.000000\tLIGHTS-OFF\t0\t"]
    rows += [f"N2\t2026-03-14T23:{m:02d}:{s:02d}.000000\tSLEEP-S2\t30\t" for m in range(2, 8) for s in (0, 30)]
    # a left/right series 150-210 s, bilateral at 170 s; before the first epoch (120 s): 80, 100
    for t, loc in ((80, "L"), (100, "L"), (130, "L"), (150, "R"), (170, "L"), (170.3, "R"), (190, "L"), (210, "R")):
        rows.append(f"N2\t2026-03-14T23:{int(t) // 60:02d}:{t % 60:09.6f}\tPLM-LM\t1.5\t{loc}Antib1-{loc}Antib2")
    rows.append("N2\t2026-03-14T23:02:25.000000\tAPNEA-OBSTRUCTIVE\t20\tFlow")  # ends 165 s
    rows.append("N2\t2026-03-14T23:02:45.000000\tAROUSAL-APNEA\t4.8\tEEG.C3-M2")  # 165-169.8 s
    rows.append("N2\t2026-03-14T23:03:28.000000\tAROUSAL-RERA\t4\tEEG.C3-M2")  # 208-212 s
    p = tmp_path / "night.txt"
    p.write_text("Events Included:\nPLM-LM\n\nSleep Stage\tTime [hh:mm:ss]\tEvent\tDuration[s]\tLocation\n"
                 + "\n".join(rows) + "\n")
    out = tmp_path / "out"
    assert run(p, "--out", out) == 0
    s = json.loads((out / "summary.json").read_text())
    assert (s["tib_start_s"], s["tib_end_s"]) == (120.0, 480.0) and s["n_lm_outside_scoring_period"] == 2
    assert s["warnings"] == []
    ev = pd.read_csv(out / "events.csv", keep_default_na=False)
    assert ev["onset_s"].tolist() == [130, 150, 170, 190, 210]
    assert ev["side"].tolist() == ["left", "right", "both", "left", "right"]
    assert (ev["in_plm_series"].astype(str) == "True").all() and s["n_plms"] == 5
    # CLMr: 170 (apnea end 165 s: 163-175.25) and 210 (the RERA ends at the arousal onset, 208 s:
    # 206-218.25); the arousal-apnea is an arousal (with the 170-s movement), not a second apnea
    assert ev.loc[ev["is_clmr"].astype(str) == "True", "onset_s"].tolist() == [170, 210]
    assert ev.loc[ev["with_arousal"].astype(str) == "True", "onset_s"].tolist() == [170, 210]
    assert s["n_clmr"] == 2 and s["n_plms_arousal"] == 2


def test_unknown_leg_channels_are_reported_in_the_summary(tmp_path):
    rows = [f"N2\t2026-03-14T23:00:{s:02d}.000000\tPLM-LM\t1.5\tEMG1-EMG2" for s in (0, 20, 40)]
    p = tmp_path / "night.txt"
    p.write_text("Events Included:\nPLM-LM\n\nSleep Stage\tTime [hh:mm:ss]\tEvent\tDuration[s]\tLocation\n"
                 + "\n".join(rows) + "\n")
    assert run(p, "--out", tmp_path / "out") == 0
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert len(s["warnings"]) == 1 and "'EMG1-EMG2' x3" in s["warnings"][0]
    assert "side 'unknown'" in s["warnings"][0]
