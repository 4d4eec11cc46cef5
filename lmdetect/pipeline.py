"""``process_night``: one night of ankle acceleration in, scored leg movements and indices out.

Pure: no file, network or plotting. Stages: clock fit -> uniform grid with gaps masked ->
vibration-pad detection (masked from LM detection) -> LM detection -> sleep/wake (a given
hypnogram, else ankle actigraphy inside the diary's lights-off/on window) -> CLM/PLM scoring with
the configured rule set -> indices and night summary.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from .config import Config
from .detect.lm import MovementTrace, detect_lms, mask_intervals, movement_magnitude
from .detect.vibration import detect_vibration
from .errors import ConfigError, LmdetectError
from .model import Recording
from .preprocessing.clock import ClockFit, fit_clock
from .preprocessing.grid import RegularSignal, to_regular_grid
from .preprocessing.nonwear import detect_nonwear
from .scoring import WASM2016, SleepInfo, get_rule_set, night_indices, score_lms
from .sleepwake.actigraphy import epoch_activity, epoch_movement_load, score_sleep_wake, sleep_period
from .summary.night import night_context

__all__ = ["NightResult", "process_night"]

@dataclasses.dataclass(frozen=True, eq=False)
class NightResult:
    """Everything :func:`process_night` found.

    Attributes
    ----------
    recording_info : dict
        Start, duration, rates, device, side (from :meth:`Recording.describe`).
    start : datetime
        Tz-aware recording start; all ``*_s`` times are seconds since it.
    events : DataFrame
        Scored leg movements (columns of :data:`lmdetect.model.LM_COLUMNS` plus the scoring
        columns of :func:`lmdetect.scoring.score_lms`).
    epochs : DataFrame
        30-s epochs: onset_s, duration_s, stage (W / S or PSG stages), activity (moving fraction),
        valid (fraction with usable signal), observed (valid enough to count towards TST and
        wake time).
    trace : MovementTrace
        Per-second movement envelope and thresholds.
    vibration : DataFrame
        Vibration-pad sessions detected in the signal (onset_s, duration_s, freq_hz, amplitude_mg).
    pad_sessions : DataFrame
        Periods masked from LM detection: onset_s, duration_s, source ("detected" vibration, and
        "log" when ``Config.mask_logged_pads`` is set).
    rls_episodes : DataFrame
        Diary RLS episodes: onset_s, duration_s, severity, note.
    nonwear : DataFrame
        Flagged probable non-wear periods (onset_s, duration_s); not removed from analysis.
    clock : ClockFit
        Sensor-to-host clock fit.
    sleep : SleepInfo
        Time in bed, hypnogram and its source.
    summary : dict
        JSON-ready indices, quality figures and provenance (see docs/outputs.md).
    config : Config
    """

    recording_info: dict[str, Any]
    start: dt.datetime
    events: pd.DataFrame
    epochs: pd.DataFrame
    trace: MovementTrace
    vibration: pd.DataFrame
    pad_sessions: pd.DataFrame
    rls_episodes: pd.DataFrame
    nonwear: pd.DataFrame
    clock: ClockFit
    sleep: SleepInfo
    summary: dict[str, Any]
    config: Config


def _seconds(ts: pd.Series, start: dt.datetime) -> np.ndarray:
    ref = pd.Timestamp(start).tz_convert("UTC")
    return (pd.to_datetime(ts, utc=True) - ref).dt.total_seconds().to_numpy(dtype=float)


def _pad_masks(
    vib: pd.DataFrame, pad_log: pd.DataFrame | None, start: dt.datetime, config: Config
) -> pd.DataFrame:
    rows = []
    if config.mask_logged_pads and pad_log is not None and len(pad_log):
        on = _seconds(pad_log["start"], start)
        off = _seconds(pad_log["end"], start) + config.pad_log_margin_s
        rows += [{"onset_s": a, "duration_s": b - a, "source": "log"} for a, b in zip(on, off, strict=True)]
    m = config.vibration.margin_s
    for a, d in zip(vib["onset_s"].to_numpy(float), vib["duration_s"].to_numpy(float), strict=True):
        rows.append({"onset_s": a - m, "duration_s": d + 2 * m, "source": "detected"})
    return pd.DataFrame(rows, columns=["onset_s", "duration_s", "source"])


@dataclasses.dataclass(frozen=True)
class DiaryTimes:
    """Times from the diary, seconds since the recording start (None when not logged).

    ``lights_off_s``/``lights_on_s`` bound time in bed; ``sleep_onset_s``/``final_awakening_s``
    (Consensus Sleep Diary answers) bound the sleep period the actigraphy may score.
    """

    lights_off_s: float | None = None
    lights_on_s: float | None = None
    sleep_onset_s: float | None = None
    final_awakening_s: float | None = None


def _diary_parts(diary: pd.DataFrame | None, start: dt.datetime, rec_end_s: float) -> tuple[DiaryTimes, pd.DataFrame]:
    cols = ["onset_s", "duration_s", "severity", "note"]
    if diary is None or len(diary) == 0:
        return DiaryTimes(), pd.DataFrame(columns=cols)

    def times(kind: str) -> np.ndarray:
        return _seconds(diary.loc[diary["kind"] == kind, "start"], start)

    lights_off, lights_on = times("lights_off"), times("lights_on")
    off_s = float(lights_off.min()) if lights_off.size else None
    on_s = float(lights_on.max()) if lights_on.size else None
    # sleep times of this night only: inside time in bed (or the recording without lights rows)
    lo = max(0.0, off_s) if off_s is not None else 0.0
    hi = min(rec_end_s, on_s) if on_s is not None else rec_end_s
    onsets = times("sleep_onset")
    onsets = onsets[(onsets >= lo) & (onsets <= hi)]
    wakes = times("final_awakening")
    wakes = wakes[(wakes >= lo) & (wakes <= hi)]
    onset_s = float(onsets.min()) if onsets.size else None
    wake_s = float(wakes.max()) if wakes.size else None
    if onset_s is not None and wake_s is not None and wake_s <= onset_s:
        raise ConfigError(
            f"diary: final_awakening ({_clock(start, wake_s)}) is not after sleep_onset ({_clock(start, onset_s)})"
        )
    ep = diary[diary["kind"] == "rls_episode"]
    a = _seconds(ep["start"], start)
    b = _seconds(ep["end"], start)
    rls = pd.DataFrame(
        {"onset_s": a, "duration_s": b - a, "severity": ep["severity"].to_numpy(float), "note": ep["note"].to_numpy()},
        columns=cols,
    )
    return DiaryTimes(off_s, on_s, onset_s, wake_s), rls


def _detection_levels(trace: MovementTrace) -> dict[str, float | None]:
    """Median noise floor and onset threshold over the blocks with signal (mg): the size of the
    smallest movement the night could show."""
    ok = trace.valid_frac > 0
    if not ok.any():
        return {"noise_floor_mg": None, "onset_threshold_mg": None}
    return {
        "noise_floor_mg": round(float(np.nanmedian(trace.floor_mg[ok])), 2),
        "onset_threshold_mg": round(float(np.nanmedian(trace.on_mg[ok])), 2),
    }


def _clock(start: dt.datetime, t_s: float) -> str:
    return (pd.Timestamp(start) + pd.Timedelta(seconds=t_s)).isoformat()


def _actigraphy_epochs(
    trace: MovementTrace, lms: pd.DataFrame, config: Config, rec_end_s: float, window: tuple[float, float]
) -> tuple[pd.DataFrame, str]:
    """Sleep/wake epochs from ankle activity; only epochs wholly inside ``window`` may be sleep."""
    ep_s = config.sleepwake.epoch_s
    n = int(np.ceil(rec_end_s / ep_s))
    act, valid = epoch_activity(trace, ep_s, n)
    # which movements are periodic: always by the WASM 2016 series rules, so the estimated sleep
    # (and with it TST) is the same whichever rule set scores the night
    periodic = score_lms(lms, WASM2016)
    load = epoch_movement_load(periodic, ep_s, n)
    asleep = score_sleep_wake(act, config.sleepwake, load)
    onsets = np.arange(n) * ep_s
    inside = (onsets >= window[0] - 1e-9) & (onsets + ep_s <= window[1] + 1e-9)
    asleep &= inside
    sp = sleep_period(asleep, config.sleepwake)
    if sp is None:
        asleep[:] = False
    else:
        asleep[: sp[0]] = False
        asleep[sp[1] :] = False
    stage = np.where(asleep, "S", "W").astype(object)
    return (
        pd.DataFrame(
            {"onset_s": onsets, "duration_s": ep_s, "stage": stage, "activity": act, "load_mg_s": load, "valid": valid}
        ),
        "actigraphy",
    )


def _given_hypnogram_epochs(hyp: pd.DataFrame, trace: MovementTrace, config: Config) -> pd.DataFrame:
    ep = hyp[["onset_s", "duration_s", "stage"]].copy().sort_values("onset_s", kind="stable").reset_index(drop=True)
    n = len(ep)
    ep_s = float(ep["duration_s"].median()) if n else config.sleepwake.epoch_s
    t0 = float(ep["onset_s"].iloc[0]) if n else 0.0
    act, valid = epoch_activity(trace, ep_s, n, t0_s=t0)
    ep["activity"] = act
    ep["valid"] = valid
    return ep


def process_night(
    recording: Recording,
    config: Config | None = None,
    *,
    diary: pd.DataFrame | None = None,
    pad_log: pd.DataFrame | None = None,
    hypnogram: pd.DataFrame | None = None,
    respiratory: pd.DataFrame | None = None,
) -> NightResult:
    """Detect and score leg movements in one night.

    Parameters
    ----------
    recording
        One night from one ankle sensor.
    config
        Processing parameters; ``Config()`` (WASM 2016) when omitted.
    diary
        RLS diary (:func:`lmdetect.io.diary.read_diary`): lights-off/on rows set time in bed,
        episodes are reported against PLMs.
    pad_log
        Vibration-pad log (:func:`lmdetect.io.diary.read_pad_log`): the logged sessions are compared
        with the vibration found in the signal and PLMs are counted around them. They are masked
        from LM detection only with ``Config.mask_logged_pads``; by default only vibration seen in
        the signal is masked. What was done with each session is recorded in the summary
        (``context.pad.handling``).
    hypnogram
        30-s epochs (onset_s, duration_s, stage, seconds since the recording start) from PSG; takes
        precedence over ankle actigraphy for sleep/wake and stages.
    respiratory
        Respiratory events (onset_s, duration_s, kind) for CLMr / PLMnr (WASM 2016).

    Returns
    -------
    NightResult
    """
    config = config or Config()
    if recording.n_samples == 0:  # e.g. a recording whose sensor never sent a sample
        raise LmdetectError("the recording holds no samples: nothing to score")
    rules = get_rule_set(config.rules)
    clock = fit_clock(recording)
    reg: RegularSignal = to_regular_grid(recording, clock)
    mag = movement_magnitude(reg, config.detect)

    vib = detect_vibration(reg, config.vibration) if config.detect_vibration else pd.DataFrame(
        columns=["onset_s", "duration_s", "freq_hz", "amplitude_mg"]
    )
    pads = _pad_masks(vib, pad_log, recording.start, config)
    mask = mask_intervals(reg.n, reg.fs, reg.t0_s, pads)
    lms, trace = detect_lms(reg, config.detect, side=recording.side, mask=mask, magnitude_mg=mag)
    nonwear = detect_nonwear(reg, config.nonwear)

    rec_end_s = reg.t0_s + reg.duration_s
    dtimes, rls = _diary_parts(diary, recording.start, rec_end_s)
    off_s, on_s = dtimes.lights_off_s, dtimes.lights_on_s
    tib = (max(0.0, off_s) if off_s is not None else 0.0, min(rec_end_s, on_s) if on_s is not None else rec_end_s)
    lights = (off_s is not None, on_s is not None)
    if tib[1] <= tib[0]:
        tib = (0.0, rec_end_s)
        lights = (False, False)  # the diary's lights do not bound this recording
    # what bounds time in bed: the diary's lights off/on, the recording's ends, or one of each
    tib_source = {(True, True): "diary", (False, False): "recording"}.get(lights, "diary+recording")
    if hypnogram is not None and len(hypnogram):
        epochs = _given_hypnogram_epochs(hypnogram, trace, config)
        source = period_source = "hypnogram"
    else:
        # the diary's sleep onset / final awakening, when logged, bound the sleep period: quiet
        # wake in bed looks like sleep to any actigraph (Smith et al., J Clin Sleep Med 2018)
        window = (
            max(tib[0], dtimes.sleep_onset_s) if dtimes.sleep_onset_s is not None else tib[0],
            min(tib[1], dtimes.final_awakening_s) if dtimes.final_awakening_s is not None else tib[1],
        )
        epochs, source = _actigraphy_epochs(trace, lms, config, rec_end_s, window)
        if off_s is not None or on_s is not None or dtimes.sleep_onset_s is not None:
            source = "diary+actigraphy"
        logged = (dtimes.sleep_onset_s is not None, dtimes.final_awakening_s is not None)
        period_source = {(True, True): "diary", (False, False): "actigraphy"}.get(logged, "diary+actigraphy")
    # epochs without usable signal (gaps, pad vibration) cannot show PLMs: leave them out of TST
    # and wake time, so the indices are per hour of *observed* sleep
    epochs["observed"] = epochs["valid"].to_numpy(float) >= config.min_observed_fraction
    sleep = SleepInfo(
        hypnogram=epochs.loc[epochs["observed"], ["onset_s", "duration_s", "stage"]].reset_index(drop=True),
        tib_start_s=tib[0],
        tib_end_s=tib[1],
        source=source,
    )
    scored = score_lms(lms, rules, hypnogram=sleep.hypnogram, respiratory=respiratory)
    indices = night_indices(scored, sleep, rules)

    info = recording.describe()
    g = recording.gaps()
    quality = {
        "recorded_h": round(float(reg.valid.sum() / reg.fs / 3600.0), 4),
        "n_gaps": int(len(g)),
        "gap_total_s": round(float(g["duration_s"].sum()), 3),
        "n_backfilled": recording.n_backfilled,
        "nonwear_h": round(float(nonwear["duration_s"].sum() / 3600.0), 4),
        "wear_h": round(float(reg.valid.sum() / reg.fs / 3600.0 - nonwear["duration_s"].sum() / 3600.0), 4),
        "clock_source": clock.source,
        "clock_drift_ppm": round(clock.drift_ppm, 3),
        # the analysis grid's rate on the host clock; the sensor's own effective rate is
        # recording.fs_effective_hz
        "grid_fs_hz": round(reg.fs, 6),
        "masked_pad_h": round(float(mask.sum() / reg.fs / 3600.0), 4),
        **_detection_levels(trace),
    }
    summary: dict[str, Any] = dict(indices)
    summary.update(
        {
            "rule_set": config.rules,
            "sleep_source": source,
            "sleep_period_source": period_source,
            "tib_source": tib_source,
            "config_hash": config.hash(),
            "recording_start": recording.start.isoformat(),
            "device_id": recording.device_id,
            "side": recording.side,
            "n_vibration_detected": int(len(vib)),
            "n_pad_logged": int(0 if pad_log is None else len(pad_log)),
            "n_rls_episodes": int(len(rls)),
            "quality": quality,
        }
    )
    summary["context"] = night_context(
        scored, rls, pads, vib, rules=rules, window=(tib[0], tib[1]), trace=trace, pad_log=pad_log, start=recording.start
    )
    return NightResult(
        recording_info=info,
        start=recording.start,
        events=scored,
        epochs=epochs,
        trace=trace,
        vibration=vib,
        pad_sessions=pads,
        rls_episodes=rls,
        nonwear=nonwear,
        clock=clock,
        sleep=sleep,
        summary=summary,
        config=config,
    )
