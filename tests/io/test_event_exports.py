"""EDF+ annotation and BIDS events.tsv exports of a processed night: labels, times, validity."""

from __future__ import annotations

import datetime as dt
import json
import re

import edfio
import numpy as np
import pandas as pd
import pytest

from lmdetect.errors import LmdetectError
from lmdetect.io.bids_events import BIDS_EVENT_COLUMNS, bids_events_table, write_bids_events
from lmdetect.io.edf_annotations import write_edf_annotations, write_night_edf_annotations
from lmdetect.io.event_labels import movement_labels, night_annotations
from lmdetect.outputs import write_night_outputs
from tests.report import night_cases


@pytest.fixture(scope="module")
def rich():
    return night_cases.rich_night()


def read_tals(path) -> tuple[dict[str, str], list[tuple[float, float | None, str]]]:
    """Minimal EDF+ reader written from the specification (independent of edfio): the header
    fields and every annotation of the 'EDF Annotations' signal."""
    raw = path.read_bytes()
    head = {"version": raw[0:8], "patient": raw[8:88], "recording": raw[88:168], "startdate": raw[168:176],
            "starttime": raw[176:184], "header_bytes": raw[184:192], "reserved": raw[192:236],
            "n_records": raw[236:244], "record_s": raw[244:252], "n_signals": raw[252:256]}
    head = {k: v.decode("ascii").strip() for k, v in head.items()}
    ns = int(head["n_signals"])
    labels = [raw[256 + 16 * i: 256 + 16 * (i + 1)].decode("ascii").strip() for i in range(ns)]
    off = 256 + ns * (16 + 80 + 8 + 8 + 8 + 8 + 8 + 80)
    samples = [int(raw[off + 8 * i: off + 8 * (i + 1)]) for i in range(ns)]
    assert len(raw) == int(head["header_bytes"]) + int(head["n_records"]) * sum(samples) * 2
    head["labels"] = labels
    data = raw[int(head["header_bytes"]):]
    tals = []
    for tal in data.split(b"\x00"):
        if not tal:
            continue
        m = re.fullmatch(rb"([+-][0-9.]+)(?:\x15([0-9.]+))?\x14(.*)\x14", tal, re.S)
        assert m, tal
        for text in m.group(3).split(b"\x14"):
            if text:
                tals.append((float(m.group(1)), float(m.group(2)) if m.group(2) else None, text.decode()))
    return head, tals


def test_movement_labels_follow_the_harmonised_vocabulary():
    ev = pd.DataFrame({
        "kind": ["lm", "lm", "lm", "posture", "gross", "long", "lm"],
        "side": ["left", "right", "both", "left", "left", "right", "unknown"],
        "is_clm": [False, True, True, False, False, False, True],
        "in_plm_series": [False, False, True, False, False, False, True],
    })
    assert list(movement_labels(ev)) == ["LM/left", "CLM/right", "PLM/both", "movement/posture",
                                         "movement/gross", "LM/right", "PLM"]


def test_night_annotations_table(rich):
    ann = night_annotations(rich)
    assert (np.diff(ann["onset_s"]) >= 0).all()
    mov = ann[ann["category"] == "movement"]
    assert len(mov) == len(rich.events) and (mov["row"] >= 0).all()
    assert set(mov["label"]) <= {"LM/left", "CLM/left", "PLM/left", "movement/posture", "movement/gross"}
    assert (mov["label"] == "PLM/left").sum() == int(rich.events["in_plm_series"].sum())
    other = ann[ann["category"] != "movement"].set_index("label")
    assert list(other.loc["rls/episode", "onset_s"]) == [500.0, 8200.0]
    assert other.loc["device/vibration_pad/log", "duration_s"] == 2100.0  # as logged, not the mask
    assert abs(other.loc["device/vibration_pad/detected", "onset_s"] - 1800.0) < 30
    assert other.loc["lights_off", "onset_s"] == 300.0 and other.loc["lights_on", "onset_s"] == 10500.0


