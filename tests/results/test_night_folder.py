import json

import pytest

from firmware_sim.night import simulate_night
from lmdetect.outputs import write_night_outputs
from lmdetect.pipeline import process_night


@pytest.fixture(scope="module")
def result():
    night = simulate_night("rls", hours=1.0, rate_hz=25, seed=3)
    return process_night(night.recording, diary=night.diary)


def test_outputs_are_complete_and_record_provenance(tmp_path, result):
    paths = write_night_outputs(result, tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted(p.name for p in paths.values())
    doc = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert doc["config_hash"] == result.config.hash() and "lmdetect_version" in doc


def test_a_failure_leaves_no_partial_outputs(tmp_path, result, monkeypatch):
    import lmdetect.results.night_folder as no

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(no, "write_summary_json", boom)
    with pytest.raises(OSError):
        write_night_outputs(result, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
