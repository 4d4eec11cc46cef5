"""Signal shapes: what a shank-mounted accelerometer feels when the leg moves.

Frames. The *leg frame* has x along the shank towards the knee, y lateral, z anterior (out of the
shin). The sensor is strapped above the ankle with a small random misalignment (a fixed rotation
from the leg frame to the *sensor frame*). At rest an accelerometer reads the "up" vector, 1 g
opposite to gravity, expressed in its own frame.

Leg movements. A leg movement is modelled as a rotation of the shank by an angle theta(t) about an
axis close to the lateral axis, through a pivot at distance ``L`` from the sensor (the knee,
L ~ 0.4 m, or the hip for triple flexion, L ~ 0.8 m). The sensor then reads

    f(t) = R(-theta) up0 + (L theta'' (axis x r) - L theta'^2 r + tremor) / g

with ``r`` the unit vector from the pivot to the sensor: the gravity projection changes with the
angle (1 g * sin 3 deg ~ 52 mg) and the tangential and centripetal accelerations add a burst whose
spectrum sits in 0.5-8 Hz. ``amplitude_mg`` of a movement is the peak of |f(t) - up0| -- the deviation
from the resting gravity vector -- and the angle is scaled so that peak equals the scheduled target.

Shapes (``theta`` over normalised time u in [0, 1]):

* ``dorsiflexion``: smooth (cycloidal) rise, plateau, slower fall; knee pivot.
* ``triple_flexion``: longer rise and fall, slightly sagging plateau; hip pivot.
* ``twitch``: a brief smooth bump; mostly linear acceleration.
* ``oscillatory``: a smooth envelope times a 2-6 Hz oscillation (back and forth).
* ``long``: plateau with slow 0.1-0.8 Hz fidgeting, > 10 s.
* ``slow``: a slow, smooth bump with no plateau (little linear acceleration).
* ``jerk``: a sharp rise and a slower return; the linear acceleration dominates.
* ``rotation``: the shank turns about its own long axis (hip rotation, inversion/eversion carried
  up the leg); the sensor sits 5 cm from that axis on the shin, so this changes the gravity
  projection in every posture but adds little linear acceleration.
* ``voluntary``: a large flexion with 0.8-2.5 Hz rubbing/stretching modulation.
* ``posture``: the shank rolls to a new resting orientation (turning over) with a 1.5-4 Hz gross
  whole-body burst on top. Its ``amplitude_mg`` is the peak deviation from the resting gravity
  vector *before* the change, so it includes the lasting change of orientation.

Each movement is computed once on a fine grid of :data:`FINE_HZ` (independent of the sensor's rate)
and later interpolated to the sample times, so the truth does not depend on the sensor settings.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = [
    "FINE_HZ",
    "G_MS2",
    "Leg",
    "Realized",
    "VARIANT_SHAPES",
    "SCALE_UP_SUPINE",
    "draw_leg",
    "vary_mount",
    "realize_movements",
    "rest_up",
    "render_movements",
    "rotate",
]

#: Internal rate (Hz) of the movement waveforms; far above the 0.5-8 Hz content of leg movements.
FINE_HZ = 400.0
#: Standard gravity, m/s^2 (CGPM 1901).
G_MS2 = 9.80665

_X = np.array([1.0, 0.0, 0.0])
_Y = np.array([0.0, 1.0, 0.0])
_Z = np.array([0.0, 0.0, 1.0])
_R_HAT = -_X  # pivot (knee/hip) to sensor: down the shank

# sleeping postures as (roll about the shank deg, pitch range deg, probability): supine, on the left
# side, on the right side, prone. Pitch tilts the shank (knee higher than ankle when bent).
_POSTURES = ((0.0, (-5.0, 15.0), 0.45), (90.0, (0.0, 35.0), 0.22), (-90.0, (0.0, 35.0), 0.22), (180.0, (-5.0, 15.0), 0.11))
_LEVER_M = {
    "dorsiflexion": 0.40,
    "twitch": 0.40,
    "oscillatory": 0.40,
    "triple_flexion": 0.80,
    "long": 0.60,
    "voluntary": 0.70,
    "slow": 0.40,
    "jerk": 0.40,
    "rotation": 0.05,
}
#: Shapes given to a share of LMs by ``Profile.lm_shape_variation`` (on top of events.SHAPES).
VARIANT_SHAPES: tuple[str, ...] = ("slow", "jerk", "rotation")


def rotate(v: NDArray[np.float64], axis: NDArray[np.float64], angle: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rotate vector ``v`` (3,) about unit ``axis`` (3,) by each angle (n,) in radians (Rodrigues); returns (n, 3)."""
    c = np.cos(angle)[:, None]
    s = np.sin(angle)[:, None]
    return v * c + np.cross(axis, v) * s + axis * float(np.dot(axis, v)) * (1.0 - c)


