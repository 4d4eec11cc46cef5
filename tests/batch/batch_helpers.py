"""Helpers of the batch tests: corrupt files, and a worker that kills its process for one night.

A module of its own (not conftest.py) so that spawned pool workers can import it by name
(``tests.batch.batch_helpers``).
"""

from __future__ import annotations

import os
from pathlib import Path

from lmdetect.batch.worker import NightJob, NightOutcome, run_job

CRASHING_NIGHT = "P01/n2"


def crash_on_one_night(job: NightJob) -> tuple[NightOutcome, ...]:
    if job.night_id == CRASHING_NIGHT:
        os._exit(3)  # like the kernel's OOM killer: no exception, no cleanup
    return run_job(job)


def report_warm_modules(job: NightJob) -> tuple[NightOutcome, ...]:
    """A worker that reports, in the outcome's row, what was imported before the night began."""
    import sys

    loaded = {m: m in sys.modules for m in ("lmdetect.pipeline", "lmdetect.io.night_inputs", "lmdetect.outputs",
                                            "lmdetect.io.native")}
    return (NightOutcome(night_id=job.night_id, participant=job.participant, night=job.night,
                         input_path=job.input_path, status="done", row=loaded),)


def truncated_lmr(good: Path, dest: Path) -> Path:
    """A .lmr cut inside its header (a copy interrupted in its first few bytes)."""
    dest.write_bytes(good.read_bytes()[:40])
    return dest


def garbage_lmr(dest: Path) -> Path:
    dest.write_bytes(bytes(range(256)) * 8)
    return dest


def csv_with_bad_line(good: Path, dest: Path, *, bad_line: int = 120) -> Path:
    """A CSV recording of a real night whose line ``bad_line`` has a non-number in y."""
    from lmdetect.io import read_recording, write_recording

    write_recording(read_recording(good), dest)
    lines = dest.read_text().splitlines(keepends=True)
    ts, x, _y, z = lines[bad_line - 1].rstrip("\n").split(",")
    lines[bad_line - 1] = f"{ts},{x},abc,{z}\n"
    dest.write_text("".join(lines))
    return dest


def two_day_recording(first: Path, second: Path, dest: Path) -> Path:
    """One .lmr holding two recorded nights a day apart (the second night re-dated by 24 h)."""
    import datetime as dt

    import numpy as np

    from lmdetect.io import read_recording, write_recording
    from lmdetect.model import Recording

    a, b = read_recording(first), read_recording(second)
    shift = (a.start - b.start).total_seconds() + 86400.0
    rec = Recording(
        accel_g=np.concatenate([a.accel_g, b.accel_g]),
        time_s=np.concatenate([a.time_s, b.time_s + shift]),
        fs=a.fs,
        start=a.start,
        device_id=a.device_id,
        side=a.side,
        range_g=a.range_g,
    )
    assert rec.end - rec.start > dt.timedelta(hours=24)
    write_recording(rec, dest)
    return dest
