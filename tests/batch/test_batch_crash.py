"""SIGKILLs of a real ``lmdetect batch`` rerun over complete outputs: every night folder is the
old complete set or the new one, and the next run leaves no staging folder behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lmdetect.config import Config

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")]


def hidden(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob(".lmdetect-*"))


def check_night(folder: Path, hashes: dict[str, str]) -> None:
    """One run's complete set: summary.json, and the config beside it from the same run."""
    names = {p.name for p in folder.iterdir()}
    assert {"summary.json", "events.csv", "epochs.csv", "config.toml", "events.tsv"} <= names, (folder, names)
    doc = json.loads((folder / "summary.json").read_text())
    rules = {v: k for k, v in hashes.items()}[doc["config_hash"]]
    assert f'rules = "{rules}"' in (folder / "config.toml").read_text()


#: Loaded by every Python process of the batch (the pool workers too): renames take 0.2 s, as on
#: a slow network filesystem, so kills land inside the writing of a night's outputs.
SLOW_RENAMES = """
import os, time

def _slow(f):
    def g(*a, **k):
        time.sleep(0.2)
        return f(*a, **k)
    return g

os.rename, os.replace = _slow(os.rename), _slow(os.replace)
"""


def test_sigkilled_batch_reruns_leave_old_or_new_night_folders(cohort_dir, tmp_path):
    out = tmp_path / "out"
    inputs = [str(cohort_dir / "P01"), str(cohort_dir / "P02"), str(cohort_dir / "P03")]
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_RENAMES)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(Path.cwd()), *sys.path])}

    def cmd(rules: str) -> list[str]:
        return [sys.executable, "-m", "lmdetect", "batch", *inputs, "--out", str(out), "--workers", "1",
                "--quiet", "--rules", rules]

    hashes = {r: Config(rules=r).hash() for r in ("wasm2016", "aasm")}
    t0 = time.monotonic()
    subprocess.run(cmd("wasm2016"), env=env, check=True, capture_output=True)
    duration = time.monotonic() - t0
    nights = sorted(p.parent for p in (out / "nights").rglob("summary.json"))
    assert len(nights) == 6
    interrupted = 0
    for i, frac in enumerate((0.3, 0.45, 0.6, 0.75, 0.9)):
        rules = ("aasm", "wasm2016")[i % 2]
        proc = subprocess.Popen(cmd(rules), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(frac * duration)
        os.killpg(proc.pid, signal.SIGKILL)  # the batch and its pool worker
        proc.wait()
        interrupted += bool(hidden(out))
        for night in nights:
            if night.exists():
                check_night(night, hashes)
            else:  # set aside between the two renames of a swap: the next run puts it back
                assert any(p.name.startswith(".lmdetect-old.") for p in night.parent.iterdir())
    assert interrupted >= 1
    subprocess.run(cmd("aasm"), env=env, check=True, capture_output=True)
    for night in nights:
        check_night(night, hashes)
        assert json.loads((night / "summary.json").read_text())["config_hash"] == hashes["aasm"]
    assert hidden(out) == []
