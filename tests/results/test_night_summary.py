"""NightSummary: the typed summary.json, its dict round trip and its schema version."""

import dataclasses
import json
from pathlib import Path

import pytest

from firmware_sim.night import simulate_night
from lmdetect.errors import FormatError
from lmdetect.pipeline import process_night
from lmdetect.results.multinight import read_night_folder
from lmdetect.results.night_folder import night_summary_document
from lmdetect.results.night_summary import (
    SCHEMA_VERSION,
    NightSummary,
    Quality,
    Section,
    SummarySchemaError,
)
from lmdetect.results.summary_json import to_jsonable

UNVERSIONED = Path(__file__).resolve().parents[1] / "data" / "results" / "summary_unversioned.json"


@pytest.fixture(scope="module")
def doc():
    night = simulate_night("pad", hours=1.0, rate_hz=25, seed=4)
    result = process_night(night.recording, diary=night.diary, pad_log=night.pad_log)
    return to_jsonable(night_summary_document(result))


def _unknown(section: Section, where: str = "") -> list[str]:
    out = [f"{where}{k}" for k in section.extra]
    for f in dataclasses.fields(section):
        v = getattr(section, f.name)
        if isinstance(v, Section):
            out += _unknown(v, f"{where}{f.name}.")
    return out


def test_the_written_summary_round_trips_and_every_key_is_typed(doc):
    night = NightSummary.from_dict(doc)
    assert night.to_dict() == doc
    assert doc["schema_version"] == SCHEMA_VERSION == night.schema_version
    assert _unknown(night) == [], "summary.json keys without a field: add them to their section"
    assert night.context.pad.windows.after_end.plm_per_h == doc["context"]["pad"]["windows"]["after_end"]["plm_per_h"]
    assert night.quality.wear_h == doc["quality"]["wear_h"]
    assert night.recording.fs_nominal_hz == doc["recording"]["fs_nominal_hz"]


def test_a_summary_of_the_release_before_schema_versions_loads_and_round_trips():
    old = json.loads(UNVERSIONED.read_text(encoding="utf-8"))
    assert "schema_version" not in old
    night = NightSummary.from_dict(old)
    assert night.schema_version == 1 and "schema_version" in night.absent_keys
    assert night.to_dict() == old
    assert night.plms_index == old["plms_index"]
    assert night.batch.night_id is None and "batch" in night.absent_keys


def test_unknown_keys_are_kept_and_missing_keys_read_as_none():
    doc = {"recording_start": "2026-03-14T22:00:00+01:00", "plms_index": 12.5, "from_a_newer_release": [1, 2],
           "quality": {"wear_h": 7.0, "detection_limit_mg": 3.5}, "context": None}
    night = NightSummary.from_dict(doc)
    assert night.extra == {"from_a_newer_release": [1, 2], "context": None}
    assert night.quality.extra == {"detection_limit_mg": 3.5}
    assert night.quality.noise_floor_mg is None and "noise_floor_mg" in night.quality.absent_keys
    assert night.context.rls.inside.plm_per_h is None  # a section that is not an object reads as empty
    assert night.to_dict() == doc


def test_a_new_field_is_one_line_in_its_section():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class NewQuality(Quality):
        detection_limit_mg: float | None = None

    q = NewQuality.from_dict({"wear_h": 7.0, "detection_limit_mg": 3.5})
    assert q.detection_limit_mg == 3.5 and q.extra == {}
    assert q.to_dict() == {"wear_h": 7.0, "detection_limit_mg": 3.5}


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, 0, "1", True, None])
def test_a_schema_version_this_release_cannot_read_is_named(version):
    with pytest.raises(SummarySchemaError, match=f"schema_version {version!r} "):
        NightSummary.from_dict({"schema_version": version, "plms_index": 1.0})


def test_a_night_folder_of_a_newer_layout_fails_naming_file_and_version(tmp_path):
    doc = json.loads(UNVERSIONED.read_text(encoding="utf-8"))
    doc["schema_version"] = SCHEMA_VERSION + 1
    (tmp_path / "summary.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(FormatError, match=rf"summary\.json: summary\.json schema_version {SCHEMA_VERSION + 1} "):
        read_night_folder(tmp_path)
