"""Simulation profiles: frozen parameter sets of the sleeper, the leg, the pad and the IMU.

A :class:`Profile` holds every number the night simulator draws from. The named profiles in
:data:`PROFILES` are tuned so that the *true* PLMS index (WASM 2016 rules applied to the simulated
movements) falls in :attr:`Profile.plms_index_range`; the test-suite checks this over several seeds.

Ranges are written as ``(low, high)`` tuples; a value is drawn uniformly from the range once per
night unless the field's comment says otherwise. Fields are grouped by prefix: ``sleep_`` (hypnogram),
``plm_`` (periodic series), ``lm_`` (movement sizes), ``isolated_``/``long_``/``posture_``/``voluntary_``
(other movements), ``rls_`` (wake episodes with restless legs), ``pad_`` (vibration pad), ``imu_``
(the sensor) and ``link_`` (BLE packets and losses).

Physiological anchors (cited where a number depends on them):

* ~90-min NREM/REM cycles, N3 front-loaded and REM lengthening across the night: Carskadon & Dement,
  in *Principles and Practice of Sleep Medicine* (2011).
* PLM inter-movement intervals mostly 20-40 s, with a short-interval (2-5 s) mode in RLS: Shin et al.,
  J Clin Sleep Med 2016 (bimodal IMI distribution).
* PLMs most frequent in N1/N2, fewer in N3 and rare in REM: Pollmächer & Schulz, Sleep 1993.
* PLM rate declining across the night: Sforza & Haba-Rubio, Sleep Med 2005.
* RLS patients: PLMS index > 5/h in ~80 %, often 30-60/h in those with marked PLMS: Montplaisir et al.,
  Mov Disord 1997; healthy sleepers mostly < 5/h, 90th percentile 24.8/h: Frauscher et al., Sleep 2014.
* Sleeping positions: adults spend about half the night on their side, a third supine and under a
  tenth prone (Skarpsno et al., Nat Sci Sleep 2017, free-living accelerometry); a shank flexion on
  the side barely changes the gravity projection, so the sensor feels mostly linear acceleration.
* Faint movements: many EMG-scored LMs show little or no limb acceleration (Terrill et al., IEEE EMBC
  2013: 39 % of LMs without toe movement); ankle detectors put their thresholds at 15-20 mg
  (Sicbaldi et al., Sci Rep 2025; NeuroMetrix patents), so 7-20 mg series members are the hard case.
* Sensor noise: consumer MEMS accelerometers have noise densities of about 70-300 ug/sqrt(Hz)
  (datasheets of e.g. the Bosch BMI270 and ST LSM6DSO), 1-2 mg RMS at the rates used here.
* Vibration pad cycle of 30 min at a set intensity (1-9), a 5-min ramp-down and one optional repeat:
  FDA De Novo DEN110011 (Symphony/Relaxis device, 2013). The motor frequency and the amplitude at the
  ankle are **assumptions** (eccentric-rotating-mass motors typically run at tens to a few hundred Hz);
  the device documents do not state them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from lmdetect._params import Params, check_nonnegative, check_option, check_positive, check_range
from lmdetect.errors import ConfigError

__all__ = ["Profile", "PROFILES", "AA_FILTERS", "LM_SCALINGS", "POSTURE_WEIGHTS", "get_profile"]

#: Anti-alias behaviours of the IMU model (see :mod:`firmware_sim.imu`).
AA_FILTERS: tuple[str, ...] = ("partial", "lpf", "none")
#: What a movement's drawn size means: the sensed peak in the current posture, or the peak the same
#: movement would give supine (so on the side the sensed peak comes out smaller).
LM_SCALINGS: tuple[str, ...] = ("sensed", "angle")

Range = tuple[float, float]

#: Default weights of the resting postures supine, left side, right side, prone.
POSTURE_WEIGHTS: tuple[float, float, float, float] = (0.45, 0.22, 0.22, 0.11)


def _check_pair(name: str, value: Any, lo: float = 0.0, hi: float = float("inf")) -> None:
    if not (isinstance(value, tuple) and len(value) == 2):
        raise ConfigError(f"{name} must be a (low, high) pair, got {value!r}")
    a, b = value
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)):
        raise ConfigError(f"{name} must hold two numbers, got {value!r}")
    if not lo <= a <= b <= hi:
        raise ConfigError(f"{name} must satisfy {lo} <= low <= high <= {hi}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class Profile(Params):
    """All parameters of one kind of simulated night.

    Every field with a ``_range`` suffix is a ``(low, high)`` pair; the others are scalars. See the
    module docstring for the groups and docs/simulator.md for the model behind each field.
    """

    name: str = "custom"
    description: str = ""
    #: Range the true WASM 2016 PLMS index is expected to fall in (validation target, /h of TST).
    plms_index_range: Range = (0.0, 200.0)

    # --- sleep architecture (30-s hypnogram) -------------------------------------------------
    sleep_lights_off_range_s: Range = (300.0, 1200.0)  # after the recording starts
    sleep_lights_on_range_s: Range = (300.0, 900.0)  # before the recording ends
    sleep_latency_median_s: float = 900.0  # lognormal median from lights off
    sleep_latency_sigma: float = 0.5
    sleep_cycle_median_s: float = 5400.0  # ~90-min NREM/REM cycle (Carskadon & Dement 2011)
    sleep_cycle_sd_s: float = 600.0
    sleep_n3_scale: float = 1.0  # multiplies the N3 share of each cycle
    sleep_brief_wake_per_h: float = 1.5  # awakenings of 0.5-3 min per hour of sleep
    sleep_long_wake_per_h: float = 0.25  # awakenings of 5-40 min per hour of sleep
    sleep_final_wake_median_s: float = 600.0  # awake in bed before lights on

    # --- periodic leg movements (series in sleep) ----------------------------------------------
    plm_rate_range_per_h: Range = (20.0, 40.0)  # series movements in sleep per hour of TST (night budget)
    plm_series_len_median: float = 20.0  # movements per series, lognormal (sigma 0.45), 4..150
    plm_imi_median_range_s: Range = (22.0, 32.0)  # night median IMI (Shin et al. 2016)
    plm_imi_sigma: float = 0.15  # lognormal spread of single IMIs around the series median
    plm_doublet_prob: float = 0.03  # a movement gets a companion 2-5 s later
    plm_decline: float = 0.45  # rate falls linearly from (1+d) to (1-d) across sleep (Sforza 2005)

    # --- movement sizes ---------------------------------------------------------------------
    lm_amplitude_median_mg: float = 80.0
    lm_amplitude_sigma: float = 0.45  # lognormal, per movement (plus night and series factors)
    lm_amplitude_limits_mg: Range = (10.0, 400.0)

    # --- other movements ----------------------------------------------------------------------
    isolated_lm_per_h: float = 3.0  # isolated LMs per hour of sleep
    long_per_h: float = 0.4  # movements > 10 s per hour of sleep
    posture_per_h: float = 1.5  # posture changes per hour of sleep (more around awakenings)
    voluntary_per_h: float = 12.0  # per hour awake in bed
    voluntary_amplitude_median_mg: float = 250.0
    posture_weights: tuple[float, float, float, float] = POSTURE_WEIGHTS  # supine, left, right, prone

    # --- variation (drawn from the "variation" stream; the defaults leave a night unchanged) -----
    plm_faint_prob: float = 0.0  # a series movement is faint: its size drawn from lm_faint_range_mg
    lm_faint_range_mg: Range = (7.0, 20.0)
    lm_shape_variation: float = 0.0  # share of LMs given one of the VARIANT_SHAPES (slow, jerk, rotation)
    lm_scaling: str = "sensed"  # see LM_SCALINGS

    # --- RLS episodes (wake) ----------------------------------------------------------------
    rls_onset_prob: float = 0.0  # an episode during the sleep latency
    rls_awakening_prob: float = 0.0  # an episode in a long awakening
    rls_imi_median_s: float = 7.0  # irregular IMIs, lognormal, clipped to 3-20 s
    rls_imi_sigma: float = 0.5
    rls_latency_factor: float = 1.0  # multiplies the sleep latency when an onset episode occurs

    # --- vibration pad --------------------------------------------------------------------------
    pad_sessions_range: tuple[int, int] = (0, 0)  # sessions per night (each at an RLS episode)
    pad_repeat_prob: float = 0.3  # the device allows one repeat cycle (DEN110011)
    pad_intensity_range: tuple[int, int] = (4, 8)  # device level 1-9
    pad_motor_hz_range: Range = (60.0, 200.0)  # ASSUMPTION: ERM motor frequency at level 9
    pad_amplitude_mg_range: Range = (100.0, 300.0)  # ASSUMPTION: vibration at the ankle at level 9
    pad_on_s: float = 1800.0  # set-intensity phase (DEN110011)
    pad_ramp_s: float = 300.0  # ramp-down phase (DEN110011)
    pad_freq_wander: float = 0.01  # relative slow wander of the motor speed
    pad_rls_lm_factor: float = 1.0  # scales RLS-episode LM rate while the pad runs (no effect by default)
    pad_start_range_s: Range = (60.0, 480.0)  # session start after the RLS episode begins
    pad_start_episode_frac: float = 0.3  # ... and at most this share of the episode into it

    # --- IMU ------------------------------------------------------------------------------------
    imu_noise_density_ug_rthz: float = 283.0  # -> 2 mg RMS at 100 Hz ODR (bandwidth ODR/2)
    imu_offset_mg: float = 5.0  # SD of the constant zero-g offset per axis
    imu_drift_mg: float = 2.0  # SD of the slow (warm-up + wander) offset drift per axis
    imu_clock_ppm_range: Range = (20.0, 50.0)  # |drift|; the sign is drawn too
    imu_aa_filter: str = "partial"  # see AA_FILTERS and firmware_sim.imu
    imu_mount_tilt_deg: float = 12.0  # SD of the sensor's mounting misalignment on the shank
    imu_mount_roll_range_deg: Range = (0.0, 0.0)  # strap turned about the shin, uniform per night
    imu_mount_flip_prob: float = 0.0  # sensor strapped upside down (x towards the foot)
    imu_noise_rms_range_mg: Range = (0.0, 0.0)  # per-night white-noise RMS (mg); replaces the density when set
    imu_spikes_per_h: float = 0.0  # single-sample spikes on one axis (bus or ESD glitches)
    imu_spike_range_mg: Range = (50.0, 1000.0)

    # --- BLE link ------------------------------------------------------------------------------
    link_latency_range_s: Range = (0.0075, 0.05)
    link_packet_loss: float = 0.0  # probability a single packet is lost
    link_outages_per_h: float = 0.0  # longer dropouts
    link_outage_median_s: float = 60.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name in ("name", "description", "imu_aa_filter", "lm_scaling"):
                if not isinstance(v, str):
                    raise ConfigError(f"{f.name} must be a string, got {v!r}")
            elif f.name == "posture_weights":
                ok = isinstance(v, tuple) and len(v) == 4
                ok = ok and all(isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0 for x in v)
                if not ok or sum(v) <= 0:
                    raise ConfigError(f"posture_weights must be 4 non-negative numbers with a positive sum, got {v!r}")
            elif f.name.endswith("_range") or "_range_" in f.name:
                _check_pair(f.name, v)
            elif f.name.endswith("_limits_mg"):
                _check_pair(f.name, v)
            elif isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"{f.name} must be a number, got {v!r}")
            else:
                check_nonnegative(f.name, v)
        check_option("imu_aa_filter", self.imu_aa_filter, AA_FILTERS)
        check_option("lm_scaling", self.lm_scaling, LM_SCALINGS)
        for name in (
            "rls_onset_prob",
            "rls_awakening_prob",
            "pad_repeat_prob",
            "plm_doublet_prob",
            "link_packet_loss",
            "plm_faint_prob",
            "lm_shape_variation",
            "imu_mount_flip_prob",
            "pad_start_episode_frac",
        ):
            check_range(name, getattr(self, name), 0.0, 1.0)
        check_range("plm_decline", self.plm_decline, 0.0, 0.9)
        check_range("pad_freq_wander", self.pad_freq_wander, 0.0, 0.2)
        for name in (
            "sleep_latency_median_s",
            "sleep_cycle_median_s",
            "plm_imi_sigma",
            "lm_amplitude_median_mg",
            "voluntary_amplitude_median_mg",
            "rls_imi_median_s",
            "pad_on_s",
            "pad_ramp_s",
            "link_outage_median_s",
        ):
            check_positive(name, getattr(self, name))
        if self.plm_series_len_median < 4:
            raise ConfigError(f"plm_series_len_median must be >= 4, got {self.plm_series_len_median!r}")
        _check_pair("pad_intensity_range", self.pad_intensity_range, 1, 9)
        if any(int(v) != v for v in self.pad_intensity_range + self.pad_sessions_range):
            raise ConfigError("pad_intensity_range and pad_sessions_range must hold whole numbers")
        _check_pair("pad_sessions_range", self.pad_sessions_range, 0, 4)
        _check_pair("lm_amplitude_limits_mg", self.lm_amplitude_limits_mg, 1.0, 2000.0)

    def with_overrides(self, **overrides: Any) -> Profile:
        """A copy with some fields replaced; unknown names raise :class:`ConfigError` with the valid ones."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ConfigError(
                f"unknown profile parameter(s) {', '.join(unknown)}; valid names are {', '.join(sorted(names))}"
            )
        fixed: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
        return dataclasses.replace(self, **fixed)


