"""Parameters of leg-movement detection from ankle acceleration (frozen, validated, with units).

The EMG-based rules of WASM 2016 (Ferri et al., Sleep Med 2016;21:1-11) define an LM by an onset
threshold, an offset after >= 0.5 s below a lower threshold, a minimum duration of 0.5 s and, for
computer detection, a morphology criterion (a >= 0.5 s window whose median exceeds the low
threshold). We carry that structure over to acceleration: the thresholds are multiples of an
adaptive noise floor with absolute minimums in mg, in the spirit of ankle devices (PAM-RL 200/100
mg on/off, Sforza et al., Sleep Med 2005; NeuroMetrix 20/30 mg; Sicbaldi et al., Sci Rep 2025 15 mg)
and of the open pendulum design (onset 8x floor, offset 0.3125x onset). The default numbers were
tuned on the simulator (benchmarks/accuracy.py) and are not validated against PSG.

The vibration-pad detector's settings live here too: this module imports no numerical library, so
the processing configuration (:mod:`lmdetect.config`) is built without numpy, pandas or scipy.
"""

from __future__ import annotations

import dataclasses

from .._params import Params, check_positive, check_range

__all__ = ["DetectParams", "VibrationParams"]


@dataclasses.dataclass(frozen=True)
class DetectParams(Params):
    """Leg-movement detector settings.

    Attributes
    ----------
    lowpass_hz, filter_order
        Low-pass applied to each axis (zero-phase Butterworth; clipped to 0.45 fs) to cut sensor
        noise and vibration above the limb-movement band.
    baseline_window_s, baseline_block_s
        The resting orientation (gravity as the sensor sees it at rest) is the running median
        of block means over this window; a 0.5-10 s movement occupies less than half of it, so
        the baseline does not follow the movement. The movement signal is the magnitude of the
        deviation from this baseline: it covers both the change of the gravity projection while
        the limb is rotated (including a held dorsiflexion) and the linear acceleration.
    baseline_quiet_factor
        Only blocks at rest enter that median: a block whose mean differs from a neighbour's by
        more than this factor x the night's median block-to-block change is moving and left out,
        and the median is taken over the window before and the window after each block, keeping
        the one closer to the block (0 = a centred median of every block). Otherwise movements
        just before a posture change can pull the per-axis median off the resting value and the
        change is detected seconds early.
    envelope_s
        Width of the moving average of the movement magnitude (the detection envelope).
    floor_block_s, floor_window_s, floor_percentile
        Adaptive noise floor: mean envelope per block, then this percentile over a sliding
        window of blocks.
    on_factor, off_factor
        Onset threshold = max(on_min_mg, on_factor x floor); offset threshold =
        max(off_min_mg, off_factor x floor).
    on_min_mg, off_min_mg
        Absolute minimum thresholds (mg).
    offset_quiet_s
        The LM ends at the start of the first stretch this long below the offset threshold
        (WASM 2016 offset rule).
    onset_backtrack_s, onset_floor_factor
        An onset moves back (at most this far) to the last sample where the envelope was within
        ``onset_floor_factor`` x the noise floor: where the movement left rest, as EMG scoring
        places onsets, rather than where a slow movement crossed the threshold.
    min_duration_s
        Shortest LM (WASM 2016: 0.5 s).
    duration_peak_fraction
        For the minimum duration, the LM must also stay this long above this fraction of its
        own peak envelope: the filters spread a burst of 0.25 s into a bump whose skirts cross a
        threshold at the sensor's noise for longer than 0.5 s (0 = off).
    morphology_window_s
        Morphology criterion: some window of this length inside the LM must have at least half
        its samples above the offset threshold (its median above it).
    merge_gap_s
        LMs closer than this (offset to onset) are joined (WASM 2016 same-leg rule).
    posture_angle_deg
        A movement after which the gravity direction differs by more than this from before is a
        posture change (never a CLM).
    gravity_window_s
        Window before onset and after offset over which the resting gravity vector is averaged.
    gross_amplitude_mg
        Movements with a peak movement magnitude above this are gross body movements (non-CLM).
    peak_floor_factor
        The offset threshold is also at least this factor x the rest level of the envelope's
        peaks (the ``floor_percentile`` of the per-block envelope maxima over the floor window),
        and the onset threshold that times ``on_factor / off_factor`` (0 = off). On noise spread
        over three axes the mean-based floor governs; noise on a single axis swings far above its
        mean and would otherwise cross the thresholds often enough to make false LMs and series.
        1.4 removes those at no cost on the simulator grid.
    gap_guard_s
        No LM is detected within this time of a gap (filter settling), or within the gap's own
        length when that is shorter (a single lost packet barely disturbs the filters).
    faint_movement_mg
        A night whose detection limit (median onset threshold) is above this is flagged in
        ``quality.detection_limited``: the faint movements of a PLM series (10-20 mg) could not
        be seen on that sensor.
    bridge_gap_s
        A movement continues across an unusable stretch (gap plus guard) of at most this length
        when the envelope is above the offset threshold on both sides, so a lost BLE packet does
        not split one LM into fragments that fail the minimum duration (0 = never bridge).
    drop_unseen_onsets
        A movement already above the offset threshold at the first usable sample after a gap or
        a masked stretch (pad vibration left after line removal) is not a new LM: it began unseen,
        and its onset, from which PLM intervals are measured, is unknown. Counting it would add
        a movement with a late onset (a false LM next to the true one). Such movements are left
        out and counted in ``MovementTrace.unseen_onsets``.
    sustained_on_factor
        Second onset criterion (0 = off): an LM also starts where the envelope averaged over
        ``min_duration_s`` (a matched filter for the shortest LM) exceeds this factor x the noise
        floor (with the same peak-rest-level bound as the offset threshold, scaled). Averaging
        over 0.5 s narrows the noise's spread, so a lower level is as safe against still-leg false
        detections as the onset threshold on the 0.25-s envelope, and faint, sustained movements
        that never reach ``on_factor`` are found (hysteresis: the run still ends at the offset
        threshold).
    """

    lowpass_hz: float = 5.0
    filter_order: int = 2
    baseline_window_s: float = 30.0
    baseline_block_s: float = 0.5
    baseline_quiet_factor: float = 3.0
    envelope_s: float = 0.25
    floor_block_s: float = 1.0
    floor_window_s: float = 61.0
    floor_percentile: float = 20.0
    peak_floor_factor: float = 1.4
    on_factor: float = 3.0
    off_factor: float = 2.0
    on_min_mg: float = 1.5
    off_min_mg: float = 1.0
    offset_quiet_s: float = 0.5
    onset_backtrack_s: float = 2.0
    onset_floor_factor: float = 1.5
    min_duration_s: float = 0.5
    duration_peak_fraction: float = 0.2
    morphology_window_s: float = 0.5
    merge_gap_s: float = 0.5
    posture_angle_deg: float = 20.0
    gravity_window_s: float = 2.0
    gross_amplitude_mg: float = 1500.0
    gap_guard_s: float = 2.0
    bridge_gap_s: float = 2.0
    faint_movement_mg: float = 10.0
    drop_unseen_onsets: bool = True
    sustained_on_factor: float = 2.2

    def __post_init__(self) -> None:
        for name in (
            "lowpass_hz",
            "baseline_window_s",
            "baseline_block_s",
            "envelope_s",
            "floor_block_s",
            "floor_window_s",
            "on_factor",
            "off_factor",
            "on_min_mg",
            "off_min_mg",
            "offset_quiet_s",
            "min_duration_s",
            "morphology_window_s",
            "gravity_window_s",
            "gross_amplitude_mg",
        ):
            check_positive(name, getattr(self, name))
        check_range("floor_percentile", self.floor_percentile, 0, 100)
        check_range("posture_angle_deg", self.posture_angle_deg, 0, 180)
        check_range("filter_order", self.filter_order, 1, 8)
        check_range("merge_gap_s", self.merge_gap_s, 0, 60)
        check_range("gap_guard_s", self.gap_guard_s, 0, 60)
        check_range("baseline_quiet_factor", self.baseline_quiet_factor, 0, 100)
        check_range("peak_floor_factor", self.peak_floor_factor, 0, 100)
        check_range("bridge_gap_s", self.bridge_gap_s, 0, 10)
        check_range("onset_backtrack_s", self.onset_backtrack_s, 0, 10)
        check_range("onset_floor_factor", self.onset_floor_factor, 1, 10)
        check_range("duration_peak_fraction", self.duration_peak_fraction, 0, 0.9)
        check_range("sustained_on_factor", self.sustained_on_factor, 0, 100)
        if self.baseline_block_s * 3 > self.baseline_window_s:
            from ..errors import ConfigError

            raise ConfigError("baseline_window_s must span at least 3 baseline blocks")
        if self.off_min_mg > self.on_min_mg or self.off_factor > self.on_factor:
            from ..errors import ConfigError

            raise ConfigError("the offset threshold must not exceed the onset threshold")


