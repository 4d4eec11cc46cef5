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
    from lmdetect.io import outputs

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