def _rot_matrix(axis: NDArray[np.float64], angle: float) -> NDArray[np.float64]:
    return np.stack([rotate(e, axis, np.array([angle]))[0] for e in (_X, _Y, _Z)], axis=1)


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    return v / np.linalg.norm(v)


@dataclasses.dataclass(frozen=True)
class Leg:
    """The sensed leg: the sensor's mounting and the sequence of resting postures.

    ``mount`` maps leg-frame vectors to the sensor frame. ``ups`` holds the up vector (leg frame) of
    the initial posture and after each posture change, in time order.
    """

    mount: NDArray[np.float64]
    ups: NDArray[np.float64]

    def ups_sensor(self) -> NDArray[np.float64]:
        return self.ups @ self.mount.T


def _draw_posture(rng: np.random.Generator, weights: tuple[float, ...] | None = None) -> NDArray[np.float64]:
    p = [q[2] for q in _POSTURES] if weights is None else list(np.asarray(weights, dtype=float) / float(np.sum(weights)))
    k = int(rng.choice(len(_POSTURES), p=p))
    roll, (lo, hi), _ = _POSTURES[k]
    roll_r = np.deg2rad(roll + 12.0 * rng.standard_normal())
    pitch_r = np.deg2rad(rng.uniform(lo, hi))
    up = np.array([np.sin(pitch_r), 0.0, np.cos(pitch_r)])
    return rotate(up, _X, np.array([roll_r]))[0]


def draw_leg(
    rng: np.random.Generator, n_changes: int, mount_tilt_deg: float, posture_weights: tuple[float, ...] | None = None
) -> Leg:
    """Draw the sensor mounting and ``n_changes + 1`` resting postures, each >= 40 deg from the previous.

    ``posture_weights`` (supine, left side, right side, prone) default to the module's postures.
    """
    mount = np.eye(3)
    for axis in (_X, _Y, _Z):
        mount = _rot_matrix(axis, float(np.deg2rad(mount_tilt_deg * rng.standard_normal()))) @ mount
    ups = [_draw_posture(rng, posture_weights)]
    for _ in range(n_changes):
        for _attempt in range(50):
            nxt = _draw_posture(rng, posture_weights)
            if np.dot(nxt, ups[-1]) < np.cos(np.deg2rad(40.0)):
                break
        ups.append(nxt)
    return Leg(mount=mount, ups=np.array(ups))


def vary_mount(leg: Leg, roll_deg: float, flipped: bool) -> Leg:
    """The same leg with the sensor strapped turned by ``roll_deg`` about the shin, and upside down
    (rotated 180 deg about the anterior axis, so its x axis points to the foot) when ``flipped``."""
    extra = _rot_matrix(_X, float(np.deg2rad(roll_deg)))
    if flipped:
        extra = _rot_matrix(_Z, np.pi) @ extra
    return dataclasses.replace(leg, mount=leg.mount @ extra.T)