_RLS = Profile(
    name="rls",
    description="restless legs syndrome with marked PLMS (true PLMS index 30-60/h), RLS episodes at sleep "
    "onset and after awakenings",
    plms_index_range=(30.0, 60.0),
    sleep_latency_median_s=1200.0,
    sleep_brief_wake_per_h=2.0,
    sleep_long_wake_per_h=0.35,
    plm_rate_range_per_h=(51.0, 62.0),
    plm_series_len_median=22.0,
    plm_doublet_prob=0.04,
    isolated_lm_per_h=4.0,
    rls_onset_prob=0.9,
    rls_awakening_prob=0.6,
    rls_latency_factor=1.5,
)

_CONTROL = Profile(
    name="control",
    description="healthy sleeper: few leg movements, rare short series (true PLMS index < 5/h)",
    plms_index_range=(0.0, 5.0),
    sleep_latency_median_s=720.0,
    sleep_brief_wake_per_h=1.2,
    sleep_long_wake_per_h=0.1,
    plm_rate_range_per_h=(0.0, 3.0),
    plm_series_len_median=6.0,
    plm_imi_median_range_s=(25.0, 40.0),
    plm_imi_sigma=0.3,
    plm_doublet_prob=0.02,
    lm_amplitude_median_mg=70.0,
    isolated_lm_per_h=4.0,
    long_per_h=0.3,
    posture_per_h=1.2,
)

