"""Simulate one night: hypnogram, leg movements, pad, IMU and BLE packets, with the ground truth.

:func:`simulate_night` is deterministic per seed. Each component draws from its own child of
``numpy.random.SeedSequence(seed)`` (:data:`STREAMS`), so the sleeper, the movement schedule, the
leg's postures and the pad do not change when only the sensor settings (rate, range, clock drift,
anti-alias model) change: the same seed and profile give the same true movements at 25, 50, 100 and
200 Hz.

The output :class:`~lmdetect.model.Recording` is what a collector would have stored: samples in
packets of up to :data:`lmdetect.protocol.MAX_SAMPLES_PER_PACKET` (at most ~0.5 s each), ``seq`` per
packet, ``time_s`` on the sensor's drifting clock (packet tick, 32768 Hz, plus the sample index),
``host_time_s`` the true time of the packet's last sample plus the BLE latency, ``start`` the true
time of the first sample. Truth tables use seconds since ``start`` on the true clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import zoneinfo
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lmdetect import __version__
from lmdetect.errors import ConfigError
from lmdetect.model import Recording
from lmdetect.protocol import MAX_SAMPLES_PER_PACKET, RANGES_G, RATES_HZ, TICK_HZ, counts_to_g

from . import imu
from .events import RlsEpisode, plan_rls_episodes, schedule_movements
from .interventions import (
    EFFECTS_STREAM,
    Intervention,
    apply_plm_effects,
    constant_multiplier,
    diary_rows,
    plm_multiplier,
)
from .movement import (
    SCALE_UP_SUPINE,
    VARIANT_SHAPES,
    Leg,
    Realized,
    draw_leg,
    realize_movements,
    render_movements,
    rest_up,
    vary_mount,
)
from .pad import PadSession, pad_windows, plan_pad_sessions, render_pad
from .profiles import POSTURE_WEIGHTS, Profile, get_profile
from .sleep import EPOCH_S, NightPlan, simulate_sleep

__all__ = [
    "STREAMS",
    "DEFAULT_START",
    "SimulatedNight",
    "simulate_night",
    "write_night",
    "render_true_signal",
    "packet_size",
]

log = logging.getLogger(__name__)

#: Random streams, one SeedSequence child each (the order is part of the reproducibility contract).
STREAMS: tuple[str, ...] = ("sleep", "events", "leg", "pad", "imu", "noise", "link", "diary", "variation")

#: Default recording start: an evening in Berlin (true time of the first sample).
DEFAULT_START = dt.datetime(2026, 3, 14, 22, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))

_PACKET_MAX_S = 0.5


def _streams(seed: int) -> dict[str, np.random.Generator]:
    return {name: np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,))) for i, name in enumerate(STREAMS)}


def packet_size(rate_hz: float) -> int:
    """Samples per packet: the profile's maximum, or fewer so a packet covers at most ~0.5 s."""
    return int(max(1, min(MAX_SAMPLES_PER_PACKET, int(_PACKET_MAX_S * rate_hz))))


