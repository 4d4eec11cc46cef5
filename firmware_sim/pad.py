"""The vibration pad (Relaxis-like vibratory counter-stimulation) as the ankle sensor feels it.

Device facts (FDA De Novo DEN110011, "Symphony"/Relaxis, 2013): six eccentric-rotating-mass (ERM)
motors in a foam pad under the legs; the user sets an intensity 1-9 for a 30-min cycle, the controller
then ramps down over 5 min and stops; one repeat cycle is allowed.

**Assumptions** (the device documents state neither): the motor runs at ``f9`` = 60-200 Hz at level 9
and the vibration reaching the ankle is ``a9`` = 100-300 mg at level 9 (profile fields
``pad_motor_hz_range`` and ``pad_amplitude_mg_range``). The level sets the drive ``l = 0.6 + 0.4 (level -
1) / 8``. An ERM spins at a speed proportional to its drive and its force grows with the square of
the speed, so ``f = f9 * l * v(t)`` and ``a = a9 * (l * v(t))**2``, where ``v(t)`` is 1 during the cycle,
falls linearly to 0 over the ramp-down (the motor stalls below a quarter of full drive) and rises
over the first second (spin-up). The speed also wanders slowly by ``pad_freq_wander`` (relative).
A weaker second harmonic (10 %) models the motor's imbalance.

The vibration is computed at an internal rate of at least 8 times the motor frequency, passed
through the IMU's anti-alias model and decimated to the sensor rate (:mod:`firmware_sim.imu`), so it
aliases the way a real accelerometer would.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from .events import RlsEpisode
from .imu import aa_sos
from .profiles import Profile

__all__ = ["PadSession", "plan_pad_sessions", "pad_windows", "drive", "render_pad", "OVERSAMPLE"]

#: Minimum internal rate as a multiple of the motor frequency.
OVERSAMPLE = 8.0
_SPINUP_S = 1.0
_STALL = 0.25
_CHUNK_S = 120.0


@dataclasses.dataclass(frozen=True)
class PadSession:
    """One pad cycle (true times, seconds since start).

    ``start_s``..``end_s`` spans the set-intensity phase and the ramp-down (``end_s = start_s + on_s
    + ramp_s``). ``motor_hz`` and ``amplitude_mg`` are the values at the set intensity.
    """

    start_s: float
    on_s: float
    ramp_s: float
    intensity: int
    motor_hz: float
    amplitude_mg: float
    cycle: int  # 1, or 2 for the repeat cycle
    wander: tuple[tuple[float, float], ...]  # (frequency Hz, phase rad) of the slow speed wander
    wander_rel: float
    direction: tuple[float, float, float]  # perturbation of the vertical, unit-free
    harmonic_dir: tuple[float, float, float]

    @property
    def end_s(self) -> float:
        return self.start_s + self.on_s + self.ramp_s


def _vec3(v: NDArray[np.float64]) -> tuple[float, float, float]:
    """A length-3 array as a plain 3-tuple of floats."""
    return float(v[0]), float(v[1]), float(v[2])


def _level(intensity: int) -> float:
    return 0.6 + 0.4 * (intensity - 1) / 8.0


def plan_pad_sessions(rng: np.random.Generator, episodes: list[RlsEpisode], lights_on_s: float, profile: Profile) -> list[PadSession]:
    """Choose pad cycles: each session starts into an RLS episode (the onset episode first).

    The start is ``profile.pad_start_range_s`` after the episode begins (default 1-8 min), and at
    most ``pad_start_episode_frac`` of the episode into it; a late start lets the pad run on into
    sleep, with PLM series under the vibration.

    The number of sessions is drawn from ``profile.pad_sessions_range`` and limited by the episodes
    available; a session that would run past lights on is not started.
    """
    lo, hi = profile.pad_sessions_range
    want = int(rng.integers(int(lo), int(hi) + 1))
    f9 = float(rng.uniform(*profile.pad_motor_hz_range))
    a9 = float(rng.uniform(*profile.pad_amplitude_mg_range))
    out: list[PadSession] = []
    busy_until = -np.inf
    order = sorted(episodes, key=lambda e: (e.context != "onset", e.start_s))
    for ep in order:
        if len(out) >= want:
            break
        lo_s, hi_s = profile.pad_start_range_s
        latest = min(hi_s, max(lo_s, profile.pad_start_episode_frac * (ep.end_s - ep.start_s)))
        start = ep.start_s + float(rng.uniform(lo_s, latest))
        intensity = int(rng.integers(profile.pad_intensity_range[0], profile.pad_intensity_range[1] + 1))
        cycles = 2 if rng.random() < profile.pad_repeat_prob else 1
        length = profile.pad_on_s + profile.pad_ramp_s
        if start + cycles * length > lights_on_s:
            cycles = 1  # no time left for the repeat cycle
        if start < busy_until or start + cycles * length > lights_on_s:
            continue
        for c in range(cycles):
            lvl = _level(intensity)
            out.append(
                PadSession(
                    start_s=start + c * length,
                    on_s=profile.pad_on_s,
                    ramp_s=profile.pad_ramp_s,
                    intensity=intensity,
                    motor_hz=f9 * lvl,
                    amplitude_mg=a9 * lvl**2,
                    cycle=c + 1,
                    wander=tuple((float(rng.uniform(1 / 60, 1 / 5)), float(rng.uniform(0, 2 * np.pi))) for _ in range(3)),
                    wander_rel=profile.pad_freq_wander,
                    direction=_vec3(0.4 * rng.standard_normal(3)),
                    harmonic_dir=_vec3(rng.standard_normal(3)),
                )
            )
        busy_until = start + cycles * length
    return sorted(out, key=lambda s: s.start_s)


def pad_windows(sessions: list[PadSession]) -> list[tuple[float, float]]:
    """(start_s, end_s) of each pad cycle."""
    return [(s.start_s, s.end_s) for s in sessions]


def drive(session: PadSession, t_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Motor drive v(t) in [0, 1] at true times ``t_s``: spin-up, on, linear ramp-down, stall."""
    x = t_s - session.start_s
    v = np.clip(x / _SPINUP_S, 0.0, 1.0)
    ramp = np.clip(1.0 - (x - session.on_s) / session.ramp_s, 0.0, 1.0)
    v = np.where(x > session.on_s, ramp, v)
    v = np.where((x < 0) | (x > session.on_s + session.ramp_s), 0.0, v)
    return np.where((x > session.on_s) & (v < _STALL), 0.0, v)


