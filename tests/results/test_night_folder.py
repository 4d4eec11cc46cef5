import fcntl
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import lmdetect._atomic as atomic
from firmware_sim.night import simulate_night
from lmdetect._atomic import FolderInUseError, recover_folders
from lmdetect.outputs import write_night_outputs
from lmdetect.pipeline import process_night


@pytest.fixture(scope="module")
def night():
    return simulate_night("rls", hours=1.0, rate_hz=25, seed=3)


@pytest.fixture(scope="module")
def result(night):
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
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []  # no staging folder, no lock file


# ---------------------------------------------------------------- the folder is replaced as a whole


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".lmdetect-"))


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "two-renames"])
def test_a_rerun_replaces_the_whole_set(tmp_path, night, result, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    write_night_outputs(result, out, report=True)
    assert (out / "report.html").is_file()
    aasm = process_night(night.recording, result.config.replace(rules="aasm"), diary=night.diary)
    paths = write_night_outputs(aasm, out, report=False)
    # report.html of the first run would describe another night's scoring: it is gone
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths.values())
    assert json.loads((out / "summary.json").read_text())["rule_set"] == "aasm"
    assert leftovers(tmp_path) == []


def test_files_lmdetect_did_not_write_are_kept(tmp_path, result):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    write_night_outputs(result, out, report=True)
    paths = write_night_outputs(result, out)
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == sorted(["notes.txt", *(p.name for p in paths.values())])
    assert leftovers(tmp_path) == []