@dataclasses.dataclass(frozen=True)
class _Physiology:
    """Everything that does not depend on the sensor settings."""

    plan: NightPlan
    episodes: list[RlsEpisode]
    pads: list[PadSession]
    schedule: pd.DataFrame
    realized: Realized
    mount: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class SimulatedNight:
    """A simulated night and its ground truth.

    Attributes
    ----------
    recording : Recording
        The sensor data as a collector would have recorded it.
    truth_lms : DataFrame
        One row per true movement of the sensed leg: :data:`lmdetect.model.LM_COLUMNS` (PLM flags by
        the WASM 2016 rules on the true movements) plus ``shape`` and ``source`` (see
        :mod:`firmware_sim.events`).
    hypnogram : DataFrame
        True 30-s hypnogram (onset_s, duration_s, stage).
    diary : DataFrame
        RLS diary as the sleeper would log it (:data:`lmdetect.model.DIARY_COLUMNS`).
    pad_log : DataFrame
        Vibration-pad cycles (start, end, intensity).
    summary : dict
        Settings, true indices and counts (what ``truth_summary.json`` holds).
    profile : Profile
        The profile after overrides.
    seed : int
    """

    recording: Recording
    truth_lms: pd.DataFrame
    hypnogram: pd.DataFrame
    diary: pd.DataFrame
    pad_log: pd.DataFrame
    summary: dict[str, Any]
    profile: Profile
    seed: int
    _phys: _Physiology = dataclasses.field(repr=False, compare=False)

    @property
    def plan(self) -> NightPlan:
        """Lights-off window, sleep onset and wake bouts."""
        return self._phys.plan

    @property
    def rls_episodes(self) -> list[RlsEpisode]:
        return list(self._phys.episodes)

    @property
    def pad_sessions(self) -> list[PadSession]:
        return list(self._phys.pads)

    def true_signal(self, t_true_s: NDArray[np.float64], *, gravity: bool = True) -> NDArray[np.float64]:
        """Noise-free sensor-frame acceleration (g) from the movements at true times ``t_true_s``.

        With ``gravity=False`` only the movement component (deviation from the resting up vector)
        is returned; the pad vibration, offsets and noise are never included.
        """
        return render_true_signal(self._phys.realized, np.asarray(t_true_s, dtype=np.float64), gravity=gravity)


def render_true_signal(realized: Realized, t_true_s: NDArray[np.float64], *, gravity: bool = True) -> NDArray[np.float64]:
    """Noise-free acceleration (g, sensor frame) of the leg at sorted true times: rest + movements."""
    out = rest_up(t_true_s, realized) if gravity else np.zeros((t_true_s.size, 3))
    render_movements(out, t_true_s, realized)
    return out


def _check_settings(hours: float, rate_hz: float, seed: int, range_g: float, side: str, clock_ppm: float | None) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(hours, (int, float)) or not 0.25 <= hours <= 24.0:
        raise ConfigError(f"hours must be between 0.25 and 24, got {hours!r}")
    if rate_hz not in RATES_HZ:
        raise ConfigError(f"invalid rate {rate_hz!r} Hz; valid choices are {', '.join(map(str, RATES_HZ))}")
    if range_g not in RANGES_G:
        raise ConfigError(f"invalid range {range_g!r} g; valid choices are {', '.join(map(str, RANGES_G))}")
    if side not in ("left", "right"):
        raise ConfigError(f"invalid side {side!r}; valid choices are 'left', 'right'")
    if clock_ppm is not None and not (isinstance(clock_ppm, (int, float)) and abs(clock_ppm) <= 1000.0):
        raise ConfigError(f"clock_ppm must be a number within +-1000, got {clock_ppm!r}")


def _physiology(
    prof: Profile,
    duration_s: float,
    rng: dict[str, np.random.Generator],
    effects: Sequence[Intervention] = (),
    effects_rng: np.random.Generator | None = None,
) -> _Physiology:
    rls_onset = bool(rng["sleep"].random() < prof.rls_onset_prob)
    plan = simulate_sleep(rng["sleep"], duration_s, prof, rls_onset=rls_onset)
    episodes = plan_rls_episodes(rng["events"], plan, prof, onset=rls_onset)
    pads = plan_pad_sessions(rng["pad"], episodes, plan.lights_on_s, prof)
    schedule = schedule_movements(rng["events"], plan, prof, episodes, pad_windows(pads))
    if effects and effects_rng is not None:  # interventions acting only part of the night
        schedule = apply_plm_effects(schedule, effects, effects_rng)
    n_post = int((schedule["kind"] == "posture").sum())
    weights = None if tuple(prof.posture_weights) == POSTURE_WEIGHTS else prof.posture_weights
    leg = draw_leg(rng["leg"], n_post, prof.imu_mount_tilt_deg, weights)
    leg, mount = _vary_leg(rng["variation"], leg, prof)
    schedule = _vary_movements(rng["variation"], schedule, prof)
    scale_up = SCALE_UP_SUPINE if prof.lm_scaling == "angle" else None
    return _Physiology(plan, episodes, pads, schedule, realize_movements(schedule, leg, scale_up), mount)