def _wander(session: PadSession, t_s: NDArray[np.float64]) -> NDArray[np.float64]:
    w = sum(np.sin(2 * np.pi * f * t_s + ph) for f, ph in session.wander)
    return 1.0 + session.wander_rel * w / np.sqrt(1.5)  # unit variance of the sum of 3 sinusoids


def render_pad(
    out: NDArray[np.float64],
    sessions: list[PadSession],
    *,
    rate_hz: float,
    clock_ppm: float,
    aa_filter: str,
    up_sensor: NDArray[np.float64],
) -> None:
    """Add the sensed pad vibration (g) into ``out`` (n, 3), sample ``k`` at true time ``k / (rate_hz (1 + ppm 1e-6))``.

    ``up_sensor`` (3,) is the resting up vector in the sensor frame, used as the main direction of
    the (vertical) vibration.
    """
    if not sessions:
        return
    fs_true = rate_hz * (1.0 + clock_ppm * 1e-6)
    f_max = max(s.motor_hz for s in sessions) * (1.0 + 3 * max(s.wander_rel for s in sessions))
    m = int(np.ceil(OVERSAMPLE * f_max / rate_hz)) if aa_filter != "none" else 1
    fs_int = m * fs_true
    sos = aa_sos(aa_filter, rate_hz, m * rate_hz)
    n_out = out.shape[0]
    for s in sessions:
        d1 = up_sensor + np.asarray(s.direction)
        d1 /= np.linalg.norm(d1)
        d2 = np.asarray(s.harmonic_dir) / np.linalg.norm(s.harmonic_dir)
        # internal grid aligned with the sensor's samples: internal index j = k * m
        k0 = max(0, int(np.floor(s.start_s * fs_true)))
        k1 = min(n_out, int(np.ceil(s.end_s * fs_true)) + 1)
        if k1 <= k0:
            continue
        zi = None if sos is None else np.zeros((sos.shape[0], 2, 3))
        phase = 0.0
        chunk = max(1, int(_CHUNK_S * fs_true))
        for a in range(k0, k1, chunk):
            b = min(k1, a + chunk)
            t = np.arange(a * m, b * m, dtype=np.float64) / fs_int
            v = drive(s, t)
            f = s.motor_hz * v * _wander(s, t)
            ph = phase + 2 * np.pi * np.cumsum(f) / fs_int
            phase = float(ph[-1])
            amp = (s.amplitude_mg / 1000.0) * v**2
            x = (amp * np.cos(ph))[:, None] * d1 + (0.1 * amp * np.cos(2 * ph + 0.7))[:, None] * d2
            if sos is not None:
                x, zi = signal.sosfilt(sos, x, axis=0, zi=zi)
            out[a:b] += x[::m]