def test_edf_annotations_round_trip(rich, tmp_path):
    path = write_night_edf_annotations(rich, tmp_path / "events_annotations.edf")
    head, tals = read_tals(path)
    assert head["reserved"].startswith("EDF+C") and head["labels"] == ["EDF Annotations"]
    assert head["startdate"] == "14.03.26" and head["starttime"] == "22.30.00"
    assert head["recording"].startswith("Startdate 14-MAR-2026 X X TEST-R lmdetect-")
    ann = night_annotations(rich)
    # the first TAL of a record is its time-keeping stamp (no text)
    assert [t[2] for t in tals] == list(ann["label"])
    np.testing.assert_allclose([t[0] for t in tals], ann["onset_s"], atol=1e-6)
    durs = [t[1] or 0.0 for t in tals]
    np.testing.assert_allclose(durs, ann["duration_s"], atol=1e-6)
    # and edfio reads the same
    edf = edfio.read_edf(path)
    assert len(edf.signals) == 0 and [a.text for a in edf.annotations] == list(ann["label"])
    assert edf.startdate == dt.date(2026, 3, 14) and edf.starttime == dt.time(22, 30)


def test_annotations_before_the_recording_are_clipped(rich, tmp_path):
    import dataclasses

    early = pd.DataFrame({"onset_s": [-600.0, -900.0], "duration_s": [900.0, 300.0], "severity": [5.0, 5.0],
                          "note": ["", ""]})
    shifted = dataclasses.replace(rich, rls_episodes=early)
    ann = night_annotations(shifted)
    rls = ann[ann["label"] == "rls/episode"]
    assert list(rls["onset_s"]) == [0.0] and list(rls["duration_s"]) == [300.0]  # the other ended before 0
    _, tals = read_tals(write_night_edf_annotations(shifted, tmp_path / "a.edf"))
    assert (0.0, 300.0, "rls/episode") in tals


def test_edf_of_an_empty_night_is_valid(tmp_path):
    empty = night_cases.zero_movement_night()
    path = write_night_edf_annotations(empty, tmp_path / "e.edf")
    _, tals = read_tals(path)
    assert tals == [(0.0, None, "recording_start")]
    assert len(edfio.read_edf(path).annotations) == 1


def test_bad_annotations_raise_and_leave_no_file(tmp_path):
    start = dt.datetime(2026, 3, 14, 22, 30, tzinfo=dt.UTC)
    bad = pd.DataFrame({"onset_s": [-1.0], "duration_s": [1.0], "label": ["LM"]})
    with pytest.raises(LmdetectError, match="onsets"):
        write_edf_annotations(tmp_path / "x.edf", bad, start)
    with pytest.raises(LmdetectError, match="start date"):
        write_edf_annotations(tmp_path / "y.edf", bad.assign(onset_s=1.0), start.replace(year=2090))
    assert list(tmp_path.iterdir()) == []


def test_bids_events_tsv(rich, tmp_path):
    doc = {"input_sha256": "ab" * 32, "config_hash": "c"}
    paths = write_bids_events(rich, tmp_path / "events.tsv", summary=doc)
    lines = paths["events_tsv"].read_text().splitlines()
    assert lines[0].split("\t") == list(BIDS_EVENT_COLUMNS)
    table = pd.read_csv(paths["events_tsv"], sep="\t", na_values=["n/a"], keep_default_na=False)
    ann = night_annotations(rich)
    assert len(table) == len(ann)
    np.testing.assert_allclose(table["onset"], ann["onset_s"], atol=1e-6)
    mov = table[table["trial_type"].str.match(r"^(P|C)?LM")]
    ev = rich.events.sort_values("onset_s")
    np.testing.assert_allclose(mov["onset"], ev["onset_s"], atol=1e-6)
    assert list(mov["in_plm_series"].astype(int)) == list(ev["in_plm_series"].astype(int))
    assert list(mov["series_id"].astype(int)) == list(ev["series_id"])
    rls = table[table["trial_type"] == "rls/episode"]
    assert rls["side"].isna().all() and list(rls["duration"]) == [1000.0, 600.0]
    # missing values are n/a, never empty cells
    assert all("\t\t" not in line and not line.endswith("\t") for line in lines)
    side = json.loads(paths["events_json"].read_text())
    assert set(table["trial_type"]) <= set(side["trial_type"]["Levels"])
    assert side["onset"]["Units"] == "s" and side["Provenance"]["input_sha256"] == "ab" * 32


def test_bids_table_of_an_empty_night():
    table = bids_events_table(night_cases.zero_movement_night())
    assert list(table.columns) == list(BIDS_EVENT_COLUMNS) and len(table) == 0


def test_process_outputs_include_both_exports(rich, tmp_path):
    paths = write_night_outputs(rich, tmp_path, report=False)
    for name in ("events.tsv", "events.json", "events_annotations.edf"):
        assert (tmp_path / name).exists(), name
    assert paths["events_edf"] == tmp_path / "events_annotations.edf"
    assert not list(tmp_path.glob(".*.tmp"))
