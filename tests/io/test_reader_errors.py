"""The one error path of the readers and the plausibility limits (docs/format.md, "Errors and
plausibility limits"): each case is an input that once ended in a traceback, a hang, a
multi-gigabyte allocation or a silently accepted impossible value."""

from __future__ import annotations

import dataclasses
import logging
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lmdetect.errors import FormatError, LmdetectError
from lmdetect.io import read_recording, write_recording
from lmdetect.io._guard import MAX_ABS_G, check_recording, guarded
from lmdetect.io.annotations import read_scored_events
from lmdetect.io.diary import read_diary, read_pad_log
from lmdetect.model import Recording
from tests.fuzz.corpus import DATA, START, small_night

ROOT = Path(__file__).resolve().parents[2]

DIARY = (
    "kind,start,end,severity,note\n"
    "rls_episode,2026-03-28T23:05:00+01:00,2026-03-28T23:20:00+01:00,6,Unruhe in den Beinen \u00e4\u00f6\n"
    "sleep_onset,2026-03-28T23:30:00+01:00,,,\n"
)


def _one_line_naming(exc: pytest.ExceptionInfo[BaseException], name: str) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and name in msg, msg
    return msg


# --------------------------------------------------------------------------- file types
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "night.cwa"
    os.mkfifo(fifo)
    proc = subprocess.run(
        [sys.executable, "-m", "lmdetect", "info", str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,  # opening a FIFO for reading blocks until a writer appears
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert proc.returncode == 2, proc.stderr
    assert "night.cwa: is a FIFO (named pipe), not a regular file" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("name", ["night.edf", "night.lmr", "night.csv", "diary.csv"])
def test_a_directory_is_refused(tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    folder.mkdir()
    reader = read_diary if name == "diary.csv" else read_recording
    with pytest.raises(FormatError, match=f"{name}: is a directory, not a regular file"):
        reader(folder)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"gone\.cwa: file not found"):
        read_recording(tmp_path / "gone.cwa")


# ---------------------------------------------------------------------------------- CSV
def test_csv_cell_1e308_is_refused_with_its_line(tmp_path: Path) -> None:
    """float32 turns 1e308 into inf; the night then scored 0 LMs with exit 0."""
    p = tmp_path / "night.csv"
    write_recording(small_night(), p)
    lines = p.read_text().splitlines()
    cells = lines[5].split(",")
    cells[1] = "1e308"
    lines[5] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match=r"night\.csv, line 6: value 1e\+308 g is impossible .* column 'x'"):
        read_recording(p)


def test_csv_that_is_not_utf8_is_refused_with_its_byte(tmp_path: Path) -> None:
    p = tmp_path / "night.csv"
    write_recording(small_night(), p)
    data = bytearray(p.read_bytes())
    at = data.index(b"\n", 200) + 3
    data[at : at + 1] = b"\xe9"
    p.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=rf"night\.csv, byte {at}: not UTF-8 text"):
        read_recording(p)
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(p.read_text("utf-8", "replace").encode("utf-16"))
    with pytest.raises(FormatError, match="UTF-16 text; save the recording as a UTF-8 CSV"):
        read_recording(utf16)


# ---------------------------------------------------------------------- diary / pad log
@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "utf-8"])
def test_diary_saved_by_excel_is_read(tmp_path: Path, encoding: str) -> None:
    p = tmp_path / "diary.csv"
    p.write_bytes(DIARY.replace("\n", "\r\n").encode(encoding))
    table = read_diary(p)
    assert list(table["kind"]) == ["rls_episode", "sleep_onset"]
    assert table["note"][0].endswith("\u00e4\u00f6")


