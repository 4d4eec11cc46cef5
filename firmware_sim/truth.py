"""Ground-truth tables of a simulated night and the files they are written to.

Files written by :func:`write_truth` (times in seconds are since the recording start on the true
clock; absolute times are ISO 8601 with the UTC offset of the recording's time zone):

``night.lmr``
    The recording (lmdetect.io.native).
``truth_lm.csv``
    One row per true movement of the sensed leg: ``onset_s, duration_s, side, kind, amplitude_mg,
    is_clm, in_plm_series, series_id, stage`` (:data:`lmdetect.model.LM_COLUMNS`; the flags come from
    ``lmdetect.scoring.score_lms`` with the WASM 2016 rules on the true movements and the true
    hypnogram) followed by ``shape`` and ``source`` (see :mod:`firmware_sim.events`).
``hypnogram.csv``
    ``onset_s, duration_s, stage``, one row per 30-s epoch.
``diary.csv``
    ``kind, start, end, severity, note``: ``lights_off`` / ``lights_on``, ``sleep_onset`` /
    ``final_awakening`` (start only) and ``rls_episode`` rows as the sleeper would log them
    (rounded to 5 min, a few minutes off; the reported sleep latency is off by a factor of
    exp(N(0, 0.35))).
``pad_log.csv``
    ``start, end, intensity``: one row per pad cycle (a repeat cycle is its own row).
``truth_summary.json``
    Settings, the true WASM 2016 indices, counts by kind and source, RLS episodes, pad sessions and
    link statistics.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lmdetect import __version__
from lmdetect.errors import LmdetectError
from lmdetect.model import DIARY_COLUMNS, LM_COLUMNS, PAD_LOG_COLUMNS, Recording

from .events import RlsEpisode
from .movement import Realized
from .pad import PadSession
from .profiles import Profile
from .sleep import NightPlan

if TYPE_CHECKING:
    from .night import SimulatedNight

__all__ = ["TRUTH_LM_COLUMNS", "FILE_NAMES", "build_truth", "write_truth", "diary_csv_text", "pad_log_csv_text"]

#: Columns of ``truth_lm.csv``.
TRUTH_LM_COLUMNS: tuple[str, ...] = LM_COLUMNS + ("shape", "source")

#: File name of each output.
FILE_NAMES: dict[str, str] = {
    "recording": "night.lmr",
    "truth_lm": "truth_lm.csv",
    "hypnogram": "hypnogram.csv",
    "diary": "diary.csv",
    "pad_log": "pad_log.csv",
    "summary": "truth_summary.json",
}

_DIARY_ROUND_S = 300.0
# Reported sleep-onset latency = true latency x exp(N(0, sigma)): a modelling choice for the spread
# of subjective against PSG latency (people misjudge how long they lay awake; insomnia patients
# overestimate it), then written to the nearest 5 min like every diary time.
_SOL_REPORT_SIGMA = 0.35
_FINAL_WAKE_REPORT_SD_S = 180.0
_NOTES = {
    "onset": "restless legs, could not fall asleep",
    "awakening": "woke up with restless legs",
}


def _abs(start: dt.datetime, t_s: float) -> pd.Timestamp:
    return pd.Timestamp(start + dt.timedelta(seconds=float(t_s)))


def _logged(start: dt.datetime, t_s: float) -> pd.Timestamp:
    """A clock time as a person writes it down: to the nearest 5 minutes of the wall clock."""
    ts = _abs(start, t_s)
    return ts.round(f"{int(_DIARY_ROUND_S)}s")


def _diary(rng: np.random.Generator, start: dt.datetime, plan: NightPlan, episodes: list[RlsEpisode], pads: list[PadSession]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    rows.append({"kind": "lights_off", "start": _logged(start, plan.lights_off_s + rng.normal(0, 120.0)), "end": pd.NaT, "severity": np.nan, "note": ""})
    for ep in episodes:
        s = _logged(start, ep.start_s + rng.normal(0.0, 180.0))
        e = _logged(start, ep.end_s + rng.normal(0.0, 240.0))
        if e <= s:
            e = s + pd.Timedelta(minutes=5)
        severity = float(np.clip(np.rint(2.0 + 7.0 * ep.intensity + rng.normal(0.0, 1.0)), 0, 10))
        note = _NOTES[ep.context]
        if any(p.start_s < ep.end_s and p.end_s > ep.start_s for p in pads):
            note += "; used the pad"
        rows.append({"kind": "rls_episode", "start": s, "end": e, "severity": severity, "note": note})
    lights_on = _logged(start, plan.lights_on_s + rng.normal(0, 120.0))
    rows.append({"kind": "lights_on", "start": lights_on, "end": pd.NaT, "severity": np.nan, "note": ""})
    # the morning questions of the Consensus Sleep Diary (Carney et al., Sleep 2012): how long it
    # took to fall asleep (written here as the clock time lights off + that latency) and the time of
    # the final awakening
    lights_off = rows[0]["start"]
    latency_s = (plan.sleep_onset_s - plan.lights_off_s) * float(np.exp(_SOL_REPORT_SIGMA * rng.standard_normal()))
    latency = pd.Timedelta(seconds=max(_DIARY_ROUND_S, round(latency_s / _DIARY_ROUND_S) * _DIARY_ROUND_S))
    final = _logged(start, plan.wake_bouts[-1].start_s + rng.normal(0.0, _FINAL_WAKE_REPORT_SD_S))
    onset = min(lights_off + latency, lights_on - pd.Timedelta(minutes=10))
    final = min(max(final, onset + pd.Timedelta(minutes=5)), lights_on)
    rows.append({"kind": "sleep_onset", "start": onset, "end": pd.NaT, "severity": np.nan, "note": ""})
    rows.append({"kind": "final_awakening", "start": final, "end": pd.NaT, "severity": np.nan, "note": ""})
    df = pd.DataFrame(rows, columns=list(DIARY_COLUMNS))
    df["note"] = df["note"].astype(object)
    df["kind"] = df["kind"].astype(object)
    return df.sort_values("start", kind="stable").reset_index(drop=True)


def _pad_log(start: dt.datetime, pads: list[PadSession]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "start": [_abs(start, p.start_s).round("1s") for p in pads],
            "end": [_abs(start, p.end_s).round("1s") for p in pads],
            "intensity": np.asarray([p.intensity for p in pads], dtype=np.int64),
        },
        columns=list(PAD_LOG_COLUMNS),
    )


def _score(lms: pd.DataFrame, hypnogram: pd.DataFrame, plan: NightPlan) -> tuple[pd.DataFrame, dict[str, Any]]:
    from lmdetect.scoring import WASM2016, SleepInfo, night_indices, score_lms

    rules = WASM2016()
    scored = score_lms(lms[["onset_s", "duration_s", "side", "kind", "amplitude_mg"]], rules, hypnogram=hypnogram)
    if len(scored) != len(lms):  # movements are >= 0.6 s apart on one leg, so nothing may merge
        raise LmdetectError(f"scoring merged true movements ({len(lms)} in, {len(scored)} out)")
    scored = scored.sort_values("onset_s", kind="stable").reset_index(drop=True)
    if not np.allclose(scored["onset_s"].to_numpy(dtype=float), lms["onset_s"].to_numpy(dtype=float)):
        raise LmdetectError("scored movements do not line up with the true movements")
    info = SleepInfo(hypnogram=hypnogram, tib_start_s=plan.lights_off_s, tib_end_s=plan.lights_on_s, source="truth")
    return scored, night_indices(scored, info, rules)


def _clean(v: Any) -> Any:
    """JSON-ready copy with floats rounded to 6 decimals (stable text across runs)."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if not np.isfinite(f) else round(f, 6)
    return v


