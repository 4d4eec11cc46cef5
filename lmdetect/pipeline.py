"""``process_night``: one night of ankle acceleration in, scored leg movements and indices out.

Pure: no file, network or plotting. Stages: clock fit -> uniform grid with gaps masked ->
vibration-pad detection -> removal of the pad's vibration line (masking only where a residual is
left) -> LM detection -> sleep/wake (a given
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
from .preprocessing.filters import design_lowpass
from .preprocessing.grid import RegularSignal, to_regular_grid
from .preprocessing.lines import LINE_TRACK_COLUMNS, LineTrack, remove_lines
from .preprocessing.nonwear import detect_nonwear
from .preprocessing.spikes import remove_spikes
from .scoring import WASM2016, SleepInfo, get_rule_set, night_indices, score_lms
from .sleepwake.actigraphy import epoch_activity, epoch_movement_load, score_sleep_wake, sleep_period
from .sleepwake.diary import DiaryRowCheck, reconcile_sleep_diary
from .summary.interventions import (
    interventions_context,
    interventions_table,
    night_conditions,
    night_interventions,
    pad_reference_sessions,
)
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
        Periods masked from LM detection: onset_s, duration_s, source ("residual": vibration
        left above ``Config.max_residual_mg`` after line removal; "log" when
        ``Config.mask_logged_pads`` is set).
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


def _logged_pads(pad_log: pd.DataFrame | None, start: dt.datetime) -> pd.DataFrame:
    """Logged pad sessions in seconds since the recording start (onset_s, duration_s)."""
    if pad_log is None or len(pad_log) == 0:
        return pd.DataFrame(columns=["onset_s", "duration_s"])
    on = _seconds(pad_log["start"], start)
    off = _seconds(pad_log["end"], start)
    return pd.DataFrame({"onset_s": on, "duration_s": off - on})


def _pad_masks(
    residual_mask: np.ndarray, fs: float, t0_s: float, logged: pd.DataFrame, config: Config
) -> pd.DataFrame:
    """The periods masked from LM detection: where the vibration left after line removal is above
    ``Config.max_residual_mg`` (source ``residual``), and logged sessions when
    ``Config.mask_logged_pads`` is set (source ``log``)."""
    rows = []
    if config.mask_logged_pads:
        for a, d in zip(logged["onset_s"].to_numpy(float), logged["duration_s"].to_numpy(float), strict=True):
            rows.append({"onset_s": a, "duration_s": d + config.pad_log_margin_s, "source": "log"})
    edge = np.zeros(1, np.int8)  # int8 throughout: a Python 0 would widen the night to int64
    d = np.diff(np.concatenate((edge, residual_mask.view(np.int8), edge)))
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
        rows.append({"onset_s": t0_s + a / fs, "duration_s": (b - a) / fs, "source": "residual"})
    return pd.DataFrame(rows, columns=["onset_s", "duration_s", "source"])


def _grow(mask: np.ndarray, guard: int) -> np.ndarray:
    """``mask`` widened by ``guard`` samples on each side."""
    if guard <= 0 or not mask.any():
        return mask
    # each run of the mask, widened (no whole-night running count and index arrays)
    edge = np.zeros(1, np.int8)
    d = np.diff(np.concatenate((edge, mask.view(np.int8), edge)))
    n = mask.size
    out = np.zeros(n, dtype=bool)
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
        out[max(0, a - guard) : min(n, b + guard)] = True
    return out


def _pad_measurement(
    sessions: pd.DataFrame,
    track: LineTrack,
    trace: MovementTrace,
    usable: np.ndarray,
    residual: np.ndarray,
    fs: float,
    t0_s: float,
) -> list[dict[str, Any]]:
    """Per pad session (detected and logged), how much of it could be measured and how finely.

    Keys per session: onset_s, duration_s, source (``detected``/``log``), line_freq_hz (median
    tracked line as sampled; None when no line was seen), line_amplitude_mg (median amplitude
    of the removed line), residual_mg (median residual line in the movement signal, RMS),
    measurable_fraction (share of the session with usable signal after the residual mask),
    masked_s (time masked for residual vibration), detection_limit_mg (median onset threshold
    over the measurable part: the smallest movement that could be detected there).
    """
    out: list[dict[str, Any]] = []
    times = trace.times_s
    for row in sessions.itertuples(index=False):
        a, d = float(row.onset_s), float(row.duration_s)
        lo = int(np.clip(np.floor((a - t0_s) * fs), 0, usable.size))
        hi = int(np.clip(np.ceil((a + d - t0_s) * fs), 0, usable.size))
        meas = float(usable[lo:hi].mean()) if hi > lo else 0.0
        fr = track.between(a, a + d)
        seen = fr[fr["fitted"].astype(bool)] if len(fr) else fr
        blk = (times >= a) & (times < a + d) & (trace.valid_frac > 0)
        if blk.any() and hi > lo:
            bs = max(1, round(trace.block_s * fs))
            ub = usable[: (usable.size // bs) * bs].reshape(-1, bs).mean(axis=1)
            ub = np.r_[ub, np.zeros(max(0, times.size - ub.size))][: times.size]
            blk &= ub > 0.5
        out.append(
            {
                "onset_s": round(a, 3),
                "duration_s": round(d, 3),
                "source": str(row.source),
                "line_freq_hz": round(float(np.nanmedian(seen["freq_hz"])), 3) if len(seen) else None,
                "line_amplitude_mg": round(float(np.median(seen["amplitude_mg"])), 3) if len(seen) else None,
                "residual_mg": round(float(np.median(fr["residual_mg"])), 3) if len(fr) else None,
                "measurable_fraction": round(meas, 4),
                "masked_s": round(float(residual[lo:hi].sum() / fs), 3),
                "detection_limit_mg": round(float(np.nanmedian(trace.on_mg[blk])), 2) if blk.any() else None,
            }
        )
    return out


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


#: Mean magnitude of three-axis Gaussian noise over its per-axis RMS, 2 sqrt(2 / pi) (the mean of
#: a chi distribution with 3 degrees of freedom): turns the resting envelope into the sensor's noise.
_CHI3_MEAN = 1.5958


def _detection_levels(trace: MovementTrace, config: Config) -> dict[str, float | bool | None]:
    """The night's noise and detection limit (mg), medians over the blocks with signal.

    ``noise_floor_mg`` is the resting level of the movement envelope, ``noise_rms_mg`` the
    per-axis sensor noise in the movement band it implies, ``onset_threshold_mg`` the detection
    limit (the smallest movement the night could show) and ``detection_limited`` says whether that
    limit is above ``DetectParams.faint_movement_mg``: faint movements were not measurable.
    """
    ok = trace.valid_frac > 0
    if not ok.any():
        return {"noise_floor_mg": None, "noise_rms_mg": None, "onset_threshold_mg": None, "detection_limited": None}
    floor = float(np.nanmedian(trace.floor_mg[ok]))
    on = float(np.nanmedian(trace.on_mg[ok]))
    return {
        "noise_floor_mg": round(floor, 2),
        "noise_rms_mg": round(floor / _CHI3_MEAN, 2),
        "onset_threshold_mg": round(on, 2),
        "detection_limited": bool(on > config.detect.faint_movement_mg),
    }


def _clock(start: dt.datetime, t_s: float) -> str:
    return (pd.Timestamp(start) + pd.Timedelta(seconds=t_s)).isoformat()


def _actigraphy_epochs(
    trace: MovementTrace, lms: pd.DataFrame, config: Config, rec_end_s: float, tib: tuple[float, float], dtimes: DiaryTimes
) -> tuple[pd.DataFrame, str, list[DiaryRowCheck]]:
    """Sleep/wake epochs from ankle activity inside time in bed, the sleep period guided by the
    diary's sleep onset / final awakening (:func:`reconcile_sleep_diary`)."""
    ep_s = config.sleepwake.epoch_s
    n = int(np.ceil(rec_end_s / ep_s))
    act, valid = epoch_activity(trace, ep_s, n)
    # which movements are periodic: always by the WASM 2016 series rules, so the estimated sleep
    # (and with it TST) is the same whichever rule set scores the night
    periodic = score_lms(lms, WASM2016())
    load = epoch_movement_load(periodic, ep_s, n)
    asleep = score_sleep_wake(act, config.sleepwake, load)
    onsets = np.arange(n) * ep_s

    def inside(w: tuple[float, float]) -> np.ndarray:
        return (onsets >= w[0] - 1e-9) & (onsets + ep_s <= w[1] + 1e-9)

    asleep &= inside(tib)
    # the diary's sleep times bound the sleep period unless periodic LMs in actigraphy sleep lie
    # beyond them: quiet wake in bed looks like sleep to any actigraph (Smith et al., J Clin Sleep
    # Med 2018), but a diary line hours off must not drop the PLMs of a whole sleep cycle
    window, checks = reconcile_sleep_diary(
        asleep & np.isfinite(act),  # epochs without signal are no evidence of sleep
        periodic,
        config.sleepwake,
        tib=tib,
        diary_onset_s=dtimes.sleep_onset_s,
        diary_wake_s=dtimes.final_awakening_s,
    )
    asleep &= inside(window)
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
        checks,
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
        with the vibration found in the signal and PLMs are counted around them. Leg movements are
        measured through the pad's vibration (its line is removed); logged sessions are masked only
        with ``Config.mask_logged_pads``. What was done with each session and how measurable it was
        are recorded in the summary (``context.pad.handling``, ``summary["pad_measurement"]``).
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
    despiked, n_spikes = remove_spikes(reg.accel_g)
    if n_spikes:
        reg = dataclasses.replace(reg, accel_g=despiked)
    vib = detect_vibration(reg, config.vibration) if config.detect_vibration else pd.DataFrame(
        columns=["onset_s", "duration_s", "freq_hz", "amplitude_mg"]
    )
    logged = _logged_pads(pad_log, recording.start)
    # measure through the vibration: track and subtract the line of each session seen in the
    # signal, then mask only where what is left could still reach the movement signal. Logged
    # sessions the signal does not show (a sensor that filters the vibration out) are measured as
    # they are; their facts are reported all the same
    sessions = pd.concat(
        [vib.assign(source="detected"), logged.assign(source="log", freq_hz=np.nan)], ignore_index=True
    )[["onset_s", "duration_s", "freq_hz", "source"]]
    cutoff = min(config.detect.lowpass_hz, 0.45 * reg.fs)
    clean, track = (
        remove_lines(reg, vib, config.lines, lowpass_sos=design_lowpass(reg.fs, cutoff, config.detect.filter_order))
        if config.remove_vibration and len(vib)
        else (reg, LineTrack(pd.DataFrame(columns=list(LINE_TRACK_COLUMNS)), 0.5))
    )
    residual = _grow(
        track.residual_above(reg.n, reg.fs, reg.t0_s, config.max_residual_mg), round(config.residual_guard_s * reg.fs)
    )
    pads = _pad_masks(residual, reg.fs, reg.t0_s, logged, config)
    mask = mask_intervals(reg.n, reg.fs, reg.t0_s, pads)
    mag = movement_magnitude(clean, config.detect)
    lms, trace = detect_lms(clean, config.detect, side=recording.side, mask=mask, magnitude_mg=mag)
    usable = reg.valid & ~mask
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
    diary_checks: list[DiaryRowCheck] = []
    if hypnogram is not None and len(hypnogram):
        epochs = _given_hypnogram_epochs(hypnogram, trace, config)
        source = period_source = "hypnogram"
    else:
        epochs, source, diary_checks = _actigraphy_epochs(trace, lms, config, rec_end_s, tib, dtimes)
        if off_s is not None or on_s is not None or dtimes.sleep_onset_s is not None:
            source = "diary+actigraphy"
        kept = [c.status == "diary" for c in diary_checks]
        period_source = "actigraphy" if not kept else ("diary" if len(kept) == 2 and all(kept) else "diary+actigraphy")
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
        "n_spikes_removed": n_spikes,
        "nonwear_h": round(float(nonwear["duration_s"].sum() / 3600.0), 4),
        "wear_h": round(float(reg.valid.sum() / reg.fs / 3600.0 - nonwear["duration_s"].sum() / 3600.0), 4),
        "clock_source": clock.source,
        "clock_drift_ppm": round(clock.drift_ppm, 3),
        # the analysis grid's rate on the host clock; the sensor's own effective rate is
        # recording.fs_effective_hz
        "grid_fs_hz": round(reg.fs, 6),
        "masked_pad_h": round(float(mask.sum() / reg.fs / 3600.0), 4),
        "vibration_removed_h": round(float(track.frames["fitted"].astype(bool).sum() * track.hop_s / 3600.0), 4)
        if len(track.frames)
        else 0.0,
        # movements already under way where usable signal resumed (after a gap or a masked
        # stretch): their onset was not observed, so they were not scored as new LMs
        "n_lms_onset_unseen": trace.unseen_onsets,
        **_detection_levels(trace, config),
    }
    summary: dict[str, Any] = dict(indices)
    summary.update(
        {
            "rule_set": config.rules,
            "sleep_source": source,
            "sleep_period_source": period_source,
            "tib_source": tib_source,
            # diary rows the actigraphy overruled, and what became of each logged row
            "sleep_diary_overruled": sum(c.status != "diary" for c in diary_checks),
            "sleep_diary_check": {c.item: c.to_dict(lambda t: _clock(recording.start, t)) for c in diary_checks},
            "config_hash": config.hash(),
            "recording_start": recording.start.isoformat(),
            "device_id": recording.device_id,
            "side": recording.side,
            "n_vibration_detected": int(len(vib)),
            "n_pad_logged": int(0 if pad_log is None else len(pad_log)),
            "n_rls_episodes": int(len(rls)),
            "quality": quality,
            "pad_measurement": _pad_measurement(sessions, track, trace, usable, residual, reg.fs, reg.t0_s),
        }
    )
    summary["context"] = night_context(
        scored, rls, pads, vib, rules=rules, window=(tib[0], tib[1]), trace=trace, pad_log=pad_log, start=recording.start
    )
    # every treatment of the night, the pad included, and PLMs around the timed ones
    pad_ref, pad_source = pad_reference_sessions(summary["context"]["pad"])
    treatments = night_interventions(diary, recording.start, pad_ref, pad_source)
    summary["conditions"] = night_conditions(treatments)
    summary["interventions"] = interventions_table(treatments, recording.start)
    summary["context"]["interventions"] = interventions_context(
        scored, treatments, rules=rules, window=(tib[0], tib[1]), trace=trace
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