def test_diary_and_pad_log_in_another_encoding_are_refused_clearly(tmp_path: Path) -> None:
    p = tmp_path / "diary.csv"
    p.write_bytes(DIARY.encode("cp1252"))
    with pytest.raises(FormatError, match=r"diary\.csv, byte \d+: not UTF-8 text .*save the file as UTF-8"):
        read_diary(p)
    pads = tmp_path / "pads.csv"
    pads.write_bytes(b"start,end,intensity\n2026-03-28T23:10:00+01:00,2026-03-28T23:40:00+01:00,5\x96\n")
    with pytest.raises(FormatError, match=r"pads\.csv, byte \d+: not UTF-8 text"):
        read_pad_log(pads)
    utf16_no_bom = tmp_path / "nobom.csv"
    utf16_no_bom.write_bytes(DIARY.encode("utf-16-le"))
    with pytest.raises(FormatError, match=r"nobom\.csv"):
        read_diary(utf16_no_bom)


# ---------------------------------------------------------------------------------- EDF
@pytest.fixture
def edf_file(tmp_path: Path) -> Path:
    pytest.importorskip("edfio")
    p = tmp_path / "night.edf"
    write_recording(small_night(), p)
    return p


def test_edf_with_undecodable_annotation_text(edf_file: Path) -> None:
    data = bytearray(edf_file.read_bytes())
    at = data.index(b"recording/gap")
    data[at : at + 2] = b"\xff\xfe"  # EDF+ annotation texts are UTF-8
    edf_file.write_bytes(bytes(data))
    with pytest.raises(FormatError) as exc:
        read_recording(edf_file)
    _one_line_naming(exc, "night.edf")


def test_edf_with_an_absurd_record_duration_is_refused_before_use(edf_file: Path) -> None:
    """A record duration of 42949672 s made the night a 9.6 GiB grid."""
    data = bytearray(edf_file.read_bytes())
    data[244:252] = b"42949672"
    edf_file.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"night\.edf: sampling rate .* Hz is implausible"):
        read_recording(edf_file)


