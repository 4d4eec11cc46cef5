"""A simulated night's ground truth written as a PSG scoring, to test sensor-vs-PSG agreement
(``lmdetect agree``) without a sleep lab.

The "PSG" is the truth seen through a second recording system:

* its clock runs ``offset_s`` ahead of the true clock at the recording start and gains
  ``drift_ppm`` (a PSG reading for true time t is ``start + offset_s + t * (1 + drift_ppm 1e-6)``);
* the scorer marks each true movement's onset with a Gaussian error of SD ``jitter_sd_s`` (her
  offset mark follows the same error, so the duration is kept), and stages each 30-s epoch of the
  true hypnogram;
* lights off / on of the truth are written as events.

Formats: a RemLogic event export (ISO 8601 times; the layout read by
:func:`lmdetect.io.annotations.read_remlogic`) and an annotation-only EDF+ file (read by
:func:`lmdetect.io.annotations.read_edf_annotations`; needs edfio).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from lmdetect._atomic import atomic_path, atomic_write_text

__all__ = ["PsgClock", "export_psg", "psg_scoring", "write_edf_annotations", "write_remlogic"]

_REMLOGIC_STAGE = {"W": "SLEEP-S0", "N1": "SLEEP-S1", "N2": "SLEEP-S2", "N3": "SLEEP-S3", "R": "SLEEP-REM"}
_EDF_STAGE = {
    "W": "Sleep stage W",
    "N1": "Sleep stage N1",
    "N2": "Sleep stage N2",
    "N3": "Sleep stage N3",
    "R": "Sleep stage R",
}
_EPOCH_S = 30.0


class PsgClock:
    """The PSG's clock: ``reading(t) = start + offset_s + t (1 + drift_ppm 1e-6)`` for true time t (s)."""

    def __init__(self, true_start: dt.datetime, offset_s: float, drift_ppm: float):
        self.true_start = true_start
        self.offset_s = float(offset_s)
        self.drift_ppm = float(drift_ppm)
        # the PSG file's time zero: its reading at the true start, to the whole second (EDF keeps seconds)
        local = true_start.replace(tzinfo=None) if true_start.tzinfo is not None else true_start
        self.file_start = (local + dt.timedelta(seconds=self.offset_s)).replace(microsecond=0)
        self._shift = (local - self.file_start).total_seconds() + self.offset_s

    def file_time(self, t_true: np.ndarray) -> np.ndarray:
        """True times (s since the true start) as seconds since the PSG file's time zero."""
        t = np.asarray(t_true, dtype=float)
        return self._shift + t * (1.0 + self.drift_ppm * 1e-6)


def psg_scoring(
    truth_dir: str | os.PathLike[str],
    *,
    offset_s: float = 37.0,
    drift_ppm: float = 20.0,
    jitter_sd_s: float = 0.2,
    seed: int = 0,
) -> tuple[pd.DataFrame, PsgClock]:
    """The PSG's events of a simulated night (folder written by ``lmdetect simulate``).

    Returns
    -------
    events : DataFrame
        ``onset_s`` (s since the PSG file's time zero), ``duration_s``, ``kind`` (``lm``, ``stage``,
        ``lights_off``, ``lights_on``), ``stage`` (stage events), ``side`` (movements), sorted.
    clock : PsgClock
    """
    d = Path(truth_dir)
    truth = json.loads((d / "truth_summary.json").read_text(encoding="utf-8"))
    lms = pd.read_csv(d / "truth_lm.csv")
    hyp = pd.read_csv(d / "hypnogram.csv")
    clock = PsgClock(dt.datetime.fromisoformat(truth["start"]), offset_s, drift_ppm)
    rng = np.random.default_rng(seed)
    on_true = lms["onset_s"].to_numpy(float) + rng.normal(0.0, jitter_sd_s, len(lms))
    on_true = np.maximum(on_true, 0.0)
    rows = [
        pd.DataFrame(
            {
                "onset_s": clock.file_time(on_true),
                "duration_s": lms["duration_s"].to_numpy(float),
                "kind": "lm",
                "stage": "",
                "side": lms["side"].astype(str).to_numpy(),
            }
        ),
        pd.DataFrame(
            {
                "onset_s": clock.file_time(hyp["onset_s"].to_numpy(float)),
                "duration_s": _EPOCH_S,
                "kind": "stage",
                "stage": hyp["stage"].astype(str).to_numpy(),
                "side": "",
            }
        ),
    ]
    for key, kind in (("lights_off_s", "lights_off"), ("lights_on_s", "lights_on")):
        if truth.get(key) is not None:
            rows.append(
                pd.DataFrame(
                    {
                        "onset_s": clock.file_time(np.array([float(truth[key])])),
                        "duration_s": 0.0,
                        "kind": kind,
                        "stage": "",
                        "side": "",
                    }
                )
            )
    events = pd.concat(rows, ignore_index=True).sort_values(["onset_s", "kind"], kind="stable")
    return events.reset_index(drop=True), clock