_PAD = dataclasses.replace(
    _RLS,
    name="pad",
    description="the rls profile with one or two vibration-pad sessions at RLS episodes",
    rls_onset_prob=1.0,
    pad_sessions_range=(1, 2),
)

_NOISY = dataclasses.replace(
    _RLS,
    name="noisy",
    description="moderate PLMS with small movements, a noisier sensor and data gaps (lost packets, dropouts)",
    plms_index_range=(15.0, 45.0),
    plm_rate_range_per_h=(25.0, 40.0),
    lm_amplitude_median_mg=30.0,
    lm_amplitude_limits_mg=(10.0, 200.0),
    imu_noise_density_ug_rthz=850.0,
    imu_drift_mg=6.0,
    link_packet_loss=0.004,
    link_outages_per_h=0.6,
    link_outage_median_s=45.0,
)

# The harder nights. Two families with the same kinds of variation but different settings, so a
# detector can be tuned on one (``mounted``, ``pad_sleep``) and judged on the other (``field``,
# ``pad_alias``); the split itself is written in benchmarks/accuracy.py.
_MOUNTED = dataclasses.replace(
    _RLS,
    name="mounted",
    description="rls with the sensor strapped at any angle about the shin or upside down, more side-lying, "
    "faint series members (10-20 mg), varied movement shapes, 1-2 mg noise, drift and single-sample spikes",
    plms_index_range=(30.0, 60.0),
    posture_weights=(0.35, 0.28, 0.28, 0.09),
    plm_faint_prob=0.15,
    lm_faint_range_mg=(10.0, 20.0),
    lm_shape_variation=0.25,
    lm_scaling="angle",
    imu_mount_roll_range_deg=(0.0, 360.0),
    imu_mount_flip_prob=0.5,
    imu_noise_rms_range_mg=(1.0, 2.0),
    imu_drift_mg=5.0,
    imu_spikes_per_h=2.0,
)

