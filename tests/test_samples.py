"""The sample nights in data/samples: README checksums are current and a regenerated night matches."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from lmdetect.io.native import read_lmr

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"


def _make_samples():
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "scripts" / "make_samples.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_samples", mod)  # dataclasses look their module up there
    spec.loader.exec_module(sys.modules["make_samples"])
    return sys.modules["make_samples"]


def _readme_rows() -> dict[str, tuple[int, str]]:
    text = (SAMPLES / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+)` \| (\d+) \| `([0-9a-f]{64})` \|$", text, flags=re.M)
    return {name: (int(size), digest) for name, size, digest in rows}


def test_readme_lists_every_sample_file_with_its_checksum():
    ms = _make_samples()
    rows = _readme_rows()
    on_disk = {p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*") if p.is_file() and p.name != "README.md"}
    assert set(rows) == on_disk
    for name, (size, digest) in rows.items():
        path = SAMPLES / name
        assert path.stat().st_size == size, name
        assert ms.sha256(path) == digest, name
    assert sum(size for size, _ in rows.values()) < 40e6
    text = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for s in ms.samples():  # each folder's exact command and seed are listed
        assert f"`{s.command()}`" in text and f"| {s.seed} |" in text


def test_samples_cover_the_profiles_and_a_participant_series():
    nights = {p.parent.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("truth_summary.json")}
    assert {"nights/rls", "nights/control", "nights/pad", "nights/noisy"} <= nights
    series = sorted(n for n in nights if n.startswith("participant01/"))
    assert len(series) == 7
    pads = [json.loads((SAMPLES / n / "truth_summary.json").read_text())["pad_sessions"] for n in series]
    assert [bool(p) for p in pads] == [False, True, False, True, False, True, False]
    for n in nights:
        s = json.loads((SAMPLES / n / "truth_summary.json").read_text())
        assert s["hours"] >= 6.0


def test_regenerated_smallest_sample_matches(tmp_path):
    ms = _make_samples()
    rows = _readme_rows()
    size = {s.folder: sum(v[0] for k, v in rows.items() if k.startswith(s.folder + "/")) for s in ms.samples()}
    sample = min(ms.samples(), key=lambda s: size[s.folder])
    out = ms.generate(sample, tmp_path)
    ref = SAMPLES / sample.folder
    for name in ("truth_lm.csv", "hypnogram.csv", "diary.csv", "pad_log.csv"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    new, old = (json.loads((d / "truth_summary.json").read_text()) for d in (out, ref))
    new["software"].pop("version")
    old["software"].pop("version")
    assert new == old
    a, b = read_lmr(out / "night.lmr"), read_lmr(ref / "night.lmr")
    for field in ("accel_g", "time_s", "seq", "host_time_s", "backfilled"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert (a.start, a.fs, a.device_id, a.side, a.range_g) == (b.start, b.fs, b.device_id, b.side, b.range_g)


@pytest.mark.parametrize("folder", ["nights/pad", "participant01/night2"])
def test_sample_truth_is_consistent_with_its_recording(folder):
    d = SAMPLES / folder
    rec = read_lmr(d / "night.lmr")
    s = json.loads((d / "truth_summary.json").read_text())
    assert rec.fs == s["rate_hz"] and rec.n_samples == s["recording"]["n_samples"]
    assert abs(rec.duration_s / 3600.0 - s["hours"]) < 0.01
