"""One conformance check run over every registered reader.

Each case builds or names a file of one format; the same assertions then hold for all of them:
acceleration float32 in g (gravity near 1 g, the files hold a still sensor), times strictly
increasing from 0, a positive nominal rate close to the effective one, a timezone-aware start,
and a round trip through ``.lmr`` that keeps the samples (within its quantisation) and the times
(within one tick). A reader registered without a case here fails ``test_every_reader_has_a_case``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import zoneinfo
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lmdetect.errors import FormatError
from lmdetect.io import read_recording, supported_read_extensions, write_recording
from lmdetect.model import Recording

DATA = Path(__file__).resolve().parents[1] / "data" / "readers"


def still_night(fs: float = 50.0, seconds: float = 900.0) -> Recording:
    """A still, tilted ankle with a few leg movements and one 3-s gap."""
    rng = np.random.default_rng(7)
    n = int(fs * seconds)
    t = np.arange(n) / fs
    g = np.array([0.28, -0.35, 0.894], dtype=np.float64)
    a = np.tile(g, (n, 1)) + rng.normal(0, 0.004, (n, 3))
    for onset in (100.0, 130.0, 160.0, 190.0):
        burst = (t >= onset) & (t < onset + 1.5)
        a[burst, 0] += 0.5 * np.sin(2 * np.pi * 2.0 * (t[burst] - onset))
    keep = (t < 400.0) | (t >= 403.0)
    start = dt.datetime(2026, 3, 28, 23, 10, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    a = a[keep].astype(np.float32)
    return Recording(a, t[keep], fs, start, device_id="AX3-99", side="left", range_g=8.0)


def _written(ext: str) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        name = f"sub-01_task-sleep_tracksys-IMU{ext}" if ext.startswith("_") else f"night{ext}"
        path = tmp / name
        write_recording(still_night(), path)
        return path

    return build


def _committed(name: str) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        dst = tmp / name
        shutil.copyfile(DATA / name, dst)
        return dst

    return build


#: (case id, extension, file builder). Formats with a writer are also tested on a written file.
CASES: list[tuple[str, str, Callable[[Path], Path]]] = [
    ("cwa-written", ".cwa", _written(".cwa")),
    ("cwa-ax3-real", ".cwa", _committed("ax3_sample.cwa")),
    ("cwa-ax6-real", ".cwa", _committed("ax6_sample.cwa")),
    ("geneactiv-real", ".bin", _committed("gnactv_sample.bin")),
    ("gt3x-activity", ".gt3x", _committed("actigraph_neo_ism.gt3x")),
    ("gt3x-activity2", ".gt3x", _committed("actigraph_mos_dst.gt3x")),
    ("edf-written", ".edf", _written(".edf")),
    ("bdf-written", ".bdf", _written(".bdf")),
    ("bids-written", "_motion.tsv", _written("_motion.tsv")),
    ("lmr-written", ".lmr", _written(".lmr")),
    ("csv-written", ".csv", _written(".csv")),
]


def test_real_device_samples_are_in_the_repository() -> None:
    """The MIT-licensed real-device files ship with the tests (never skipped), with their licence."""
    import hashlib
    import re

    readme = (DATA / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| `([\w.]+)` \| `([0-9a-f]{64})` \|$", readme, flags=re.M))
    assert {"ax3_sample.cwa", "ax6_sample.cwa", "ax3_data.npz", "ax6_data.npz", "gnactv_sample.bin"} <= set(listed)
    for name, digest in listed.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name
    assert "Pfizer" in (DATA / "LICENSE-scikit-digital-health.txt").read_text(encoding="utf-8")


def test_every_reader_has_a_case() -> None:
    covered = {ext for _, ext, _ in CASES}
    missing = sorted(set(supported_read_extensions()) - covered)
    assert not missing, f"registered readers without a conformance case: {missing}"


def test_unknown_extension_suggests_close_ones(tmp_path: Path) -> None:
    p = tmp_path / "night.cwaa"
    p.write_bytes(b"x")
    message = r"night\.cwaa: cannot read files with extension '\.cwaa'; did you mean \.cwa"
    with pytest.raises(FormatError, match=message):
        read_recording(p)


@pytest.mark.parametrize(("case", "ext", "build"), CASES, ids=[c[0] for c in CASES])
def test_reader_conformance(case: str, ext: str, build: Callable[[Path], Path], tmp_path: Path) -> None:
    if ext in (".edf", ".bdf"):
        pytest.importorskip("edfio", reason="EDF support is the optional 'edf' extra")
    if ext not in supported_read_extensions():
        pytest.skip(f"no reader registered for {ext}")
    rec = read_recording(build(tmp_path))

    assert isinstance(rec, Recording) and rec.n_samples > 100
    assert rec.accel_g.dtype == np.float32 and rec.accel_g.shape == (rec.n_samples, 3)
    assert np.isfinite(rec.accel_g).all()
    magnitude = np.linalg.norm(rec.accel_g, axis=1)
    assert np.median(magnitude) == pytest.approx(1.0, abs=0.1), "acceleration is not in g"
    assert rec.time_s.dtype == np.float64 and rec.time_s[0] == 0.0
    assert np.all(np.diff(rec.time_s) > 0)
    assert rec.fs > 0 and 0.95 < rec.fs_effective / rec.fs < 1.05
    assert rec.start.tzinfo is not None and rec.start.utcoffset() is not None
    assert rec.meta.get("source_format") or ext in (".lmr", ".csv")

    from lmdetect.io.native import read_lmr, write_lmr

    lmr = tmp_path / "round.lmr"
    write_lmr(rec, lmr)
    back = read_lmr(lmr)
    tick_s = 1.0 / float(back.meta["lmr.tick_hz"])
    scale_g = float(back.meta["lmr.scale_g"])
    assert back.n_samples == rec.n_samples
    np.testing.assert_allclose(back.accel_g, rec.accel_g, rtol=0, atol=scale_g / 2 + 1e-6)
    np.testing.assert_allclose(back.time_s, rec.time_s, rtol=0, atol=tick_s)
    assert abs((back.start - rec.start).total_seconds()) <= tick_s
    assert back.fs == rec.fs
    assert len(back.gaps()) == len(rec.gaps())