_PAD_SLEEP = dataclasses.replace(
    _MOUNTED,
    name="pad_sleep",
    description="mounted plus 1-2 pad sessions that start late in RLS episodes and run on into sleep, so PLM "
    "series and RLS movements happen under the vibration; the motor at level 9 runs at 49.5-53 Hz, "
    "whose alias lands in the movement band at 25 and 50 Hz; most sessions repeat their cycle",
    rls_onset_prob=1.0,
    pad_sessions_range=(1, 2),
    pad_repeat_prob=0.8,
    pad_intensity_range=(9, 9),
    pad_motor_hz_range=(49.5, 53.0),
    pad_start_range_s=(60.0, 3600.0),
    pad_start_episode_frac=1.0,
)

_FIELD = dataclasses.replace(
    _RLS,
    name="field",
    description="held-out variation: sensor at any angle about the shin or upside down, mostly side-lying, "
    "a high PLM rate with a quarter of series members faint (7-20 mg), varied shapes, 1-2 mg noise, "
    "strong drift and spikes",
    plms_index_range=(35.0, 80.0),
    plm_rate_range_per_h=(60.0, 80.0),
    posture_weights=(0.27, 0.32, 0.32, 0.09),
    plm_faint_prob=0.25,
    lm_faint_range_mg=(7.0, 20.0),
    lm_amplitude_sigma=0.6,
    lm_shape_variation=0.4,
    lm_scaling="angle",
    imu_mount_roll_range_deg=(0.0, 360.0),
    imu_mount_flip_prob=0.5,
    imu_noise_rms_range_mg=(1.0, 2.0),
    imu_drift_mg=8.0,
    imu_spikes_per_h=4.0,
)