@dataclasses.dataclass(frozen=True)
class VibrationParams(Params):
    """Settings of the vibration-session detector.

    Attributes
    ----------
    window_s
        Spectral window length.
    hop_s
        Time between the starts of analysed windows (>= window_s).
    min_freq_hz
        Peaks below this frequency are ignored (posture and the slowest movements live there; an
        alias inside the movement band above it is still found).
    concentration
        Minimum share of the window's power (above ``min_freq_hz``) within
        +-``peak_halfwidth_hz`` of the peak.
    peak_halfwidth_hz
        Half-width of the band around the spectral peak that counts as the vibration line.
    min_rms_mg
        Minimum RMS of the peak component (mg).
    max_freq_iqr_hz
        Largest interquartile range of the line frequency within a session (a motor runs at a
        steady speed; leg movements that happen to look narrowband do not share one frequency).
    smooth_s
        Sliding window over which the share of hit windows is computed.
    max_break_s
        Windows without vibration up to this long do not end a session (a leg movement on
        the pad).
    min_session_s
        Shortest vibration run reported as a session.
    join_gap_s
        Sessions closer than this, with line frequencies within ``max_freq_iqr_hz``, are one
        session (a Relaxis cycle lasts 35 min; FDA DEN110011).
    min_hit_fraction
        Share of a session's windows that must show the narrowband peak (the pad runs
        continuously; a periodic train of leg movements does not).
    margin_s
        Time added before and after a detected session when it is used as a detection mask.
    """

    window_s: float = 4.0
    hop_s: float = 8.0
    min_freq_hz: float = 1.0
    concentration: float = 0.5
    peak_halfwidth_hz: float = 1.0
    min_rms_mg: float = 2.0
    max_freq_iqr_hz: float = 3.0
    smooth_s: float = 60.0
    max_break_s: float = 60.0
    min_session_s: float = 120.0
    min_hit_fraction: float = 0.5
    join_gap_s: float = 900.0
    margin_s: float = 30.0

    def __post_init__(self) -> None:
        for name in ("window_s", "hop_s", "min_freq_hz", "min_rms_mg", "max_freq_iqr_hz", "smooth_s", "min_session_s", "peak_halfwidth_hz"):
            check_positive(name, getattr(self, name))
        check_range("concentration", self.concentration, 0, 1)
        check_range("min_hit_fraction", self.min_hit_fraction, 0, 1)
        check_range("join_gap_s", self.join_gap_s, 0, 24 * 3600)
        check_range("max_break_s", self.max_break_s, 0, 3600)
        check_range("margin_s", self.margin_s, 0, 3600)