def test_edf_repairs_are_logged_not_raised(edf_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = bytearray(edf_file.read_bytes())
    data[236:244] = b"1       "  # the record count disagrees with the file size
    edf_file.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        rec = read_recording(edf_file)
    assert rec.n_samples > 0
    assert "night.edf" in caplog.text and "data records" in caplog.text


@pytest.mark.parametrize("device_id", ["D" * 60, "Sens\u00f6r-\u00dcnit 7 links", "\u4f20\u611f\u5668"])
def test_edf_writers_fit_any_device_id(
    tmp_path: Path, device_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("edfio")
    from lmdetect.io.edf_annotations import write_edf_annotations

    p = tmp_path / "night.edf"
    with caplog.at_level(logging.WARNING):
        write_recording(dataclasses.replace(small_night(), device_id=device_id), p)
        table = pd.DataFrame({"onset_s": [1.0], "duration_s": [1.0], "label": ["LM"]})
        write_edf_annotations(tmp_path / "events.edf", table, START, equipment=device_id)
    back = read_recording(p).device_id
    assert back.isascii() and len(back) <= 54
    assert "written to the EDF header as" in caplog.text
    if device_id.startswith("Sens"):
        assert back == "Sensor-Unit_7_links"


# ---------------------------------------------------------------------------------- .lmr
def _lmr_with(tmp_path: Path, key: str, old: bytes, new: bytes) -> Path:
    p = tmp_path / "night.lmr"
    write_recording(small_night(), p)
    data = p.read_bytes()
    assert len(old) == len(new)
    at = data.index(old, data.index(key.encode()) - 64)
    p.write_bytes(data[:at] + new + data[at + len(old) :])
    return p


def test_lmr_corrupt_tick_rate_is_refused(tmp_path: Path) -> None:
    """tick_hz 1e6 -> 99 stretched 40 s of samples over days (a 3.35 GiB grid for a night)."""
    p = _lmr_with(tmp_path, "lmr.tick_hz", b"1000000.0", b"99.000000")
    with pytest.raises(FormatError, match=r"night\.lmr: .* spread over .* days: a corrupt timestamp"):
        read_recording(p)


def test_lmr_corrupt_scale_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "night.lmr"
    write_recording(small_night(), p)
    data = p.read_bytes()
    i = data.index(b"lmr.scale_g")
    # the value string precedes its key in the stored metadata
    j = data.rindex(b"\x00", 0, i - 8)
    value = data[j + 1 : i].split(b"\x00")[0]
    assert float(value) > 0
    bigger = str(float(value) * 1e5).encode()[: len(value)].ljust(len(value), b"0")
    p.write_bytes(data.replace(value, bigger, 1))
    with pytest.raises(
        FormatError, match=r"night\.lmr: sample \d+ .* impossible \(the declared range is \+-8 g\)"
    ):
        read_recording(p)


# --------------------------------------------------------------------------------- gt3x
def _gt3x_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "night.gt3x"
    dst.write_bytes((DATA / "readers" / "actigraph_neo_ism.gt3x").read_bytes())
    return dst


def test_gt3x_damaged_deflate_stream(tmp_path: Path) -> None:
    p = _gt3x_copy(tmp_path)
    zf = zipfile.ZipFile(p)
    info = zf.getinfo("log.bin")
    zf.close()
    data = bytearray(p.read_bytes())
    body = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for k in range(body + 10, body + 40):
        data[k] ^= 0x5A
    p.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"night\.gt3x: log\.bin cannot be extracted \(damaged archive\)"):
        read_recording(p)


def test_gt3x_absurd_declared_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lmdetect.io.gt3x as gt3x

    monkeypatch.setattr(gt3x, "MAX_LOG_BYTES", 1000)
    with pytest.raises(FormatError, match=r"night\.gt3x: log\.bin declares \d+ bytes, more than 1000"):
        read_recording(_gt3x_copy(tmp_path))


# ------------------------------------------------------------------------- BIDS-motion
@pytest.mark.parametrize(
    ("suffix", "content", "match"),
    [
        ("_motion.json", b"\xff\xfe{\x00", r"_motion\.json, byte 0: not UTF-8 text"),
        ("_motion.json", b'{"SamplingFrequency": "fast"}', r"_motion\.json: SamplingFrequency must be"),
        ("_channels.tsv", b"", r"_channels\.tsv: not a readable TSV table"),
    ],
)
def test_bids_motion_bad_sidecars_are_named(tmp_path: Path, suffix: str, content: bytes, match: str) -> None:
    p = tmp_path / "sub-01_task-sleep_tracksys-IMU_motion.tsv"
    write_recording(small_night(), p)
    side = next(q for q in tmp_path.iterdir() if q.name.endswith(suffix))
    side.write_bytes(content)
    with pytest.raises(FormatError, match=match):
        read_recording(p)


# ----------------------------------------------------------------------- scored events
def test_scored_event_with_an_absurd_duration_is_refused(tmp_path: Path) -> None:
    """A stage lasting 1e12 s was split into 3e10 epochs in memory."""
    p = tmp_path / "events.csv"
    p.write_text("onset_s,duration_s,side,kind\n0,1,left,lm\n30,1e12,left,lm\n")
    q = tmp_path / "scored.xml"
    xml = (DATA / "annotations" / "nsrr_example.xml").read_text()
    q.write_text(xml.replace("<Duration>30.0</Duration>", "<Duration>1e12</Duration>", 1))
    assert q.read_text() != xml
    with pytest.raises(FormatError, match=r"scored\.xml, line \d+: event .* beyond 7 days"):
        read_scored_events(q)
    with pytest.raises(FormatError, match=r"events\.csv, line 3: event .* beyond 7 days"):
        read_scored_events(p)


# -------------------------------------------------------------------------------- CWA
def test_cwa_unknown_zone_in_file_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    p = tmp_path / "night.cwa"
    write_recording(small_night(), p)
    data = p.read_bytes()
    p.write_bytes(data.replace(b"Europe%2FBerlin", b"Europe%2FBerlix", 1))
    assert p.read_bytes() != data
    with caplog.at_level(logging.WARNING):
        rec = read_recording(p)
    assert rec.start.utcoffset() is not None
    assert "unknown time zone 'Europe/Berlix'" in caplog.text


# -------------------------------------------------------------------------- the guard
def test_library_errors_become_format_errors_naming_the_file(tmp_path: Path) -> None:
    p = tmp_path / "x.bin"
    p.write_bytes(b"abc")

    @guarded("test")
    def reader(path: Path) -> None:
        struct.unpack("<I", path.read_bytes())

    with pytest.raises(FormatError, match=r"x\.bin: not a readable test file \(error: unpack requires"):
        reader(p)

    @guarded("test")
    def builds_a_bad_recording(path: Path) -> Recording:
        return Recording(np.zeros((2, 3), np.float32), np.array([1.0, 1.0]), 50.0, START)

    with pytest.raises(FormatError, match=r"x\.bin: time_s must be strictly increasing"):
        builds_a_bad_recording(p)


def test_a_wrong_option_is_not_reported_as_a_damaged_file(tmp_path: Path) -> None:
    p = tmp_path / "night.cwa"
    write_recording(small_night(), p)
    from lmdetect.io.cwa import read_cwa

    with pytest.raises(TypeError, match="colour"):
        read_cwa(p, colour="red")  # type: ignore[call-arg]


def test_format_error_is_one_line() -> None:
    assert str(FormatError("f.csv", "bad\nthing\r\n  here", line=3)) == "f.csv, line 3: bad thing here"


def _rec(
    accel: np.ndarray, time_s: np.ndarray | None = None, fs: float = 25.0, range_g: float | None = 8.0
) -> Recording:
    n = accel.shape[0]
    t = np.arange(n) / fs if time_s is None else time_s
    return Recording(accel.astype(np.float32), t, fs, START, range_g=range_g)


def test_plausibility_limits(caplog: pytest.LogCaptureFixture) -> None:
    still = np.tile([0.0, 0.0, 1.0], (100, 1))
    assert check_recording("f", _rec(still)).meta == {}
    bad = still.copy()
    bad[7, 1] = np.inf
    with pytest.raises(FormatError, match=r"f: sample 7 .* not a finite number"):
        check_recording("f", _rec(bad))
    bad = still.copy()
    bad[9, 0] = 16.5
    with pytest.raises(
        FormatError, match=r"sample 9 .* \|a\| = 16.5 g, impossible \(the declared range is \+-8 g\)"
    ):
        check_recording("f", _rec(bad))
    bad[9, 0] = MAX_ABS_G + 1
    with pytest.raises(FormatError, match="no sensor measures that"):
        check_recording("f", _rec(bad, range_g=None))
    near = still.copy()
    near[3, 0] = 8.6  # past +-8 g by calibration: counted, not refused
    with caplog.at_level(logging.WARNING):
        assert check_recording("f", _rec(near)).meta["n_samples_over_range"] == "1"
    assert "exceed the declared range" in caplog.text
    with pytest.raises(FormatError, match="sampling rate 0.5 Hz is implausible"):
        check_recording("f", _rec(still, fs=0.5))
    far = np.arange(100) / 25.0
    far[50:] += 70 * 86400.0
    with pytest.raises(FormatError, match="span 70.0 days"):
        check_recording("f", _rec(still, far))
    sparse = np.arange(100) / 25.0
    sparse[50:] += 3 * 86400.0
    with pytest.raises(FormatError, match="spread over 3.0 days"):
        check_recording("f", _rec(still, sparse))
    with pytest.raises(
        FormatError, match="median sample interval 0.2 s does not match the nominal rate 25 Hz"
    ):
        check_recording("f", _rec(still, np.arange(100) * 0.2))


def test_gaps_of_a_real_night_are_not_refused() -> None:
    """Two nights a day apart with a gap between them are a plausible file."""
    fs = 25.0
    t = np.r_[np.arange(0, 3600 * fs) / fs, 86400 + np.arange(0, 3600 * fs) / fs]
    accel = np.tile([0.0, 0.0, 1.0], (t.size, 1))
    assert check_recording("f", _rec(accel, t, fs=fs)).n_samples == t.size


def test_errors_are_lmdetect_errors() -> None:
    assert issubclass(FormatError, LmdetectError) and issubclass(FormatError, ValueError)