def _vary_leg(rng: np.random.Generator, leg: Leg, prof: Profile) -> tuple[Leg, dict[str, Any]]:
    """Turn the sensor about the shin and maybe upside down (a fixed number of draws)."""
    roll = float(rng.uniform(*prof.imu_mount_roll_range_deg))
    flipped = bool(rng.random() < prof.imu_mount_flip_prob)
    info = {"roll_deg": roll, "flipped": flipped}
    if roll == 0.0 and not flipped:
        return leg, info
    return vary_mount(leg, roll, flipped), info


def _vary_movements(rng: np.random.Generator, schedule: pd.DataFrame, prof: Profile) -> pd.DataFrame:
    """Faint series members and variant shapes, drawn per schedule row from the variation stream.

    Durations are kept, so the spacing of the schedule (and the WASM merge rule) is unchanged.
    """
    n = len(schedule)
    u_faint, faint_mg = rng.random(n), rng.uniform(*prof.lm_faint_range_mg, size=n)
    u_shape, which = rng.random(n), rng.integers(0, len(VARIANT_SHAPES), size=n)
    faint = (schedule["source"].to_numpy() == "plm") & (u_faint < prof.plm_faint_prob)
    reshape = (schedule["kind"].to_numpy() == "lm") & (u_shape < prof.lm_shape_variation)
    if not faint.any() and not reshape.any():
        return schedule
    out = schedule.copy()
    out.loc[faint, "target_mg"] = faint_mg[faint]
    out.loc[reshape, "shape"] = np.asarray(VARIANT_SHAPES, dtype=object)[which[reshape]]
    return out


def _add_spikes(rng: np.random.Generator, a: NDArray[np.float64], t_true: NDArray[np.float64], prof: Profile, duration_s: float) -> int:
    """Single-sample spikes on one axis, at true times (so their times do not depend on the rate)."""
    k = int(rng.poisson(prof.imu_spikes_per_h * duration_s / 3600.0))
    times = rng.uniform(0.0, duration_s, k)
    size_g = rng.uniform(*prof.imu_spike_range_mg, size=k) / 1000.0 * np.where(rng.random(k) < 0.5, -1.0, 1.0)
    axis = rng.integers(0, 3, size=k)
    if k and t_true.size:
        idx = np.clip(np.searchsorted(t_true, times), 0, t_true.size - 1)
        np.add.at(a, (idx, axis), size_g)
    return k