_PAD_ALIAS = dataclasses.replace(
    _FIELD,
    name="pad_alias",
    description="held-out pad nights: field plus two pad sessions at level 9 with the motor at 101-104 Hz, "
    "whose alias lands at 1-4 Hz at 25, 50 and 100 Hz; sessions start anywhere in an RLS episode and "
    "run on into sleep, most with a repeat cycle",
    plms_index_range=(35.0, 80.0),
    rls_onset_prob=1.0,
    pad_sessions_range=(2, 2),
    pad_repeat_prob=0.7,
    pad_intensity_range=(9, 9),
    pad_motor_hz_range=(101.0, 104.0),
    pad_amplitude_mg_range=(50.0, 300.0),
    pad_start_range_s=(60.0, 3600.0),
    pad_start_episode_frac=1.0,
)

#: The named profiles.
PROFILES: dict[str, Profile] = {p.name: p for p in (_RLS, _CONTROL, _PAD, _NOISY, _MOUNTED, _PAD_SLEEP, _FIELD, _PAD_ALIAS)}


def get_profile(profile: str | Profile) -> Profile:
    """Look up a named profile (or pass a :class:`Profile` through)."""
    if isinstance(profile, Profile):
        return profile
    check_option("profile", profile, tuple(PROFILES))
    return PROFILES[profile]