def test_a_failed_rerun_leaves_the_old_set_intact(tmp_path, result, monkeypatch):
    import lmdetect.results.night_folder as no

    out = tmp_path / "out"
    write_night_outputs(result, out)
    before = snapshot(out)
    monkeypatch.setattr(no, "write_summary_json", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space")))
    with pytest.raises(OSError):
        write_night_outputs(result, out)
    assert snapshot(out) == before and leftovers(tmp_path) == []


def test_a_folder_being_written_by_a_live_process_is_refused_and_left_alone(tmp_path, result):
    out = tmp_path / "out"
    stage = tmp_path / ".lmdetect-stage.out.abcd1234"
    stage.mkdir()
    fd = os.open(tmp_path / ".lmdetect-lock.out", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # what a live writer holds
    try:
        with pytest.raises(FolderInUseError, match="another lmdetect process"):
            write_night_outputs(result, out)
        write_night_outputs(result, tmp_path / "other")  # a neighbour: the live staging folder stays
        assert stage.is_dir()
    finally:
        os.close(fd)
    write_night_outputs(result, tmp_path / "other")  # the writer died: its staging folder goes
    assert leftovers(tmp_path) == []


def test_leftovers_of_a_killed_swap_are_put_right(tmp_path, result):
    write_night_outputs(result, tmp_path / "a")
    good = snapshot(tmp_path / "a")
    # killed between the two renames of the fallback swap: old set aside, new staged, no folder
    os.rename(tmp_path / "a", tmp_path / ".lmdetect-old.a.k1ll3d00")
    (tmp_path / ".lmdetect-stage.a.k1ll3d00").mkdir()
    (tmp_path / ".lmdetect-stage.a.k1ll3d00" / "events.csv").write_text("half")
    # killed while staging a first run of "b"
    (tmp_path / ".lmdetect-stage.b.zzzzzzzz").mkdir()
    recover_folders(tmp_path)
    assert snapshot(tmp_path / "a") == good
    assert not (tmp_path / "b").exists() and leftovers(tmp_path) == []


def test_a_long_folder_name_and_a_lone_stale_lock_are_handled(tmp_path, result):
    long = "n" * 200  # staging names use a hash of it (NAME_MAX is 255 bytes)
    write_night_outputs(result, tmp_path / long)
    good = snapshot(tmp_path / long)
    key = atomic._key(long)
    assert key.startswith("~")
    os.rename(tmp_path / long, tmp_path / f".lmdetect-old.{key}.k1ll3d00")
    (tmp_path / ".lmdetect-lock.other").write_text("")  # a writer killed before its release
    recover_folders(tmp_path)  # a neighbour cannot know the name: the set-aside folder stays
    assert (tmp_path / f".lmdetect-old.{key}.k1ll3d00").is_dir()
    assert not (tmp_path / ".lmdetect-lock.other").exists()
    write_night_outputs(result, tmp_path / long)  # its own writer puts it back, then replaces it
    assert snapshot(tmp_path / long).keys() == good.keys() and leftovers(tmp_path) == []


def test_the_current_folder_and_a_symlinked_folder_are_written_in_place(tmp_path, result, monkeypatch):
    here = tmp_path / "here"
    monkeypatch.chdir(tmp_path)
    write_night_outputs(result, "here")
    monkeypatch.chdir(here)
    inode = os.stat(".").st_ino
    write_night_outputs(result, ".")  # the folder the shell stands in is never renamed away
    assert os.stat(".").st_ino == inode and (here / "summary.json").is_file()
    (tmp_path / "link").symlink_to(here)
    monkeypatch.chdir(tmp_path)
    write_night_outputs(result, tmp_path / "link")
    assert (tmp_path / "link").is_symlink() and (here / "summary.json").is_file()
    assert leftovers(tmp_path) == []


def test_out_naming_a_file_is_a_clear_error(tmp_path, result):
    from lmdetect.errors import LmdetectError

    (tmp_path / "out").write_text("x")
    with pytest.raises(LmdetectError, match="not a folder"):
        write_night_outputs(result, tmp_path / "out")
    assert (tmp_path / "out").read_text() == "x"


# SIGKILLs of real `lmdetect process` runs over an existing folder, with slow renames (as on a
# network filesystem) and, half of the time, without the atomic exchange (the two-rename swap).
SLOW_CLI = textwrap.dedent(
    """
    import os, sys, time
    delay = float(os.environ["SLOW_RENAME_S"])

    def slow(f):
        def g(*a, **k):
            time.sleep(delay)
            return f(*a, **k)
        return g

    os.rename, os.replace = slow(os.rename), slow(os.replace)
    import lmdetect._atomic as atomic
    atomic._exchange = (lambda a, b: False) if os.environ.get("NO_EXCHANGE") else slow(atomic._exchange)
    mkdtemp = atomic.tempfile.mkdtemp

    def staging(*a, **k):  # tell the test when the outputs start being written
        path = mkdtemp(*a, **k)
        print("STAGING", flush=True)
        return path

    atomic.tempfile.mkdtemp = staging
    from lmdetect.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def _force_flag() -> list[str]:
    """``--force`` when ``process`` asks for it before writing into a non-empty folder."""
    from lmdetect.cli import build_parser

    _, table = build_parser()
    import argparse

    p = argparse.ArgumentParser()
    table["process"].add_arguments(p)
    return ["--force"] if any("--force" in a.option_strings for a in p._actions) else []


@pytest.mark.slow
def test_sigkilled_process_runs_leave_the_old_or_the_new_set_and_no_staging_folder(tmp_path, night):
    from lmdetect.io.native import write_lmr

    rec = tmp_path / "night.lmr"
    write_lmr(night.recording, rec)
    script = tmp_path / "slow_cli.py"
    script.write_text(SLOW_CLI)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), *sys.path]), "SLOW_RENAME_S": "0.15"}

    def cmd(out: Path, rules: str) -> list[str]:
        return [sys.executable, str(script), "process", str(rec), "--out", str(out), "--no-report",
                "--rules", rules, *_force_flag()]

    def start(out: Path, rules: str, extra: dict[str, str]) -> tuple[subprocess.Popen, float]:
        proc = subprocess.Popen(cmd(out, rules), env={**env, **extra}, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("STAGING"):
                return proc, time.monotonic()
        raise AssertionError("the run ended before writing its outputs")

    parent = tmp_path / "runs"
    sets = {}
    writing = 0.0
    for rules in ("wasm2016", "aasm"):
        proc, t0 = start(tmp_path / rules, rules, {})
        proc.communicate()
        assert proc.returncode == 0
        writing = max(writing, time.monotonic() - t0)  # staging, the outputs, the swap
        sets[rules] = snapshot(tmp_path / rules)
    assert sets["wasm2016"] != sets["aasm"]
    out = parent / "night"
    subprocess.run(cmd(out, "wasm2016"), env=env, check=True, capture_output=True)
    rng = random.Random(14)
    kills, interrupted = 10, 0
    for i in range(kills):
        rules = ("aasm", "wasm2016")[i % 2]
        extra = {"NO_EXCHANGE": "1"} if i % 4 >= 2 else {}
        proc, t0 = start(out, rules, extra)
        time.sleep(max(0.0, t0 + rng.uniform(0.0, 1.1) * writing - time.monotonic()))  # any moment of the write
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        interrupted += bool(leftovers(parent))
        if out.exists():
            assert snapshot(out) in (sets["aasm"], sets["wasm2016"]), f"kill {i}: a mixed folder"
        else:  # only between the two renames of the fallback swap: the old set waits aside
            aside = [p for p in parent.iterdir() if p.name.startswith(".lmdetect-old.")]
            assert extra and len(aside) == 1
            assert snapshot(aside[0]) in (sets["aasm"], sets["wasm2016"])
        recover_folders(parent)  # what the next run does first
        assert snapshot(out) in (sets["aasm"], sets["wasm2016"]) and leftovers(parent) == []
    assert interrupted >= 2  # kills did land while a run staged or swapped (not only after it)
    # a kill, then a complete run: no staging folder or lock survives it
    proc, t0 = start(out, "aasm", {})
    time.sleep(0.3 * writing)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert leftovers(parent)
    subprocess.run(cmd(out, "wasm2016"), env=env, check=True, capture_output=True)
    assert snapshot(out) == sets["wasm2016"] and leftovers(parent) == []


# --------------------------------------------------------------------------- reading back


def test_summary_records_the_sha256_of_every_other_file(tmp_path, result):
    from lmdetect._files import sha256_file
    from lmdetect.results.night_folder import read_night_folder

    out = tmp_path / "out"
    write_night_outputs(result, out, report=True)
    doc = json.loads((out / "summary.json").read_text())
    others = sorted(p.name for p in out.iterdir() if p.name != "summary.json")
    assert "report.html" in others and "events.csv" in others
    assert sorted(doc["files"]) == others
    assert all(doc["files"][n] == sha256_file(out / n) for n in others)
    folder = read_night_folder(out)
    assert folder.night.files == doc["files"]
    assert folder.night.plms_index == doc["plms_index"]
    assert len(folder.events) == len(result.events)
    assert list(folder.epochs.columns) == ["onset_s", "duration_s", "stage", "observed"]


@pytest.mark.parametrize("name", ["events.csv", "epochs.csv", "config.toml", "report.html"])
def test_a_changed_or_missing_file_is_an_error_naming_it(tmp_path, result, name):
    from lmdetect.errors import FormatError
    from lmdetect.results.night_folder import read_night_folder

    out = tmp_path / "out"
    write_night_outputs(result, out, report=True)
    path = out / name
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n")  # one byte more: same content to a reader, another file
    with pytest.raises(FormatError, match=rf"{name}: SHA-256 differs from the one recorded in summary.json") as e:
        read_night_folder(out)
    assert str(path) in str(e.value)
    read_night_folder(out, verify=False)  # the check can be skipped on purpose
    path.unlink()
    with pytest.raises(FormatError, match=rf"{name}: missing: summary.json lists it"):
        read_night_folder(out)


def test_a_malformed_files_entry_is_an_error(tmp_path, result):
    from lmdetect.errors import FormatError
    from lmdetect.results.night_folder import read_night_folder

    out = tmp_path / "out"
    write_night_outputs(result, out)
    doc = json.loads((out / "summary.json").read_text())
    for files, message in (([1, 2], "files must be a JSON object"), ({"../x": "0" * 64}, "not a file name"),
                           ({"events.csv": "abc"}, "not 64 hex digits")):
        (out / "summary.json").write_text(json.dumps({**doc, "files": files}))
        with pytest.raises(FormatError, match=message):
            read_night_folder(out)


def test_a_folder_of_the_release_before_checksums_still_loads(tmp_path, result):
    from lmdetect.results.night_folder import read_night_folder

    old = Path(__file__).resolve().parents[1] / "data" / "results" / "summary_unversioned.json"
    out = tmp_path / "old"
    out.mkdir()
    (out / "summary.json").write_bytes(old.read_bytes())
    result.epochs.to_csv(out / "epochs.csv", index=False)
    folder = read_night_folder(out)
    assert "files" not in folder.summary and folder.night.files is None
    assert folder.night.schema_version == 1 and folder.events is None and len(folder.epochs) == len(result.epochs)


def test_read_night_summary_checks_the_files_without_reading_the_tables(tmp_path, result):
    from lmdetect.errors import FormatError
    from lmdetect.results.night_folder import read_night_summary

    out = tmp_path / "out"
    write_night_outputs(result, out)
    doc = read_night_summary(out)
    assert doc == json.loads((out / "summary.json").read_text())
    (out / "events.csv").write_text("not a table at all\n")
    with pytest.raises(FormatError, match="events.csv: SHA-256 differs"):
        read_night_summary(out)
    assert read_night_summary(out, verify=False)["plms_index"] == doc["plms_index"]
