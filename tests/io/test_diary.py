import pandas as pd
import pytest

from lmdetect.errors import FormatError
from lmdetect.io.diary import read_diary, read_pad_log


def test_diary_rows_parse(tmp_path):
    p = tmp_path / "diary.csv"
    p.write_text(
        "kind,start,end,severity,note\n"
        "lights_off,2026-03-14T22:41:00+01:00,,,\n"
        "rls_episode,2026-03-14T22:45:00+01:00,2026-03-14T23:10:00+01:00,6,restless\n"
        "lights_on,2026-03-15T06:20:00+01:00,,,\n"
    )
    d = read_diary(p)
    assert list(d["kind"]) == ["lights_off", "rls_episode", "lights_on"]
    assert d["severity"].iloc[1] == 6 and str(d["start"].iloc[0].tz) == "UTC+01:00"


def test_diary_sleep_onset_and_final_awakening_are_start_only_rows(tmp_path):
    p = tmp_path / "diary.csv"
    p.write_text(
        "kind,start,end,severity,note\n"
        "lights_off,2026-03-14T22:40:00+01:00,,,\n"
        "final_awakening,2026-03-15T06:05:00+01:00,,,\n"
        "sleep_onset,2026-03-14T23:20:00+01:00,,,\n"
        "lights_on,2026-03-15T06:20:00+01:00,,,\n"
    )
    d = read_diary(p)
    assert list(d["kind"]) == ["lights_off", "sleep_onset", "final_awakening", "lights_on"]
    assert d["end"].isna().all() and d["severity"].isna().all()


@pytest.mark.parametrize(
    "row,msg",
    [
        ("rls_episode,2026-03-14T22:45:00+01:00,2026-03-14T22:40:00+01:00,6,", "not after start"),
        ("rls_episode,2026-03-14T22:45:00,2026-03-14T23:40:00+01:00,6,", "no UTC offset"),
        ("rls_episode,2026-03-14T22:45:00+01:00,2026-03-14T23:40:00+01:00,11,", "outside 0-10"),
        ("nap,2026-03-14T22:45:00+01:00,,,", "is not one of"),
    ],
)
def test_malformed_diary_row_names_file_and_line(tmp_path, row, msg):
    p = tmp_path / "d.csv"
    p.write_text("kind,start,end,severity,note\nlights_off,2026-03-14T22:41:00+01:00,,,\n" + row + "\n")
    with pytest.raises(FormatError, match=rf"d\.csv, line 3: .*{msg}"):
        read_diary(p)


def test_pad_log(tmp_path):
    p = tmp_path / "pad.csv"
    p.write_text("start,end,intensity\n2026-03-14T22:50:00+01:00,2026-03-14T23:25:00+01:00,5\n")
    d = read_pad_log(p)
    assert len(d) == 1 and d["intensity"].iloc[0] == 5
    p.write_text("start,end,intensity\n2026-03-14T22:50:00+01:00,soon,5\n")
    with pytest.raises(FormatError, match="pad.csv, line 2"):
        read_pad_log(p)


def test_final_awakening_before_sleep_onset_names_file_and_line(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text(
        "kind,start,end,severity,note\n"
        "sleep_onset,2026-03-14T23:20:00+01:00,,,\n"
        "final_awakening,2026-03-14T23:00:00+01:00,,,\n"
    )
    with pytest.raises(FormatError, match=r"d\.csv, line 3: final_awakening is not after the sleep_onset of line 2"):
        read_diary(p)


_DIARY = (
    "kind,start,end,severity,note\r\n"
    "lights_off,2026-03-14T22:41:00+01:00,,,\r\n"
    'rls_episode,2026-03-14T22:45:00+01:00,2026-03-14T23:10:00+01:00,6,"Kribbeln, Müdigkeit"\r\n'
    "lights_on,2026-03-15T06:20:00+01:00,,,\r\n"
)


@pytest.mark.parametrize(
    "as_saved",
    [
        # Excel "Unicode text": UTF-16 with BOM, tab-separated
        lambda t: t.replace(",", "\t").replace('"Kribbeln\t Müdigkeit"', "Kribbeln, Müdigkeit").encode("utf-16"),
        # Excel "CSV" where the decimal mark is a comma: semicolons
        lambda t: t.replace(",", ";").replace('"Kribbeln; Müdigkeit"', '"Kribbeln, Müdigkeit"').encode("utf-8-sig"),
        lambda t: t.encode("utf-16"),  # UTF-16 with BOM, comma-separated
    ],
    ids=["excel-unicode-text", "excel-csv-semicolon", "utf16-comma"],
)
def test_diary_and_pad_log_as_excel_saves_them(tmp_path, as_saved):
    p = tmp_path / "diary.csv"
    p.write_bytes(as_saved(_DIARY))
    d = read_diary(p)
    assert list(d["kind"]) == ["lights_off", "rls_episode", "lights_on"]
    assert d["severity"].iloc[1] == 6 and d["note"].iloc[1] == "Kribbeln, Müdigkeit"
    pad = tmp_path / "pad.csv"
    pad.write_bytes(as_saved("start,end,intensity\r\n2026-03-14T22:50:00+01:00,2026-03-14T23:25:00+01:00,5\r\n"))
    assert read_pad_log(pad)["intensity"].tolist() == [5]


def test_diary_intervention_rows_period_time_and_date(tmp_path):
    p = tmp_path / "diary.csv"
    p.write_text(
        "kind,start,end,severity,note,name,dose\n"
        "intervention,2026-03-10,,,,iron_infusion,1000 mg\n"
        "intervention,2026-03-14T22:30:00+01:00,2026-03-15T06:10:00+01:00,,on/off,Foot_Wrap,\n"
        "lights_off,2026-03-14T22:41:00+01:00,,,,,\n"
        "intervention,2026-03-14T21:00:00+01:00,,,,ropinirole,0.25 mg\n"
    )
    d = read_diary(p)
    assert list(d["name"]) == ["ropinirole", "foot_wrap", "", "iron_infusion"]
    assert d["dose"].iloc[0] == "0.25 mg" and d["end"].isna().iloc[0]
    assert d["end"].iloc[1] > d["start"].iloc[1]
    last = d.iloc[-1]
    assert last["kind"] == "intervention" and last["start"] is pd.NaT and str(last["date"]) == "2026-03-10"


@pytest.mark.parametrize(
    "row,msg",
    [
        ("intervention,2026-03-14T21:00:00+01:00,,,,,0.25 mg", "needs a name"),
        ("intervention,2026-03-14T21:00:00+01:00,,,,foot wrap,", "lower-case letters"),
        ("intervention,2026-03-14T21:00:00+01:00,,,,ropinirole,a lot", "not a number and a unit"),
        ("intervention,2026-03-14T22:00:00+01:00,2026-03-14T21:00:00+01:00,,,foot_wrap,", "not after start"),
        ("intervention,2026-03-10,2026-03-11,,,iron_infusion,", "takes no end"),
        ("intervention,2026-02-30,,,,iron_infusion,", "not a valid date"),
        ("intervention,2026-03-14T21:00:00,,,,ropinirole,", "no UTC offset"),
    ],
)
def test_diary_bad_intervention_rows_name_file_and_line(tmp_path, row, msg):
    p = tmp_path / "diary.csv"
    p.write_text("kind,start,end,severity,note,name,dose\nlights_off,2026-03-14T22:41:00+01:00,,,,,\n" + row + "\n")
    with pytest.raises(FormatError, match=msg) as info:
        read_diary(p)
    assert "diary.csv" in str(info.value) and "line 3" in str(info.value)
