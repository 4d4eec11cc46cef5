"""``lmdetect simulate`` and ``python -m firmware_sim simulate``: files, formats, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from firmware_sim.__main__ import main as fw_main
from firmware_sim.night import simulate_night, write_night
from firmware_sim.truth import FILE_NAMES, TRUTH_LM_COLUMNS
from lmdetect.cli import main
from lmdetect.io.diary import read_diary, read_pad_log
from lmdetect.io.native import read_lmr
from lmdetect.model import HYPNOGRAM_COLUMNS


def test_cli_writes_all_files_that_read_back(tmp_path, capsys):
    out = tmp_path / "night"
    rc = main(["simulate", "--profile", "pad", "--hours", "2", "--rate", "25", "--seed", "3", "--out", str(out)])
    assert rc == 0
    assert "true PLMS index" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == sorted(FILE_NAMES.values())

    night = simulate_night("pad", hours=2.0, rate_hz=25, seed=3)
    rec = read_lmr(out / "night.lmr")
    np.testing.assert_array_equal(rec.accel_g, night.recording.accel_g)
    np.testing.assert_allclose(rec.time_s, night.recording.time_s, atol=1e-6)
    np.testing.assert_array_equal(rec.seq, night.recording.seq)
    assert rec.start == night.recording.start and rec.fs == 25.0 and rec.side == "left"

    lms = pd.read_csv(out / "truth_lm.csv")
    assert tuple(lms.columns) == TRUTH_LM_COLUMNS
    assert len(lms) == len(night.truth_lms)
    np.testing.assert_allclose(lms["onset_s"], night.truth_lms["onset_s"], atol=1e-3)
    assert lms["in_plm_series"].dtype == bool
    hyp = pd.read_csv(out / "hypnogram.csv")
    assert tuple(hyp.columns) == HYPNOGRAM_COLUMNS and set(hyp["stage"]) <= {"W", "N1", "N2", "N3", "R"}

    diary = read_diary(out / "diary.csv")
    assert list(diary["kind"]).count("lights_off") == 1 and list(diary["kind"]).count("lights_on") == 1
    episodes = diary[diary["kind"] == "rls_episode"]
    assert len(episodes) == len(night.rls_episodes)
    assert episodes["severity"].between(0, 10).all()
    assert all(ts.minute % 5 == 0 and ts.second == 0 for ts in episodes["start"])  # logged to 5 min
    pads = read_pad_log(out / "pad_log.csv")
    assert len(pads) == len(night.pad_sessions) >= 1

    summary = json.loads((out / "truth_summary.json").read_text())
    assert summary["profile"] == "pad" and summary["seed"] == 3 and summary["rate_hz"] == 25
    assert summary["software"]["name"] == "lmdetect"
    assert summary["indices"]["plms_index"] == pytest.approx(night.summary["indices"]["plms_index"])
    assert summary["counts_by_kind"] == night.summary["counts_by_kind"]
    assert len(summary["pad_sessions"]) == len(pads)


def test_same_arguments_give_byte_identical_files(tmp_path):
    for name in ("a", "b"):
        assert main(["simulate", "--profile", "noisy", "--hours", "1", "--seed", "9", "--out", str(tmp_path / name)]) == 0
    for fname in FILE_NAMES.values():
        assert (tmp_path / "a" / fname).read_bytes() == (tmp_path / "b" / fname).read_bytes(), fname


def test_start_and_overrides_from_the_command_line(tmp_path):
    out = tmp_path / "n"
    rc = main(
        ["simulate", "--hours", "1", "--rate", "25", "--start", "2026-06-01T23:00:00", "--tz", "Europe/Berlin",
         "--set", "imu_clock_ppm_range=(30, 30)", "--aa-filter", "none", "--out", str(out)]
    )
    assert rc == 0
    summary = json.loads((out / "truth_summary.json").read_text())
    assert summary["start"] == "2026-06-01T23:00:00+02:00"
    assert abs(summary["clock_ppm"]) == 30.0
    assert summary["aa_filter"] == "none"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--start", "yesterday"], "ISO 8601"),
        (["--set", "no_such_parameter=1"], "unknown profile parameter"),
        (["--set", "plm_decline=3"], "plm_decline"),
        (["--hours", "0"], "hours"),
        (["--crossover", "--effect", "foot_wrap=-1"], "--effect expects NAME=FACTOR"),
        (["--crossover", "--conditions", "none,Foot"], "condition 'Foot'"),
        (["--crossover", "--conditions", "none,pad", "--effect", "wrap=0.5"], "not in the design"),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "n"
    assert main(["simulate", *args, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_failed_write_leaves_no_partial_output(tmp_path, monkeypatch):
    night = simulate_night("control", hours=0.5, rate_hz=25, seed=1)
    import firmware_sim.truth as truth

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(truth, "pad_log_csv_text", boom)
    with pytest.raises(OSError):
        write_night(night, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_firmware_sim_module_cli(tmp_path, capsys):
    assert fw_main(["simulate", "--profile", "control", "--hours", "0.5", "--rate", "25", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "night.lmr").exists()
    assert fw_main([]) == 2


def test_cli_crossover_writes_a_manifest_for_batch(tmp_path, capsys):
    out = tmp_path / "study"
    rc = main(["simulate", "--crossover", "--participants", "2", "--nights", "1", "--conditions", "none,foot_wrap",
               "--effect", "foot_wrap=0.6", "--hours", "1.5", "--rate", "25", "--out", str(out)])
    assert rc == 0 and "foot_wrap x0.6" in capsys.readouterr().out
    manifest = pd.read_csv(out / "manifest.csv")
    assert list(manifest["condition_foot_wrap"]) == [0, 1, 1, 0]
    assert json.loads((out / "study_truth.json").read_text())["effects"]["foot_wrap"]["plm_factor"] == 0.6
