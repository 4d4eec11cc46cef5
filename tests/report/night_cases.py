"""Synthetic nights for the report and export tests: each built to stress one part of the report.

Built from tests.synth (not the night simulator) so each case has exactly the property it is named
for: no movement at all, no sleep at all, large recording gaps, and a night with RLS episodes, a
pad session that is both logged and visible in the signal, and a periodic movement train.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from lmdetect.config import Config
from lmdetect.model import Recording
from lmdetect.pipeline import NightResult, process_night
from tests.synth import START, add_burst, quiet, recording

FS = 50.0


def _ts(seconds: float) -> pd.Timestamp:
    return pd.Timestamp(START + dt.timedelta(seconds=seconds))


def diary(
    lights_off_s: float, lights_on_s: float, episodes: list[tuple[float, float, float]]
) -> pd.DataFrame:
    """A diary table as read_diary returns it."""
    rows = [{"kind": "lights_off", "start": _ts(lights_off_s), "end": pd.NaT, "severity": np.nan, "note": ""}]
    rows += [{"kind": "rls_episode", "start": _ts(a), "end": _ts(b), "severity": sev, "note": "legs restless"}
             for a, b, sev in episodes]
    rows.append(
        {"kind": "lights_on", "start": _ts(lights_on_s), "end": pd.NaT, "severity": np.nan, "note": ""}
    )
    return pd.DataFrame(rows, columns=["kind", "start", "end", "severity", "note"])


def pad_log(sessions: list[tuple[float, float, int]]) -> pd.DataFrame:
    return pd.DataFrame([{"start": _ts(a), "end": _ts(b), "intensity": lvl} for a, b, lvl in sessions],
                        columns=["start", "end", "intensity"])


def _periodic_train(a: np.ndarray, start_s: float, n: int, period_s: float, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for k in range(n):
        add_burst(a, FS, start_s + k * period_s + rng.uniform(-2, 2), 1.5, 0.08, freq_hz=2.0, axis=k % 2)


def zero_movement_night() -> NightResult:
    """Three hours of a perfectly still leg."""
    return process_night(recording(quiet(3 * 3600, FS, seed=1), FS, device_id="TEST-0", side="left"))


def no_sleep_night() -> NightResult:
    """Two hours of restless legs: irregular movements every 3-9 s all night, so every epoch
    scores wake."""
    rng = np.random.default_rng(2)
    a = quiet(2 * 3600, FS, seed=2)
    t = 5.0
    while t < 2 * 3600 - 15:
        dur = rng.uniform(1.0, 4.0)
        amp_g, freq_hz = rng.uniform(0.1, 0.4), rng.uniform(0.5, 3.0)
        add_burst(a, FS, t, dur, amp_g, freq_hz=freq_hz, axis=int(rng.integers(3)))
        t += dur + rng.uniform(2.0, 5.0)
    # continuous low-frequency movement can pass the vibration detector's narrowband test; pad
    # detection is not what this case is about
    return process_night(recording(a, FS, device_id="TEST-W", side="right"), Config(detect_vibration=False))


def gappy_recording() -> Recording:
    """Four hours with PLM trains, of which 70 min are lost in two gaps; some samples backfilled."""
    a = quiet(4 * 3600, FS, seed=3)
    _periodic_train(a, 900.0, 40, 25.0, seed=3)
    _periodic_train(a, 9000.0, 40, 30.0, seed=4)
    t = np.arange(a.shape[0]) / FS
    keep = ~(((t >= 3000) & (t < 5400)) | ((t >= 11000) & (t < 12800)))
    backfilled = np.zeros(a.shape[0], dtype=bool)
    backfilled[int(7000 * FS):int(7060 * FS)] = True
    return Recording(a[keep], t[keep], FS, START, device_id="TEST-G", side="left", range_g=8.0,
                     backfilled=backfilled[keep])


def gappy_night() -> NightResult:
    return process_night(gappy_recording())


def _add_pad(a: np.ndarray, onset_s: float, dur_s: float, motor_hz: float, amp_g: float) -> None:
    i0 = int(onset_s * FS)
    t = np.arange(int(dur_s * FS)) / FS
    a[i0:i0 + t.size, 1] += (amp_g * np.sin(2 * np.pi * motor_hz * t)).astype(np.float32)


def rich_night() -> NightResult:
    """Three hours: PLM trains, two diary RLS episodes, one pad session logged 25-60 min and
    running 30-65 min (73 Hz motor aliased at 50 Hz), lights off at 5 min, on at 2 h 55 min."""
    a = quiet(3 * 3600, FS, seed=5)
    _periodic_train(a, 600.0, 40, 30.0, seed=5)      # 10-30 min: before the pad
    _add_pad(a, 1800.0, 2100.0, 73.0, 0.02)          # 30-65 min
    _periodic_train(a, 4200.0, 60, 25.0, seed=6)     # 70-95 min: after the pad
    _periodic_train(a, 8000.0, 30, 35.0, seed=7)
    rec = recording(a, FS, device_id="TEST-R", side="left", range_g=8.0)
    d = diary(300.0, 10500.0, [(500.0, 1500.0, 6.0), (8200.0, 8800.0, 4.0)])
    p = pad_log([(1500.0, 3600.0, 5)])
    return process_night(rec, diary=d, pad_log=p)


def logged_pad_night(config: Config | None = None) -> NightResult:
    """Seven hours without gaps: PLM trains, including one during a logged pad session whose
    vibration the sensor does not see (filtered out), lights off at 5 min, on at 6 h 55 min; a pad
    session that runs 30-65 min and is visible in the signal (73 Hz motor aliased at 50 Hz), and
    a logged one at 3 h-3 h 35 min that is not."""
    a = quiet(7 * 3600, FS, seed=8)
    _add_pad(a, 1800.0, 2100.0, 73.0, 0.02)
    _periodic_train(a, 4200.0, 60, 25.0, seed=9)
    _periodic_train(a, 10900.0, 60, 30.0, seed=10)   # during the unseen logged session
    rec = recording(a, FS, device_id="TEST-P", side="left", range_g=8.0)
    d = diary(300.0, 24900.0, [])
    p = pad_log([(1800.0, 3900.0, 5), (10800.0, 12900.0, 4)])
    return process_night(rec, config, diary=d, pad_log=p)


def late_diary_onset_night() -> NightResult:
    """Four hours: lights off at 5 min, PLM trains from 20 min on, and a diary sleep onset logged at
    2 h 30 min, after the first trains: the actigraphy overrules that row."""
    a = quiet(4 * 3600, FS, seed=11)
    _periodic_train(a, 1200.0, 60, 25.0, seed=11)    # 20-45 min
    _periodic_train(a, 4000.0, 60, 30.0, seed=12)    # 67-97 min
    _periodic_train(a, 10000.0, 40, 30.0, seed=13)   # after the logged onset
    rec = recording(a, FS, device_id="TEST-D", side="right", range_g=8.0)
    d = diary(300.0, 14100.0, [])
    onset = {"kind": "sleep_onset", "start": _ts(9000.0), "end": pd.NaT, "severity": np.nan, "note": ""}
    d = pd.concat([d, pd.DataFrame([onset])], ignore_index=True)
    return process_night(rec, diary=d)


def intervention_diary(lights_off_s: float, lights_on_s: float,
                       interventions: list[tuple[str, float, float | None, str]]) -> pd.DataFrame:
    """A diary with lights off/on and ``intervention`` rows (name, start s, end s or None, dose),
    written as the documented CSV and read back by :func:`lmdetect.io.diary.read_diary`."""
    import tempfile
    from pathlib import Path

    from lmdetect.io.diary import read_diary

    def iso(t: float) -> str:
        return _ts(t).isoformat()

    lines = ["kind,start,end,severity,note,name,dose",
             f"lights_off,{iso(lights_off_s)},,,,,", f"lights_on,{iso(lights_on_s)},,,,,"]
    lines += [f"intervention,{iso(a)},{'' if b is None else iso(b)},,,{name},{dose}" for name, a, b, dose in interventions]
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "diary.csv"
        f.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return read_diary(f)


def intervention_night() -> NightResult:
    """Three hours: lights off at 5 min, on at 2 h 55 min; a ropinirole dose (0.25 mg) at 40 min and a
    foot wrap worn twice, 80-95 and 100-125 min (taken off for 5 min). PLM trains at 10-30 min
    (before the dose) and 85-110 min (mostly under the wrap), none after."""
    a = quiet(3 * 3600, FS, seed=14)
    _periodic_train(a, 600.0, 40, 30.0, seed=14)     # 10-30 min
    _periodic_train(a, 5100.0, 60, 25.0, seed=15)    # 85-110 min
    rec = recording(a, FS, device_id="TEST-I", side="left", range_g=8.0)
    d = intervention_diary(300.0, 10500.0, [("ropinirole", 2400.0, None, "0.25 mg"),
                                            ("foot_wrap", 4800.0, 5700.0, ""), ("foot_wrap", 6000.0, 7500.0, "")])
    return process_night(rec, diary=d)
