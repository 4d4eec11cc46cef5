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

__all__ = ["Profile", "PROFILES", "AA_FILTERS", "get_profile"]

#: Anti-alias behaviours of the IMU model (see :mod:`firmware_sim.imu`).
AA_FILTERS: tuple[str, ...] = ("partial", "lpf", "none")

Range = tuple[float, float]


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

    # --- IMU ------------------------------------------------------------------------------------
    imu_noise_density_ug_rthz: float = 283.0  # -> 2 mg RMS at 100 Hz ODR (bandwidth ODR/2)
    imu_offset_mg: float = 5.0  # SD of the constant zero-g offset per axis
    imu_drift_mg: float = 2.0  # SD of the slow (warm-up + wander) offset drift per axis
    imu_clock_ppm_range: Range = (20.0, 50.0)  # |drift|; the sign is drawn too
    imu_aa_filter: str = "partial"  # see AA_FILTERS and firmware_sim.imu
    imu_mount_tilt_deg: float = 12.0  # SD of the sensor's mounting misalignment on the shank

    # --- BLE link ------------------------------------------------------------------------------
    link_latency_range_s: Range = (0.0075, 0.05)
    link_packet_loss: float = 0.0  # probability a single packet is lost
    link_outages_per_h: float = 0.0  # longer dropouts
    link_outage_median_s: float = 60.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name in ("name", "description", "imu_aa_filter"):
                if not isinstance(v, str):
                    raise ConfigError(f"{f.name} must be a string, got {v!r}")
            elif f.name.endswith("_range") or "_range_" in f.name:
                _check_pair(f.name, v)
            elif f.name.endswith("_limits_mg"):
                _check_pair(f.name, v)
            elif isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"{f.name} must be a number, got {v!r}")
            else:
                check_nonnegative(f.name, v)
        check_option("imu_aa_filter", self.imu_aa_filter, AA_FILTERS)
        for name in (
            "rls_onset_prob",
            "rls_awakening_prob",
            "pad_repeat_prob",
            "plm_doublet_prob",
            "link_packet_loss",
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

#: The named profiles.
PROFILES: dict[str, Profile] = {p.name: p for p in (_RLS, _CONTROL, _PAD, _NOISY)}


def get_profile(profile: str | Profile) -> Profile:
    """Look up a named profile (or pass a :class:`Profile` through)."""
    if isinstance(profile, Profile):
        return profile
    check_option("profile", profile, tuple(PROFILES))
    return PROFILES[profile]
