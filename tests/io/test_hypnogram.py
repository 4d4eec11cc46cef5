import datetime as dt

import pytest

from lmdetect.errors import FormatError
from lmdetect.io.hypnogram import normalise_stage, read_hypnogram

START = dt.datetime(2026, 3, 14, 22, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def test_relative_csv(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("onset_s,duration_s,stage\n0,30,W\n30,30,N1\n60,30,Sleep stage 4\n90,30,REM\n")
    h = read_hypnogram(p, START)
    assert list(h["stage"]) == ["W", "N1", "N3", "R"]
    assert list(h["onset_s"]) == [0, 30, 60, 90]


def test_absolute_csv_is_aligned_to_the_recording(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("start,stage\n2026-03-14T22:31:00+01:00,W\n2026-03-14T21:31:30+00:00,N2\n")
    h = read_hypnogram(p, START)
    assert list(h["onset_s"]) == [60.0, 90.0]


def test_unknown_stage_names_the_line(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("onset_s,duration_s,stage\n0,30,W\n30,30,deep-ish\n")
    with pytest.raises(FormatError, match=r"h\.csv, line 3: unknown sleep stage"):
        read_hypnogram(p, START)


def test_stage_labels():
    assert normalise_stage("SLEEP-S3") == "N3" and normalise_stage("sleep stage r") == "R"
    assert normalise_stage("movement") is None


@pytest.mark.parametrize(
    "saved",
    [
        lambda t: t.replace(",", "\t").encode("utf-16"),  # Excel "Unicode text": UTF-16, tabs
        lambda t: t.replace(",", ";").replace(".5", ",5").encode(),  # Excel CSV, decimal comma
    ],
    ids=["unicode-text", "semicolon-decimal-comma"],
)
def test_hypnogram_as_excel_saves_it(tmp_path, saved):
    p = tmp_path / "h.csv"
    p.write_bytes(saved("onset_s,duration_s,stage\n0,30,W\n30,30,N1\n60.5,30,N2\n"))
    h = read_hypnogram(p, START)
    assert list(h["stage"]) == ["W", "N1", "N2"]
    assert list(h["onset_s"]) == [0.0, 30.0, 60.5]