def _ramp(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cycloidal 0 -> 1 ramp: value, slope and curvature are zero at both ends (no acceleration step)."""
    return x - np.sin(2 * np.pi * x) / (2 * np.pi)


def _plateau(u: NDArray[np.float64], rise: float, fall: float) -> NDArray[np.float64]:
    w = np.ones_like(u)
    a = u < rise
    w[a] = _ramp(u[a] / rise)
    b = u > 1.0 - fall
    w[b] = 1.0 - _ramp((u[b] - (1.0 - fall)) / fall)
    return w


def _angle_profile(shape: str, t: NDArray[np.float64], dur: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """Unscaled shank angle over the movement (peak of order 1)."""
    u = t / dur
    if shape == "dorsiflexion":
        return _plateau(u, rng.uniform(0.2, 0.35), rng.uniform(0.3, 0.45))
    if shape == "triple_flexion":
        return _plateau(u, rng.uniform(0.3, 0.45), rng.uniform(0.35, 0.5)) * (1.0 - 0.2 * u)
    if shape == "twitch":
        return _plateau(u, 0.5, 0.5)
    if shape == "oscillatory":
        f = rng.uniform(2.0, 6.0)
        return _plateau(u, 0.3, 0.3) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    if shape == "long":
        wob = sum(np.sin(2 * np.pi * rng.uniform(0.1, 0.8) * t + rng.uniform(0, 2 * np.pi)) for _ in range(3))
        return _plateau(u, 0.1, 0.1) * (0.6 + 0.4 * wob / 3.0)
    if shape == "slow":
        return _plateau(u, 0.5, 0.5)
    if shape == "jerk":
        return _plateau(u, rng.uniform(0.06, 0.12), rng.uniform(0.3, 0.5))
    if shape == "rotation":
        return _plateau(u, rng.uniform(0.2, 0.35), rng.uniform(0.3, 0.45))
    if shape == "voluntary":
        f = rng.uniform(0.8, 2.5)
        return _plateau(u, 0.2, 0.2) * (0.75 + 0.25 * np.sin(2 * np.pi * f * t))
    raise ValueError(f"unknown movement shape {shape!r}")


def _tremor(t: NDArray[np.float64], dur: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """Unit-scale 3-8 Hz muscular jitter (n, 3) under a sin envelope."""
    env = np.sin(np.pi * t / dur)[:, None]
    out = np.zeros((t.size, 3))
    for _ in range(3):
        out += np.sin(2 * np.pi * rng.uniform(3.0, 8.0) * t + rng.uniform(0, 2 * np.pi))[:, None] * _unit(rng.standard_normal(3))
    return env * out / 3.0


def _flexion(
    shape: str,
    dur: float,
    up0: NDArray[np.float64],
    target_mg: float,
    rng: np.random.Generator,
    scale_up: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Deviation from rest (leg frame, g) on the fine grid.

    The angle is scaled so the peak deviation is ``target_mg`` in the resting posture ``up0``, or,
    with ``scale_up``, in that reference posture: the movement then has the size it would have
    there, and in ``up0`` the sensor feels what the physics gives (on the side, a flexion barely
    changes the gravity projection, so the peak is smaller and mostly linear acceleration).
    """
    t = np.arange(int(np.ceil(dur * FINE_HZ)) + 1) / FINE_HZ
    theta = _angle_profile(shape, t, dur, rng)
    dt = 1.0 / FINE_HZ
    d1 = np.gradient(theta, dt)
    d2 = np.gradient(d1, dt)
    # a flexion turns about the lateral axis through the knee or hip; a rotation turns the shank
    # about its own long axis, with the sensor on the shin surface in front of that axis
    rotation = shape == "rotation"
    axis = _unit((_X if rotation else _Y) + 0.2 * rng.standard_normal(3))
    r_hat = _Z if rotation else _R_HAT
    lever = _LEVER_M[shape] * rng.uniform(0.8, 1.2)
    tang = np.cross(axis, r_hat)
    lin = (lever * d2[:, None] * tang) / G_MS2
    lin += 0.15 * float(np.abs(lin).max()) * _tremor(t, dur, rng)
    cen = (-lever * (d1**2)[:, None] * r_hat) / G_MS2
    target = target_mg / 1000.0

    def dev(s: float, up: NDArray[np.float64] = up0) -> NDArray[np.float64]:
        return rotate(up, axis, -s * theta) - up + s * lin + s * s * cen

    ref = up0 if scale_up is None else scale_up
    s = 0.01
    for _ in range(8):
        peak = float(np.sqrt((dev(s, ref) ** 2).sum(axis=1)).max())
        if peak <= 0:
            break
        s *= target / peak
        if abs(peak - target) < 1e-4 * target:
            break
    out: NDArray[np.float64] = dev(s)
    out[0] = 0.0  # the movement starts from rest
    out[-1] = 0.0
    return out


def _posture(dur: float, up0: NDArray[np.float64], up1: NDArray[np.float64], gross_mg: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """Deviation from the old rest vector (leg frame, g) while turning from ``up0`` to ``up1``."""
    t = np.arange(int(np.ceil(dur * FINE_HZ)) + 1) / FINE_HZ
    u = t / dur
    # smooth roll between 15 % and 85 % of the movement
    v = np.clip((u - 0.15) / 0.7, 0.0, 1.0)
    s = v * v * (3.0 - 2.0 * v)
    cross = np.cross(up0, up1)
    angle = float(np.arctan2(np.linalg.norm(cross), np.dot(up0, up1)))
    axis = _unit(cross) if np.linalg.norm(cross) > 1e-9 else _X
    path = rotate(up0, axis, s * angle)
    burst = np.zeros((t.size, 3))
    for _ in range(3):
        burst += np.sin(2 * np.pi * rng.uniform(1.5, 4.0) * t + rng.uniform(0, 2 * np.pi))[:, None] * _unit(rng.standard_normal(3))
    burst *= (np.sin(np.pi * u) ** 2)[:, None]
    burst *= (gross_mg / 1000.0) / max(float(np.sqrt((burst**2).sum(axis=1)).max()), 1e-12)
    out: NDArray[np.float64] = path - up0 + burst
    out[0] = 0.0
    out[-1] = up1 - up0
    return out


@dataclasses.dataclass(frozen=True)
class Realized:
    """Movements computed on the fine grid (sensor frame, g).

    ``dev[i]`` is the deviation from rest of movement ``i`` sampled every ``1 / FINE_HZ`` s from
    ``onset_s[i]``; ``amplitude_mg[i]`` its true peak; ``posture_end_s`` the end times of the
    posture changes, at which the resting up vector switches to the next of ``ups_sensor``.
    """

    onset_s: NDArray[np.float64]
    dev: tuple[NDArray[np.float32], ...]
    amplitude_mg: NDArray[np.float64]
    posture_end_s: NDArray[np.float64]
    ups_sensor: NDArray[np.float64]


#: Reference posture of ``lm_scaling="angle"``: supine with the shank level.
SCALE_UP_SUPINE = _Z


def realize_movements(schedule: pd.DataFrame, leg: Leg, scale_up: NDArray[np.float64] | None = None) -> Realized:
    """Compute every scheduled movement's waveform and true amplitude (independent of the sensor rate).

    ``leg.ups`` must hold one more entry than there are posture rows in ``schedule``. With
    ``scale_up`` (e.g. :data:`SCALE_UP_SUPINE`), a movement's ``target_mg`` sets its size in that
    reference posture instead of the sensed peak in the current one (see :func:`_flexion`).
    """
    kinds = schedule["kind"].to_numpy()
    n_post = int(np.count_nonzero(kinds == "posture"))
    if leg.ups.shape[0] != n_post + 1:
        raise ValueError(f"leg has {leg.ups.shape[0]} postures for {n_post} posture changes")
    devs: list[NDArray[np.float32]] = []
    amps = np.empty(len(schedule))
    post_end: list[float] = []
    k = 0
    for i, row in enumerate(schedule.itertuples(index=False)):
        rng = np.random.default_rng(int(row.detail_seed))
        up0 = leg.ups[k]
        if row.kind == "posture":
            d = _posture(float(row.duration_s), up0, leg.ups[k + 1], float(row.target_mg), rng)
            k += 1
            post_end.append(float(row.onset_s + row.duration_s))
        else:
            d = _flexion(str(row.shape), float(row.duration_s), up0, float(row.target_mg), rng, scale_up)
        amps[i] = 1000.0 * float(np.sqrt((d**2).sum(axis=1)).max())
        devs.append((d @ leg.mount.T).astype(np.float32))
    return Realized(
        onset_s=schedule["onset_s"].to_numpy(dtype=np.float64),
        dev=tuple(devs),
        amplitude_mg=amps,
        posture_end_s=np.asarray(post_end, dtype=np.float64),
        ups_sensor=leg.ups_sensor(),
    )


def rest_up(t_true: NDArray[np.float64], realized: Realized) -> NDArray[np.float64]:
    """Resting up vector (sensor frame, g) at each true time: switches at the end of each posture change."""
    seg = np.searchsorted(realized.posture_end_s, t_true, side="right")
    return realized.ups_sensor[seg]


def render_movements(out: NDArray[np.float64], t_true: NDArray[np.float64], realized: Realized) -> None:
    """Add every movement's deviation into ``out`` (n, 3) at the sample times ``t_true`` (sorted)."""
    for t0, d in zip(realized.onset_s, realized.dev, strict=True):
        t1 = t0 + (d.shape[0] - 1) / FINE_HZ
        i0, i1 = np.searchsorted(t_true, (t0, t1), side="left")
        if i1 <= i0:
            continue
        x = (t_true[i0:i1] - t0) * FINE_HZ
        j = np.minimum(x.astype(np.int64), d.shape[0] - 2)
        frac = (x - j)[:, None]
        out[i0:i1] += d[j] * (1.0 - frac) + d[j + 1] * frac