def _packets(
    rng: np.random.Generator, n: int, t_true: NDArray[np.float64], rate_hz: float, prof: Profile, duration_s: float
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Per-sample packet seq, sensor time, host time, and the keep mask after link losses."""
    npp = packet_size(rate_hz)
    k = np.arange(n, dtype=np.int64)
    seq = k // npp
    n_pk = int(seq[-1]) + 1 if n else 0
    first = np.arange(n_pk, dtype=np.int64) * npp
    last = np.minimum(first + npp - 1, n - 1)
    # the sensor's tick counter at each packet's first sample (integer ticks of its own clock)
    tick = (first * TICK_HZ) // int(rate_hz)
    time_s = tick[seq] / TICK_HZ + (k - first[seq]) / rate_hz
    lo, hi = prof.link_latency_range_s
    host_pk = np.maximum.accumulate(t_true[last] + rng.uniform(lo, hi, n_pk))
    keep_pk = rng.random(n_pk) >= prof.link_packet_loss
    n_out = int(rng.poisson(prof.link_outages_per_h * duration_s / 3600.0))
    for _ in range(n_out):
        s = float(rng.uniform(0.0, duration_s))
        d = float(np.clip(prof.link_outage_median_s * np.exp(0.8 * rng.standard_normal()), 5.0, 900.0))
        keep_pk &= ~((t_true[first] >= s) & (t_true[first] < s + d))
    keep_pk[0] = True  # the recording starts with its first sample
    return seq, time_s, host_pk[seq], keep_pk[seq]


def simulate_night(
    profile: str | Profile = "rls",
    hours: float = 8.0,
    rate_hz: int = 50,
    seed: int = 1,
    *,
    range_g: int = 8,
    side: str = "left",
    start: dt.datetime | None = None,
    clock_ppm: float | None = None,
    device_id: str | None = None,
    interventions: Sequence[Intervention] = (),
    **overrides: Any,
) -> SimulatedNight:
    """Simulate one night of a sleeper wearing the ankle sensor, with its ground truth.

    Parameters
    ----------
    profile : str or Profile
        A name in :data:`firmware_sim.profiles.PROFILES` (``rls``, ``control``, ``pad``, ``noisy``) or
        a :class:`~firmware_sim.profiles.Profile`.
    hours : float
        Recording length, true clock (0.25-24 h).
    rate_hz : int
        Output data rate, one of :data:`lmdetect.protocol.RATES_HZ` (Hz).
    seed : int
        Seed; same seed and settings give identical output.
    range_g : int
        Full-scale range (+- g); samples beyond it clip.
    side : {"left", "right"}
        Ankle the sensor is worn on (all simulated movements are on that leg).
    start : datetime, optional
        Timezone-aware true time of the first sample (default :data:`DEFAULT_START`).
    clock_ppm : float, optional
        Sensor clock error in ppm (its clock runs at ``1 + ppm * 1e-6`` times real time); drawn
        from ``profile.imu_clock_ppm_range`` with a random sign when None.
    device_id : str, optional
        Device id stored in the recording (default ``SIM-<seed>``).
    interventions : sequence of Intervention, optional
        Treatments with a known effect on the PLM series rate (:mod:`firmware_sim.interventions`);
        the logged ones become ``intervention`` rows of the diary, and all are in the truth summary
        (``interventions``, ``plm_rate_factor``).
    **overrides
        Profile fields to replace, e.g. ``imu_aa_filter="none"`` or ``pad_sessions_range=(1, 1)``.

    Returns
    -------
    SimulatedNight
    """
    _check_settings(hours, rate_hz, seed, range_g, side, clock_ppm)
    start = DEFAULT_START if start is None else start
    if start.tzinfo is None or start.utcoffset() is None:
        raise ConfigError("start must be a timezone-aware datetime")
    prof = get_profile(profile).with_overrides(**overrides)
    rng = _streams(int(seed))
    duration_s = float(hours) * 3600.0
    effects = tuple(interventions)
    constant = constant_multiplier(effects, duration_s) if effects else 1.0
    if constant is not None and constant != 1.0:  # the same all night: scale the rate itself
        lo_rate, hi_rate = prof.plm_rate_range_per_h
        prof = prof.with_overrides(plm_rate_range_per_h=(lo_rate * constant, hi_rate * constant))
    effects_rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(EFFECTS_STREAM,)))
    phys = _physiology(prof, duration_s, rng, effects if constant is None else (), effects_rng)

    # IMU: parameters first (a fixed number of draws), then the rate-dependent noise stream
    lo, hi = prof.imu_clock_ppm_range
    drawn_ppm = float(rng["imu"].uniform(lo, hi)) * (1.0 if rng["imu"].random() < 0.5 else -1.0)
    ppm = drawn_ppm if clock_ppm is None else float(clock_ppm)
    offsets = imu.draw_offset_drift(rng["imu"], prof.imu_offset_mg, prof.imu_drift_mg)
    n = imu.n_samples(duration_s, rate_hz, ppm)
    t_true = imu.sample_times_true(n, rate_hz, ppm)
    a = render_true_signal(phys.realized, t_true)
    for s in phys.pads:
        up = rest_up(np.array([s.start_s]), phys.realized)[0]
        render_pad(a, [s], rate_hz=rate_hz, clock_ppm=ppm, aa_filter=prof.imu_aa_filter, up_sensor=up)
    a += offsets(t_true)
    density = prof.imu_noise_density_ug_rthz
    noise_lo, noise_hi = prof.imu_noise_rms_range_mg
    if noise_hi > 0:  # a per-night RMS whatever the rate (drawn once, so independent of it)
        density = imu.density_for_rms(float(rng["variation"].uniform(noise_lo, noise_hi)), rate_hz)
    imu.add_noise(rng["noise"], a, density, rate_hz)
    n_spikes = _add_spikes(rng["variation"], a, t_true, prof, duration_s)
    counts, clipped = imu.quantize(a, range_g)
    del a

    seq, time_s, host, keep = _packets(rng["link"], n, t_true, rate_hz, prof, duration_s)
    rec = Recording(
        accel_g=counts_to_g(counts[keep], range_g),
        time_s=time_s[keep],
        fs=float(rate_hz),
        start=start,
        device_id=device_id or f"SIM-{int(seed)}",
        side=side,  # type: ignore[arg-type]
        range_g=float(range_g),
        seq=seq[keep],
        host_time_s=host[keep],
        backfilled=np.zeros(int(keep.sum()), dtype=bool),
        meta={
            "source": "firmware_sim",
            "model": "firmware_sim leg + IMU model",
            "firmware": f"firmware_sim {__version__}",
            "profile": prof.name,
            "seed": str(int(seed)),
            "clock_ppm": f"{ppm:.3f}",
            "aa_filter": prof.imu_aa_filter,
        },
    )
    from .truth import build_truth  # truth needs lmdetect.scoring; keep the import local

    extra = {
        "clock_ppm": ppm,
        "n_packets": int(seq[-1]) + 1 if n else 0,
        "n_packets_lost": int(np.unique(seq[~keep]).size),
        "n_samples_clipped": int(clipped[keep].sum()),
        "imu": {
            "noise_rms_mg": imu.noise_rms_mg(density, rate_hz),
            "n_spikes": n_spikes,
            "mount_roll_deg": phys.mount["roll_deg"],
            "mount_flipped": phys.mount["flipped"],
        },
    }
    truth = build_truth(rec, prof, int(seed), float(hours), phys.plan, phys.episodes, phys.pads, phys.schedule, phys.realized, extra, rng["diary"])
    if effects:
        _log_interventions(truth, effects, constant, phys.plan, start)
    log.info("simulated %s night (seed %d, %g h at %d Hz): %d movements", prof.name, seed, hours, rate_hz, len(truth["truth_lms"]))
    return SimulatedNight(
        recording=rec,
        truth_lms=truth["truth_lms"],
        hypnogram=truth["hypnogram"],
        diary=truth["diary"],
        pad_log=truth["pad_log"],
        summary=truth["summary"],
        profile=prof,
        seed=int(seed),
        _phys=phys,
    )


def _log_interventions(
    truth: dict[str, Any], effects: Sequence[Intervention], constant: float | None, plan: NightPlan, start: dt.datetime
) -> None:
    """Add the logged interventions to the diary and every intervention, with the true PLM-rate
    factor, to the truth summary."""
    rows = diary_rows(effects, start)
    if rows:
        diary = pd.concat([truth["diary"], pd.DataFrame(rows, columns=list(truth["diary"].columns))], ignore_index=True)
        truth["diary"] = diary.sort_values("start", kind="stable", na_position="last").reset_index(drop=True)
    asleep = np.flatnonzero(plan.stages != 0)
    centres = (asleep + 0.5) * EPOCH_S
    mean_sleep = float(plm_multiplier(effects, centres).mean()) if asleep.size else None
    truth["summary"]["interventions"] = [iv.to_dict() for iv in effects]
    # the multiplier of the PLM series rate: constant all night, or its mean over the sleep epochs
    truth["summary"]["plm_rate_factor"] = {"constant": constant, "mean_in_sleep": mean_sleep}


def write_night(night: SimulatedNight, out_dir: str | Path) -> dict[str, Path]:
    """Write ``night.lmr`` and the truth files into ``out_dir`` (each atomically).

    Returns the written paths by name: ``recording``, ``truth_lm``, ``hypnogram``, ``diary``,
    ``pad_log``, ``summary``.
    """
    from .truth import write_truth

    return write_truth(night, Path(out_dir))