def build_truth(
    rec: Recording,
    prof: Profile,
    seed: int,
    hours: float,
    plan: NightPlan,
    episodes: list[RlsEpisode],
    pads: list[PadSession],
    schedule: pd.DataFrame,
    realized: Realized,
    extra: dict[str, Any],
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Truth tables and summary of a night (see the module docstring for their columns)."""
    hypnogram = plan.hypnogram()
    lms = pd.DataFrame(
        {
            "onset_s": schedule["onset_s"].to_numpy(dtype=np.float64),
            "duration_s": schedule["duration_s"].to_numpy(dtype=np.float64),
            "side": pd.Series([rec.side] * len(schedule), dtype=object),
            "kind": schedule["kind"].astype(object).to_numpy(),
            "amplitude_mg": realized.amplitude_mg,
        }
    )
    scored, indices = _score(lms, hypnogram, plan)
    truth = lms.copy()
    for col in ("is_clm", "in_plm_series", "series_id", "stage"):
        truth[col] = scored[col].to_numpy()
    truth["is_clm"] = truth["is_clm"].astype(bool)
    truth["in_plm_series"] = truth["in_plm_series"].astype(bool)
    truth["series_id"] = truth["series_id"].astype(np.int64)
    truth["stage"] = truth["stage"].astype(object)
    truth["shape"] = schedule["shape"].astype(object).to_numpy()
    truth["source"] = schedule["source"].astype(object).to_numpy()
    truth = truth[list(TRUTH_LM_COLUMNS)]

    gaps = rec.gaps()
    summary: dict[str, Any] = {
        "software": {"name": "lmdetect", "version": __version__, "generator": "firmware_sim"},
        "profile": prof.name,
        "profile_hash": prof.hash(),
        "seed": seed,
        "hours": hours,
        "rate_hz": rec.fs,
        "range_g": rec.range_g,
        "side": rec.side,
        "start": rec.start.isoformat(),
        "clock_ppm": extra["clock_ppm"],
        "aa_filter": prof.imu_aa_filter,
        "rules": "WASM2016",
        "lights_off_s": plan.lights_off_s,
        "lights_on_s": plan.lights_on_s,
        "sleep_onset_s": plan.sleep_onset_s,
        "tst_h": plan.tst_s / 3600.0,
        "indices": indices,
        "counts_by_kind": {k: int(v) for k, v in truth["kind"].value_counts().sort_index().items()},
        "counts_by_source": {k: int(v) for k, v in truth["source"].value_counts().sort_index().items()},
        "amplitude_mg_range": [float(truth["amplitude_mg"].min()), float(truth["amplitude_mg"].max())] if len(truth) else [],
        "rls_episodes": [
            {"start_s": e.start_s, "end_s": e.end_s, "context": e.context, "intensity": e.intensity} for e in episodes
        ],
        "pad_sessions": [
            {
                "start_s": p.start_s,
                "end_s": p.end_s,
                "intensity": p.intensity,
                "cycle": p.cycle,
                "motor_hz": p.motor_hz,
                "amplitude_mg": p.amplitude_mg,
            }
            for p in pads
        ],
        "recording": {
            "n_samples": rec.n_samples,
            "n_packets": extra["n_packets"],
            "n_packets_lost": extra["n_packets_lost"],
            "n_gaps": int(len(gaps)),
            "gap_total_s": float(gaps["duration_s"].sum()),
            "n_samples_clipped": extra["n_samples_clipped"],
            "device_id": rec.device_id,
        },
        "imu": extra["imu"],
        "profile_params": prof.to_dict(),
    }
    return {
        "truth_lms": truth,
        "hypnogram": hypnogram,
        "diary": _diary(rng, rec.start, plan, episodes, pads),
        "pad_log": _pad_log(rec.start, pads),
        "summary": _clean(summary),
    }


def _iso(ts: Any) -> str:
    return "" if pd.isna(ts) else pd.Timestamp(ts).isoformat()


#: Columns of the diary CSV; ``name`` and ``dose`` only when the night has intervention rows.
_DIARY_CSV_BASE = ("kind", "start", "end", "severity", "note")
_DIARY_CSV_INTERVENTION = ("name", "dose")


def diary_csv_text(diary: pd.DataFrame) -> str:
    """The diary as CSV text (the documented diary input format; a date-only row's start is its date)."""
    out = diary.copy()
    dates = out["date"] if "date" in out.columns else pd.Series([None] * len(out), index=out.index)
    out["start"] = [d.isoformat() if d is not None and not pd.isna(d) else _iso(v)
                    for v, d in zip(out["start"], dates, strict=True)]
    out["end"] = [_iso(v) for v in out["end"]]
    out["severity"] = ["" if pd.isna(v) else str(int(v)) for v in out["severity"]]
    cols = list(_DIARY_CSV_BASE)
    if (out["kind"] == "intervention").any():
        cols += list(_DIARY_CSV_INTERVENTION)
        for c in _DIARY_CSV_INTERVENTION:
            out[c] = out[c].fillna("")
    return str(out[cols].to_csv(index=False, lineterminator="\n"))


def pad_log_csv_text(pad_log: pd.DataFrame) -> str:
    """The pad log as CSV text (the documented pad-log input format)."""
    out = pad_log.copy()
    out["start"] = [_iso(v) for v in out["start"]]
    out["end"] = [_iso(v) for v in out["end"]]
    return str(out[list(PAD_LOG_COLUMNS)].to_csv(index=False, lineterminator="\n"))


def _table_text(df: pd.DataFrame) -> str:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == bool:
            out[col] = np.where(out[col].to_numpy(), "true", "false")
    return str(out.to_csv(index=False, lineterminator="\n", float_format="%.3f"))


def write_truth(night: SimulatedNight, out_dir: Path) -> dict[str, Path]:
    """Write the recording and truth files into ``out_dir``; all or nothing.

    The files are first written into a hidden temporary folder inside ``out_dir`` and moved into
    place only when every one of them has been written, so an error leaves no partial output.
    """
    from lmdetect.io.native import write_lmr

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".simulate-", dir=out_dir))
    try:
        texts = {
            "truth_lm": _table_text(night.truth_lms),
            "hypnogram": _table_text(night.hypnogram),
            "diary": diary_csv_text(night.diary),
            "pad_log": pad_log_csv_text(night.pad_log),
            "summary": json.dumps(night.summary, indent=2) + "\n",
        }
        write_lmr(night.recording, tmp / FILE_NAMES["recording"])
        for key, text in texts.items():
            (tmp / FILE_NAMES[key]).write_text(text, encoding="utf-8", newline="")
        umask = os.umask(0)
        os.umask(umask)
        paths: dict[str, Path] = {}
        for key, name in FILE_NAMES.items():
            os.chmod(tmp / name, 0o666 & ~umask)  # temporary files are private; results are not
            os.replace(tmp / name, out_dir / name)
            paths[key] = out_dir / name
        return paths
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