def _remlogic_event(row: pd.Series) -> tuple[str, str]:
    if row["kind"] == "lm":
        return "PLM-LM", {"left": "EMG.Tibialis-Leg.Left", "right": "EMG.Tibialis-Leg.Right"}.get(
            row["side"], ""
        )
    if row["kind"] == "stage":
        return _REMLOGIC_STAGE[row["stage"]], ""
    return {"lights_off": "LIGHTS-OFF", "lights_on": "LIGHTS-ON"}[row["kind"]], ""


def write_remlogic(events: pd.DataFrame, clock: PsgClock, path: str | os.PathLike[str]) -> Path:
    """Write the events as a RemLogic event export (tab-separated, ISO 8601 times)."""
    lines = [
        "Patient ID:\tsimulated",
        f"Recording Date:\t{clock.file_start.strftime('%d/%m/%Y')}",
        "Events Included:",
        *sorted({_remlogic_event(r)[0] for _, r in events.iterrows()}),
        "",
        "Scoring Session:\tsimulated PSG scoring",
        "",
        "Sleep Stage\tPosition\tTime [hh:mm:ss]\tEvent\tDuration[s]\tLocation",
    ]
    stage_now = "W"
    for _, r in events.iterrows():
        if r["kind"] == "stage":
            stage_now = r["stage"]
        event, location = _remlogic_event(r)
        t = clock.file_start + dt.timedelta(seconds=float(r["onset_s"]))
        lines.append(
            f"{stage_now}\tSupine\t{t.isoformat(timespec='microseconds')}\t{event}\t{r['duration_s']:.3f}\t{location}"
        )
    atomic_write_text(path, "\r\n".join(lines) + "\r\n")
    return Path(path)


def write_edf_annotations(events: pd.DataFrame, clock: PsgClock, path: str | os.PathLike[str]) -> Path:
    """Write the events as an annotation-only EDF+ file (``Limb movement@@EMG LAT`` style texts)."""
    import edfio

    items = []
    for _, r in events.iterrows():
        if r["kind"] == "lm":
            text = "Limb movement@@" + {"left": "EMG Left Leg", "right": "EMG Right Leg"}.get(
                r["side"], "EMG Leg"
            )
        elif r["kind"] == "stage":
            text = _EDF_STAGE[r["stage"]]
        else:
            text = {"lights_off": "Lights off", "lights_on": "Lights on"}[r["kind"]]
        dur = float(r["duration_s"])
        items.append(
            edfio.EdfAnnotation(round(float(r["onset_s"]), 6), round(dur, 6) if dur > 0 else None, text)
        )
    edf = edfio.Edf(
        [],
        recording=edfio.Recording(startdate=clock.file_start.date()),
        starttime=clock.file_start.time(),
        annotations=items,
    )
    with atomic_path(path) as tmp:
        edf.write(tmp)
    return Path(path)


def export_psg(
    truth_dir: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    format: str = "remlogic",
    offset_s: float = 37.0,
    drift_ppm: float = 20.0,
    jitter_sd_s: float = 0.2,
    seed: int = 0,
) -> Path:
    """Write a simulated night's truth as a PSG scoring file (``remlogic`` or ``edf+``)."""
    events, clock = psg_scoring(
        truth_dir, offset_s=offset_s, drift_ppm=drift_ppm, jitter_sd_s=jitter_sd_s, seed=seed
    )
    if format == "remlogic":
        return write_remlogic(events, clock, out_path)
    if format == "edf+":
        return write_edf_annotations(events, clock, out_path)
    raise ValueError(f"unknown PSG export format {format!r} (remlogic, edf+)")
