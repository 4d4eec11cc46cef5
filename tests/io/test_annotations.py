"""Readers of scored-event files: RemLogic export, NSRR XML, EDF+ annotations, our events.csv.

The example files in tests/data/annotations/ describe one hand-made night (16 epochs from
22:30:00; 12 leg movements; one hypopnea; lights off/on); the EDF+ version is written here with
edfio. All four formats must give the same scoring.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import edfio
import numpy as np
import pandas as pd
import pytest

from lmdetect.errors import FormatError
from lmdetect.io.annotations import (
    detect_format,
    read_edf_annotations,
    read_events_csv,
    read_hypnogram_csv,
    read_nsrr_xml,
    read_remlogic,
    read_scored_events,
)
from lmdetect.io.annotations._labels import classify, side_from_text, stage_from_text
from lmdetect.scoring import WASM2016, score_lms

DATA = Path(__file__).resolve().parents[1] / "data" / "annotations"
REMLOGIC = DATA / "remlogic_example.txt"
NSRR = DATA / "nsrr_example.xml"
EVENTS = DATA / "events_example.csv"
HYPNOGRAM = DATA / "hypnogram_example.csv"

# the night in the example files
LMS = [
    (100.0, 2.0, "left"),
    (120.0, 1.5, "right"),
    (140.0, 2.0, "left"),
    (140.3, 1.0, "right"),
    (160.0, 2.5, "left"),
    (180.0, 2.0, "left"),
    (185.0, 1.0, "right"),
    (205.0, 2.0, "left"),
    (225.0, 2.0, "left"),
    (245.0, 2.0, "left"),
    (300.0, 12.0, "left"),
    (320.0, 0.3, "left"),
]
STAGES = ["W"] * 2 + ["N1"] + ["N2"] * 10 + ["R"] * 2 + ["W"]


def write_edf(path: Path, *, with_start: bool = True) -> Path:
    anns = [edfio.EdfAnnotation(0.0, None, "Lights off"), edfio.EdfAnnotation(480.0, None, "Lights on")]
    for i, st in enumerate(STAGES):
        label = {"W": "Sleep stage W", "N1": "Sleep stage N1", "N2": "Sleep stage 2", "R": "Sleep stage R"}[
            st
        ]
        anns.append(edfio.EdfAnnotation(30.0 * i, 30.0, label))
    for k, (on, du, side) in enumerate(LMS):
        if side == "left":
            text = "Limb movement@@EMG LAT" if k % 2 else "LM/left"
        else:
            text = "LM/right"
        anns.append(edfio.EdfAnnotation(on, du, text))
    # the same movement again under a PLM label: must not be counted twice
    anns.append(edfio.EdfAnnotation(100.0, 2.0, "PLM/left"))
    anns.append(edfio.EdfAnnotation(180.0, 15.0, "Hypopnea"))
    anns.append(edfio.EdfAnnotation(227.3, 4.0, "Arousal"))
    kw = {"starttime": dt.time(22, 30)}
    if with_start:
        kw["recording"] = edfio.Recording(startdate=dt.date(2026, 3, 14))
    edfio.Edf([], annotations=anns, **kw).write(path)
    return path


def expected_lms() -> pd.DataFrame:
    return pd.DataFrame(
        {"onset_s": [r[0] for r in LMS], "duration_s": [r[1] for r in LMS], "side": [r[2] for r in LMS]}
    )


def assert_example_night(ev, *, respiratory=True, stages=True):
    got = ev.lms[["onset_s", "duration_s", "side"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected_lms(), check_dtype=False)
    assert (ev.lms["kind"] == "lm").all()
    if stages:
        assert list(ev.hypnogram["stage"]) == STAGES
        assert list(ev.hypnogram["onset_s"]) == [30.0 * i for i in range(16)]
        assert (ev.hypnogram["duration_s"] == 30.0).all()
    else:
        assert ev.hypnogram is None
    if respiratory:
        assert ev.respiratory.to_dict("list") == {
            "onset_s": [180.0],
            "duration_s": [15.0],
            "kind": ["hypopnea"],
        }
    else:
        assert ev.respiratory is None


def assert_one_arousal(ev):
    assert ev.arousals is not None
    assert ev.arousals["onset_s"].tolist() == pytest.approx([227.3])
    assert ev.arousals["duration_s"].tolist() == pytest.approx([4.0])


# ------------------------------------------------------------------ RemLogic


def test_remlogic_example():
    ev = read_remlogic(REMLOGIC)
    assert ev.source_format == "remlogic"
    assert_example_night(ev)
    assert ev.start == dt.datetime(2026, 3, 14, 22, 30)
    assert (ev.lights_off_s, ev.lights_on_s) == (0.0, 480.0)
    assert ev.ignored == {}
    assert_one_arousal(ev)
    assert ev.time_in_bed() == (0.0, 480.0)


def _remlogic(
    tmp_path: Path,
    rows: list[str],
    header="Sleep Stage\tTime [hh:mm:ss]\tEvent\tDuration[s]\tLocation",
    name="export.txt",
) -> Path:
    p = tmp_path / name
    p.write_text("Patient ID:\tx\nEvents Included:\nPLM-LM\n\n" + header + "\n" + "\n".join(rows) + "\n")
    return p


def test_remlogic_clock_times_roll_over_midnight(tmp_path):
    p = _remlogic(
        tmp_path,
        [
            "N2\tSupine\t23:59:40\tSLEEP-S2\t30\t",
            "N2\tSupine\t23:59:50.5\tPLM-LM\t2\tEMG.Tibialis-Leg.Right",
            "N2\tSupine\t00:00:10\tSLEEP-S2\t30\t",
            "N2\tSupine\t00.00.20\tPLM-LM\t1,5\tTib L",
        ],
        header="Sleep Stage\tPosition\tTime [hh:mm:ss]\tEvent\tDuration [s]\tLocation",
    )
    ev = read_remlogic(p)
    assert ev.start is None  # no date in the file
    assert list(ev.lms["onset_s"]) == [10.5, 40.0]
    assert list(ev.lms["side"]) == ["right", "left"]
    assert list(ev.lms["duration_s"]) == [2.0, 1.5]  # decimal comma accepted
    assert list(ev.hypnogram["onset_s"]) == [0.0, 30.0]


def test_remlogic_bare_plm_event_is_not_a_movement(tmp_path):
    p = _remlogic(
        tmp_path,
        [
            "N2\t2026-03-14T22:00:00\tPLM\t300\tEMG.Tibialis-Leg.Left",
            "N2\t2026-03-14T22:00:05\tPLM-LM\t2\tEMG.Tibialis-Leg.Left",
        ],
    )
    ev = read_remlogic(p)
    assert list(ev.lms["onset_s"]) == [5.0] and ev.ignored == {"PLM": 1}


def test_remlogic_utf16_export(tmp_path):
    text = REMLOGIC.read_text()
    p = tmp_path / "utf16.txt"
    p.write_bytes(text.encode("utf-16"))
    assert_example_night(read_remlogic(p))
    assert detect_format(p) == "remlogic"


@pytest.mark.parametrize(
    ("row", "line", "message"),
    [
        ("N2\t2026-03-14T22:00:00\tPLM-LM", 6, "tab-separated fields"),
        ("N2\tyesterday\tPLM-LM\t2\tx", 6, "unreadable time"),
        ("N2\t25:00:00\tPLM-LM\t2\tx", 6, "invalid clock time"),
        ("N2\t2026-03-14T22:00:00\tPLM-LM\ttwo\tx", 6, "unreadable duration"),
        ("N2\t2026-03-14T22:00:00\tPLM-LM\t\tx", 6, "no duration"),
        ("N2\t2026-03-14T22:00:00\tPLM-LM\t-2\tx", 6, "negative duration"),
    ],
)
def test_remlogic_malformed_rows_name_file_and_line(tmp_path, row, line, message):
    p = _remlogic(tmp_path, [row])
    with pytest.raises(FormatError, match=message) as exc:
        read_remlogic(p)
    assert exc.value.line == line and exc.value.path == str(p)
    assert f"{p}, line {line}" in str(exc.value)


def test_remlogic_mixed_time_formats_are_refused(tmp_path):
    p = _remlogic(tmp_path, ["N2\t22:00:00\tPLM-LM\t2\tx", "N2\t2026-03-14T22:00:20\tPLM-LM\t2\tx"])
    with pytest.raises(FormatError, match="mixes") as exc:
        read_remlogic(p)
    assert exc.value.line == 7


def test_remlogic_without_table_header(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("Patient ID:\tx\nthis is not an export\n")
    with pytest.raises(FormatError, match="Time \\[hh:mm:ss\\]"):
        read_remlogic(p)


# ------------------------------------------------------------------ NSRR XML


def test_nsrr_example():
    ev = read_nsrr_xml(NSRR)
    assert ev.source_format == "nsrr-xml"
    assert_example_night(ev)  # runs of stages are split into 30-s epochs
    assert ev.start == dt.datetime(2026, 3, 14, 22, 30)
    assert ev.ignored == {"SpO2 desaturation|SpO2 desaturation": 1}
    assert_one_arousal(ev)
    assert ev.time_in_bed() == (0.0, 480.0)  # no lights events: the hypnogram's span


def _nsrr(tmp_path: Path, body: str, clock="00.00.00 22.00.00") -> Path:
    p = tmp_path / "scoring.xml"
    p.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<PSGAnnotation>\n<EpochLength>30</EpochLength>\n'
        "<ScoredEvents>\n"
        "<ScoredEvent><EventType/><EventConcept>Recording Start Time</EventConcept><Start>0</Start>"
        f"<ClockTime>{clock}</ClockTime></ScoredEvent>\n{body}\n</ScoredEvents>\n</PSGAnnotation>\n"
    )
    return p


def _ev(concept: str, start: str, duration: str = "2.0") -> str:
    return (
        f"<ScoredEvent>\n<EventType>x|x</EventType>\n<EventConcept>{concept}</EventConcept>\n"
        f"<Start>{start}</Start>\n<Duration>{duration}</Duration>\n</ScoredEvent>"
    )


def test_nsrr_placeholder_date_and_unsure_hypopnea(tmp_path):
    p = _nsrr(
        tmp_path,
        "\n".join(
            [_ev("Periodic leg movement - right|PLM (Right)", "12.5"), _ev("Unsure|Unsure", "40", "12")]
        ),
    )
    ev = read_nsrr_xml(p)
    assert ev.start is None
    assert ev.lms[["onset_s", "side"]].values.tolist() == [[12.5, "right"]]
    assert ev.respiratory["kind"].tolist() == ["hypopnea"]


def test_nsrr_bad_start_names_the_event_line(tmp_path):
    p = _nsrr(
        tmp_path,
        "\n".join(
            [
                _ev("Limb movement - left|Limb Movement (Left)", "10"),
                _ev("Limb movement - left|Limb Movement (Left)", "soon"),
            ]
        ),
    )
    with pytest.raises(FormatError, match="unreadable Start 'soon'") as exc:
        read_nsrr_xml(p)
    assert exc.value.line == 12  # the <ScoredEvent> line of the bad event (lines 6-11: the first)


def test_nsrr_malformed_xml(tmp_path):
    p = tmp_path / "broken.xml"
    p.write_text("<PSGAnnotation>\n<ScoredEvents>\n<ScoredEvent>\n</ScoredEvents>\n")
    with pytest.raises(FormatError, match="malformed XML") as exc:
        read_nsrr_xml(p)
    assert exc.value.line == 4


def test_nsrr_wrong_root_and_doctype(tmp_path):
    p = tmp_path / "other.xml"
    p.write_text("<?xml version='1.0'?>\n<CMPStudyConfig><x/></CMPStudyConfig>\n")
    with pytest.raises(FormatError, match="root element is <CMPStudyConfig>"):
        read_nsrr_xml(p)
    q = tmp_path / "dtd.xml"
    q.write_text('<?xml version="1.0"?>\n<!DOCTYPE PSGAnnotation [<!ENTITY a "aaaa">]>\n<PSGAnnotation/>\n')
    with pytest.raises(FormatError, match="DOCTYPE"):
        read_nsrr_xml(q)


# ------------------------------------------------------------------ EDF+


def test_edf_annotations(tmp_path):
    ev = read_edf_annotations(write_edf(tmp_path / "night.edf"))
    assert ev.source_format == "edf+"
    assert_example_night(ev)  # includes: the duplicate PLM/left at 100 s is dropped
    assert ev.start == dt.datetime(2026, 3, 14, 22, 30)
    assert (ev.lights_off_s, ev.lights_on_s) == (0.0, 480.0)
    assert ev.ignored == {}
    assert_one_arousal(ev)


def test_edf_with_our_export_vocabulary(tmp_path):
    # labels of lmdetect's own EDF+ export (lmdetect.io.event_labels): PLM/CLM/LM with side,
    # movement/posture and movement/gross (never CLMs), lights_off/lights_on, rls and pad events
    anns = [
        ("lights_off", 0.0, None),
        ("PLM/left", 10.0, 2.0),
        ("CLM/both", 30.0, 3.0),
        ("LM", 50.0, 12.0),
        ("movement/posture", 70.0, 4.0),
        ("movement/gross", 90.0, 6.0),
        ("rls/episode", 5.0, 300.0),
        ("device/vibration_pad/log", 100.0, 1800.0),
        ("lights_on", 2000.0, None),
    ]
    p = tmp_path / "export.edf"
    edfio.Edf([], annotations=[edfio.EdfAnnotation(on, du, t) for t, on, du in anns]).write(p)
    ev = read_edf_annotations(p)
    assert ev.lms[["onset_s", "side", "kind"]].values.tolist() == [
        [10.0, "left", "lm"],
        [30.0, "both", "lm"],
        [50.0, "unknown", "lm"],
        [70.0, "unknown", "posture"],
        [90.0, "unknown", "gross"],
    ]
    assert (ev.lights_off_s, ev.lights_on_s) == (0.0, 2000.0)
    assert ev.ignored == {"rls/episode": 1, "device/vibration_pad/log": 1}
    scored = score_lms(ev.lms)
    assert list(scored["is_clm"]) == [True, True, False, False, False]


def test_edf_without_date_has_no_start(tmp_path):
    ev = read_edf_annotations(write_edf(tmp_path / "anon.edf", with_start=False))
    assert ev.start is None and len(ev.lms) == len(LMS)


def test_edf_garbage_is_a_format_error(tmp_path):
    p = tmp_path / "bad.edf"
    p.write_bytes(b"0       " + b"\x00" * 100)
    with pytest.raises(FormatError, match="not a readable EDF"):
        read_edf_annotations(p)


# ------------------------------------------------------------------ events CSV


def test_events_csv_example():
    ev = read_events_csv(EVENTS)
    assert ev.source_format == "events-csv" and ev.start is None
    assert_example_night(ev, respiratory=False, stages=False)
    assert ev.lms["amplitude_mg"].iloc[0] == 130.0


def test_events_csv_reads_back_scored_output(tmp_path):
    scored = score_lms(read_events_csv(EVENTS).lms)
    p = tmp_path / "events.csv"
    scored.to_csv(p, index=False)
    again = read_events_csv(p).lms
    assert list(again["side"]) == list(scored["side"]) and list(again["n_mono"]) == list(scored["n_mono"])
    assert list(again["kind"]) == list(scored["kind"])


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("onset_s,side\n1,left\n", 1, "duration_s"),
        ("onset_s,duration_s\n1,2\n3\n", 3, "expected 2 fields"),
        ("onset_s,duration_s\n1,2\nx,2\n", 3, "onset_s is not a number"),
        ("onset_s,duration_s\n1,\n", 2, "empty duration_s"),
        ("onset_s,duration_s,side\n1,2,middle\n", 2, "invalid side"),
        ("onset_s,duration_s,kind\n1,2,kick\n", 2, "invalid kind"),
        ("onset_s,duration_s\n1,inf\n", 2, "finite"),
        ("onset_s,duration_s,side,n_mono\n1,2,both,1.5\n", 2, "n_mono"),
        ("onset_s,duration_s,stage\n0,30,W\n", 1, "looks like a hypnogram"),
    ],
)
def test_events_csv_errors_name_the_line(tmp_path, text, line, message):
    p = tmp_path / "events.csv"
    p.write_text(text)
    with pytest.raises(FormatError, match=message) as exc:
        read_events_csv(p)
    assert exc.value.line == line


def test_hypnogram_csv(tmp_path):
    h = read_hypnogram_csv(HYPNOGRAM)
    assert list(h["stage"]) == STAGES
    p = tmp_path / "h.csv"
    p.write_text("onset_s,duration_s,stage\n0,30,Sleep stage 2\n30,30,?\n60,30,N3\n")
    assert read_hypnogram_csv(p).to_dict("list") == {
        "onset_s": [0.0, 60.0],
        "duration_s": [30.0, 30.0],
        "stage": ["N2", "N3"],
    }
    p.write_text("onset_s,duration_s,stage\n0,-30,W\n")
    with pytest.raises(FormatError, match="negative") as exc:
        read_hypnogram_csv(p)
    assert exc.value.line == 2


# ------------------------------------------------------------------ dispatch and cross-format agreement


def test_detect_format(tmp_path):
    assert detect_format(REMLOGIC) == "remlogic"
    assert detect_format(NSRR) == "nsrr-xml"
    assert detect_format(EVENTS) == "events-csv"
    assert detect_format(write_edf(tmp_path / "n.edf")) == "edf+"
    other = tmp_path / "other.txt"
    other.write_text("hello\n")
    with pytest.raises(FormatError, match="not a recognised scored-event file"):
        detect_format(other)
    with pytest.raises(FormatError, match="file not found"):
        read_scored_events(tmp_path / "missing.xml")
    with pytest.raises(FormatError, match="unknown scored-event format"):
        read_scored_events(REMLOGIC, "somnomedics")


def test_all_formats_score_the_same(tmp_path):
    edf = write_edf(tmp_path / "night.edf")
    tables = []
    for path in (REMLOGIC, NSRR, edf):
        ev = read_scored_events(path)
        tables.append(score_lms(ev.lms, WASM2016(), hypnogram=ev.hypnogram, respiratory=ev.respiratory))
    for t in tables[1:]:
        pd.testing.assert_frame_equal(tables[0], t)
    ev = read_scored_events(EVENTS)
    from_csv = score_lms(
        ev.lms, WASM2016(), hypnogram=read_hypnogram_csv(HYPNOGRAM), respiratory=ev.respiratory
    )
    no_resp = score_lms(read_scored_events(REMLOGIC).lms, WASM2016(), hypnogram=read_hypnogram_csv(HYPNOGRAM))
    cols = ["onset_s", "duration_s", "side", "is_clm", "in_plm_series", "series_id", "stage"]
    pd.testing.assert_frame_equal(from_csv[cols], no_resp[cols])
    # the night as designed: two WASM series, the long movement breaks, the 0.3-s movement dropped
    s = tables[0]
    assert list(s.loc[s["in_plm_series"], "onset_s"]) == [100, 120, 140, 160, 180, 185, 205, 225, 245]
    assert list(s["series_id"][:9]) == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert np.isclose(s["onset_s"], 320.0).sum() == 0


def test_unknown_labels_are_counted_in_a_log_message(caplog):
    with caplog.at_level(logging.INFO, logger="lmdetect.io.annotations"):
        read_nsrr_xml(NSRR)
    assert any(
        "ignored 1 event(s)" in r.getMessage() and "SpO2 desaturation" in r.getMessage()
        for r in caplog.records
    )


# ------------------------------------------------------------------ label vocabulary


@pytest.mark.parametrize(
    ("label", "channel", "category", "value"),
    [
        ("LM/left", "", "lm", "left"),
        ("lm:right", "", "lm", "right"),
        ("LM/both", "", "lm", "both"),
        ("Limb movement", "EMG LAT", "lm", "left"),
        ("Limb movement", "EMG RAT", "lm", "right"),
        ("LM", "", "lm", "unknown"),
        ("PLM-LM", "EMG.Tibialis-Leg.Right", "lm", "right"),
        ("Periodic leg movement - left|PLM (Left)", "", "lm", "left"),
        ("Limb movement - right|Limb Movement (Right)", "", "lm", "right"),
        ("Sleep stage W", "", "stage", "W"),
        ("Sleep stage 4", "", "stage", "N3"),
        ("Stage 2 sleep|2", "", "stage", "N2"),
        ("REM sleep|5", "", "stage", "R"),
        ("Wake|0", "", "stage", "W"),
        ("SLEEP-S0", "", "stage", "W"),
        ("SLEEP-REM", "", "stage", "R"),
        ("N1", "", "stage", "N1"),
        ("APNEA-CENTRAL", "", "respiratory", "apnea"),
        ("Obstructive apnea|Obstructive Apnea", "", "respiratory", "apnea"),
        ("HYPOPNEA-OBSTRUCTIVE", "", "respiratory", "hypopnea"),
        ("Respiratory effort related arousal|RERA", "", "respiratory", "rera"),
        ("AROUSAL-SPONT", "EEG.C3-M2", "arousal", ""),
        ("ASDA arousal|Arousal (ASDA)", "", "arousal", ""),
        ("Arousal resulting from respiratory effort|Arousal (RESP)", "", "arousal", ""),
        # arousals that name a leg movement are arousals, not LMs
        ("Arousal resulting from periodic leg movement|Arousal (PLM)", "", "arousal", ""),
        ("Arousal (ARO Limb)", "", "arousal", ""),
        # leg channels as RemLogic and other PSG systems name them
        ("PLM-LM", "LAntib1-LAntib2", "lm", "left"),
        ("PLM-LM", "RAntib1-RAntib2", "lm", "right"),
        ("PLM-LM", "LAT1-LAT2", "lm", "left"),
        ("PLM-LM", "EMG RAT", "lm", "right"),
        ("LM", "TIB-L", "lm", "left"),
        ("LM", "Tibialis Right", "lm", "right"),
        ("LM", "LLeg1-LLeg2", "lm", "left"),
        ("LM", "Leg.Right", "lm", "right"),
        # arousals named by their cause are arousals, not respiratory events
        ("AROUSAL-APNEA", "EEG.C3-M2", "arousal", ""),
        ("AROUSAL-HYPOPNEA", "EEG.C3-M2", "arousal", ""),
        ("AROUSAL-RERA", "EEG.C3-M2", "arousal", "rera"),
        ("RERA", "Flow", "respiratory", "rera"),
        ("Lights off", "EEG F4-A1", "lights_off", ""),
        ("LIGHTS-ON", "", "lights_on", ""),
        ("lights_off", "", "lights_off", ""),
        ("movement/posture", "", "lm", "unknown"),
    ],
)
def test_label_vocabulary(label, channel, category, value):
    got = classify(label, channel)
    assert got is not None and (got.category, got.value) == (category, value)
    if category == "lm":
        assert got.kind == ("posture" if "posture" in label else "lm")


@pytest.mark.parametrize(
    "label",
    [
        "SpO2 desaturation",
        "Sleep stage ?",
        "SLEEP-MT",
        "Movement|6",
        "2",
        "Unscored|9",
        "",
        "Technician notes",
    ],
)
def test_labels_not_used(label):
    assert classify(label) is None


@pytest.mark.parametrize(
    ("text", "side"),
    [
        ("LAntib1-LAntib2", "left"),
        ("RAntib1-RAntib2", "right"),
        ("L Antib", "left"),
        ("R-Antib", "right"),
        ("EMG LAT", "left"),
        ("RAT", "right"),
        ("LTIB", "left"),
        ("Tib R", "right"),
        ("tibialis left", "left"),
        ("EMG.Tibialis-Leg.Left", "left"),
        ("EMG.Tibialis-Leg.Right", "right"),
        ("-Left", "left"),
        (".Right", "right"),
        ("Leg/L", "left"),
        ("LM-R", "right"),
        ("TA-L", "left"),
        ("Left and right", "both"),
        ("EMG1-EMG2", "unknown"),
        ("Tibialis", "unknown"),
        ("EEG.C3-M2", "unknown"),
        ("EMG.Chin", "unknown"),
        ("Flow", "unknown"),
        ("SpO2", "unknown"),
    ],
)
def test_leg_channel_names(text, side):
    assert side_from_text(text) == side


def test_lm_on_a_channel_naming_no_leg_keeps_the_channel():
    assert classify("PLM-LM", "EMG1-EMG2").unmapped_channel == "EMG1-EMG2"
    assert classify("PLM-LM", "LAntib1-LAntib2").unmapped_channel == ""
    assert classify("LM", "").unmapped_channel == ""  # no channel at all: a one-sensor scoring


def test_remlogic_lantib_legs_are_left_and_right(tmp_path):
    p = _remlogic(
        tmp_path,
        [
            "N2\t2026-03-14T23:00:00.000000\tPLM-LM\t2\tLAntib1-LAntib2",
            "N2\t2026-03-14T23:00:01.000000\tPLM-LM\t2\tRAntib1-RAntib2",
        ],
    )
    ev = read_remlogic(p)
    assert ev.lms["side"].tolist() == ["left", "right"] and ev.warnings == ()
    s = score_lms(ev.lms, WASM2016())
    assert s["side"].tolist() == ["both"] and s["n_mono"].tolist() == [2]


def test_remlogic_lms_on_unknown_channels_give_a_warning(tmp_path, caplog):
    p = _remlogic(
        tmp_path,
        [
            "N2\t2026-03-14T23:00:00.000000\tPLM-LM\t2\tEMG1-EMG2",
            "N2\t2026-03-14T23:00:20.000000\tPLM-LM\t2\tEMG1-EMG2",
            "N2\t2026-03-14T23:00:40.000000\tPLM-LM\t2\tLAntib1-LAntib2",
        ],
    )
    with caplog.at_level(logging.WARNING, logger="lmdetect.io.annotations"):
        ev = read_remlogic(p)
    assert ev.lms["side"].tolist() == ["unknown", "unknown", "left"]
    assert len(ev.warnings) == 1 and "2 leg-movement event(s)" in ev.warnings[0]
    assert "'EMG1-EMG2'" in ev.warnings[0]
    assert any("EMG1-EMG2" in r.getMessage() for r in caplog.records)


def test_remlogic_arousal_labels(tmp_path):
    p = _remlogic(
        tmp_path,
        [
            "N2\t2026-03-14T23:00:00.000000\tAPNEA-OBSTRUCTIVE\t20\tFlow",
            "N2\t2026-03-14T23:00:19.500000\tAROUSAL-APNEA\t5.5\tEEG.C3-M2",
            "N2\t2026-03-14T23:01:00.000000\tHYPOPNEA\t15\tFlow",
            "N2\t2026-03-14T23:01:14.000000\tAROUSAL-HYPOPNEA\t4\tEEG.C3-M2",
            "N2\t2026-03-14T23:02:00.000000\tAROUSAL-RERA\t6\tEEG.C3-M2",
        ],
    )
    ev = read_remlogic(p)
    # the apnea and hypopnea once each; AROUSAL-RERA adds the RERA it ends (duration 0 at its onset)
    assert ev.respiratory.to_dict("list") == {
        "onset_s": [0.0, 60.0, 120.0],
        "duration_s": [20.0, 15.0, 0.0],
        "kind": ["apnea", "hypopnea", "rera"],
    }
    assert ev.arousals.to_dict("list") == {"onset_s": [19.5, 74.0, 120.0], "duration_s": [5.5, 4.0, 6.0]}


def test_time_in_bed_is_clipped_to_the_scored_epochs(tmp_path):
    p = _remlogic(
        tmp_path,
        [
            "\t2026-03-14T23:00:00.000000\tLIGHTS-OFF\t0\t",
            "W\t2026-03-14T23:05:00.000000\tSLEEP-S0\t30\t",
            "N2\t2026-03-14T23:05:30.000000\tSLEEP-S2\t30\t",
            "\t2026-03-14T23:10:00.000000\tLIGHTS-ON\t0\t",
        ],
    )
    assert read_remlogic(p).time_in_bed() == (300.0, 360.0)
    q = _remlogic(
        tmp_path,
        ["W\t2026-03-14T23:05:00.000000\tSLEEP-S0\t30\t", "\t2026-03-14T23:00:00.000000\tLIGHTS-ON\t0\t"],
        name="on_before_epochs.txt",
    )
    with pytest.raises(FormatError, match="before it starts"):
        read_remlogic(q).time_in_bed()


def test_side_and_stage_helpers():
    assert side_from_text("EMG.Tibialis-Leg.Left") == "left"
    assert side_from_text("Left and right") == "both"
    assert side_from_text("Chin") == "unknown"
    assert stage_from_text("sleep stage 3") == "N3" and stage_from_text("3") is None


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_events_csv_saved_by_excel_with_tabs_or_semicolons(tmp_path, sep):
    text = EVENTS.read_text(encoding="utf-8")
    header, *rows = [line for line in text.splitlines() if line]
    assert '"' not in text  # the example has no quoted cells, so separators can be swapped safely
    p = tmp_path / "events.csv"
    p.write_bytes((sep.join(header.split(",")) + "\n" + "".join(sep.join(r.split(",")) + "\n" for r in rows)).encode("utf-16"))
    again, ref = read_events_csv(p).lms, read_events_csv(EVENTS).lms
    assert list(again["onset_s"]) == list(ref["onset_s"]) and list(again["side"]) == list(ref["side"])
    assert detect_format(p) == "events-csv" and read_scored_events(p).lms["onset_s"].tolist() == ref["onset_s"].tolist()
