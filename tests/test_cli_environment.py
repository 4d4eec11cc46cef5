"""The command line in a hostile environment: one line on stderr and exit 2, never a traceback.

A full filesystem, a read-only output folder, ``--out`` naming a file, a folder given as the
input, and a reader that closes the pipe (``lmdetect info x | head``: a quiet exit, as Unix tools).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lmdetect.cli import main


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> Path:
    from firmware_sim.night import simulate_night
    from lmdetect.io.native import write_lmr

    path = tmp_path_factory.mktemp("env") / "night.lmr"
    write_lmr(simulate_night("rls", hours=0.5, rate_hz=25, seed=5).recording, path)
    return path


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_filesystem_is_one_line_and_exit_2(tmp_path, night, capsys, monkeypatch, code):
    from lmdetect.io.annotations import events_csv as outputs  # the events.csv writer

    def failing(path, *a, **k):  # a write through an open file: the error names no path
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(outputs, "atomic_open", failing)
    out = tmp_path / "out"
    assert main(["process", str(night), "--out", str(out), "--no-report"]) == 2
    err = one_line_error(capsys)
    assert err == f"lmdetect process: error: {out}: {os.strerror(code)}"
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == []  # nothing half-written


def test_a_read_only_output_folder_is_one_line_and_exit_2(tmp_path, night, capsys, monkeypatch):
    import lmdetect._atomic as atomic

    def refuse(*a, **k):  # what creating the staging folder meets there (root ignores chmod)
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "ro"))

    monkeypatch.setattr(atomic.tempfile, "mkdtemp", refuse)
    assert main(["process", str(night), "--out", str(tmp_path / "ro" / "out"), "--no-report"]) == 2
    assert one_line_error(capsys) == f"lmdetect process: error: {tmp_path / 'ro'}: Permission denied"


def test_out_naming_a_file_is_one_line_and_exit_2(tmp_path, night, capsys):
    (tmp_path / "out").write_text("keep me")
    assert main(["process", str(night), "--out", str(tmp_path / "out"), "--no-report"]) == 2
    assert "exists and is not a folder" in one_line_error(capsys)
    assert (tmp_path / "out").read_text() == "keep me"


@pytest.mark.parametrize("command", ["info", "process"])
def test_a_folder_as_the_input_is_one_line_and_exit_2(tmp_path, capsys, command):
    folder = tmp_path / "night.lmr"
    folder.mkdir()
    extra = ["--out", str(tmp_path / "out")] if command == "process" else []
    assert main([command, str(folder), *extra]) == 2
    assert str(folder) in one_line_error(capsys)


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_an_input_without_extension_that_is_no_file_says_what_it_is(tmp_path, capsys, kind):
    path = tmp_path / "night1"  # a participant's folder, not the recording in it
    if kind == "folder":
        path.mkdir()
    else:
        os.mkfifo(path)
    assert main(["info", str(path)]) == 2
    what = "a directory" if kind == "folder" else "a FIFO (named pipe)"
    assert one_line_error(capsys) == f"lmdetect info: error: {path}: is {what}, not a regular file"


def test_an_unknown_extension_lists_the_supported_ones_in_a_sentence(tmp_path, capsys):
    (tmp_path / "night.xyz").write_text("")
    assert main(["info", str(tmp_path / "night.xyz")]) == 2
    assert "extension '.xyz'. Supported: " in one_line_error(capsys)


def test_a_closed_pipe_ends_info_quietly(night):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), *sys.path])}
    proc = subprocess.Popen([sys.executable, "-m", "lmdetect", "info", str(night), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader went away before the first line (like `| head -0`)
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""


def _never_read(monkeypatch):
    import lmdetect.io.night_inputs as night_inputs

    def fail(*a, **k):  # an output that cannot be written is refused before the night is read
        raise AssertionError("the recording was read")

    monkeypatch.setattr(night_inputs, "read_night_inputs", fail)


def test_out_below_a_file_is_refused_before_the_recording_is_read(tmp_path, night, capsys, monkeypatch):
    (tmp_path / "afile").write_text("keep me")
    _never_read(monkeypatch)
    out = tmp_path / "afile" / "out"
    assert main(["process", str(night), "--out", str(out), "--no-report"]) == 2
    assert one_line_error(capsys) == (
        f"lmdetect process: error: {out}: cannot be created, {tmp_path / 'afile'} is a file, not a folder"
    )
    assert (tmp_path / "afile").read_text() == "keep me"


def test_a_read_only_file_system_is_refused_before_the_recording_is_read(tmp_path, night, capsys, monkeypatch):
    real = os.statvfs

    class ReadOnly:
        def __init__(self, st):
            self.f_flag = st.f_flag | os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", lambda p: ReadOnly(real(p)))
    _never_read(monkeypatch)
    out = tmp_path / "new" / "out"
    assert main(["process", str(night), "--out", str(out), "--no-report"]) == 2
    assert one_line_error(capsys) == (
        f"lmdetect process: error: {out}: cannot be written, {tmp_path} is on a read-only file system"
    )


@pytest.mark.parametrize("command", ["process", "convert"])
def test_a_folder_without_write_permission_is_refused_before_the_input_is_read(
    tmp_path, night, capsys, monkeypatch, command
):
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False if Path(p) == tmp_path else real(p, mode, **k))
    _never_read(monkeypatch)
    out = tmp_path / ("out" if command == "process" else "night.csv")
    args = (
        ["process", str(night), "--out", str(out), "--no-report"]
        if command == "process"
        else ["convert", str(night), str(out)]
    )
    assert main(args) == 2
    assert one_line_error(capsys) == (
        f"lmdetect {command}: error: {out}: cannot be written, no write permission in {tmp_path}"
    )
    assert list(tmp_path.iterdir()) == []
