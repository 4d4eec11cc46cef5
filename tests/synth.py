"""Small synthetic recordings for unit tests (independent of the night simulator)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from lmdetect.model import Recording

START = dt.datetime(2026, 3, 14, 22, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def quiet(seconds: float, fs: float = 50.0, noise_g: float = 0.002, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fs))
    a = rng.normal(0.0, noise_g, (n, 3)).astype(np.float32)
    a[:, 2] += 1.0
    return a


def add_burst(a: np.ndarray, fs: float, onset_s: float, duration_s: float, amp_g: float, freq_hz: float = 2.0,
              axis: int = 0) -> None:
    """A movement burst: half-sine envelope times an oscillation."""
    i0 = int(round(onset_s * fs))
    m = int(round(duration_s * fs))
    k = np.arange(m)
    a[i0 : i0 + m, axis] += (amp_g * np.sin(np.pi * k / m) * np.sin(2 * np.pi * freq_hz * k / fs)).astype(np.float32)


def recording(a: np.ndarray, fs: float = 50.0, **kw) -> Recording:
    t = np.arange(a.shape[0]) / fs
    return Recording(a, t, fs, START, **kw)


def add_pad(a: np.ndarray, fs: float, onset_s: float, on_s: float, motor_hz: float, amp_g: float, *,
            ramp_s: float = 300.0, wander: float = 0.01, harmonic: float = 0.1, seed: int = 0) -> None:
    """A vibration pad's motor, point-sampled at ``fs`` (so it aliases like a sensor without an
    anti-alias filter): on for ``on_s``, then a linear ramp-down of its speed over ``ramp_s``
    (amplitude ~ speed squared, stall below a quarter of full speed), a slow relative speed
    wander and a second harmonic, on two axes."""
    rng = np.random.default_rng(seed)
    t = np.arange(a.shape[0]) / fs
    x = t - onset_s
    v = np.where((x >= 0) & (x < on_s), 1.0, 0.0)
    ramp = (x >= on_s) & (x < on_s + ramp_s)
    v = np.where(ramp, 1.0 - (x - on_s) / ramp_s, v)
    v = np.where(ramp & (v < 0.25), 0.0, v)
    per = rng.uniform(5.0, 60.0, 3)
    ph0 = rng.uniform(0, 2 * np.pi, 3)
    w = 1.0 + wander * sum(np.sin(2 * np.pi * t / p + q) for p, q in zip(per, ph0, strict=True)) / np.sqrt(1.5)
    ph = 2 * np.pi * np.cumsum(motor_hz * v * w) / fs
    amp = amp_g * v**2
    a[:, 1] += (amp * np.cos(ph)).astype(np.float32)
    a[:, 2] += (0.4 * amp * np.cos(ph)).astype(np.float32)
    a[:, 0] += (harmonic * amp * np.cos(2 * ph + 0.7)).astype(np.float32)


def shank_movement(a: np.ndarray, fs: float, onset_s: float, duration_s: float, angle_deg: float, *,
                   axis: tuple[float, float, float] = (0.0, 1.0, 0.0),
                   tangent: tuple[float, float, float] = (0.0, 0.0, 1.0), radius_m: float = 0.35) -> None:
    """A leg movement as the shank sensor feels it: the shank turns by up to ``angle_deg`` about
    ``axis`` (sensor frame) and back (angle ~ sin^2 over ``duration_s``), which rotates gravity in
    the sensor frame, plus the tangential linear acceleration radius x angular acceleration along
    ``tangent``. With ``axis`` along gravity (a flexion while lying on the side) only the linear
    acceleration is left."""
    i0 = int(round(onset_s * fs))
    m = int(round(duration_s * fs))
    tau = np.arange(m) / fs
    th = np.radians(angle_deg) * np.sin(np.pi * tau / duration_s) ** 2
    th_dd = np.radians(angle_deg) * 2 * (np.pi / duration_s) ** 2 * np.cos(2 * np.pi * tau / duration_s)
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    g0 = a[max(0, i0 - int(fs)) : i0].mean(axis=0).astype(float)
    # Rodrigues: rotate the resting gravity vector about k by th
    c, s = np.cos(th)[:, None], np.sin(th)[:, None]
    g = g0 * c + np.cross(k, g0)[None, :] * s + (k * np.dot(k, g0))[None, :] * (1 - c)
    lin = (radius_m * th_dd / 9.81)[:, None] * (np.asarray(tangent, float) / np.linalg.norm(tangent))[None, :]
    a[i0 : i0 + m] += (g - g0 + lin).astype(np.float32)


def rotation(axis: tuple[float, float, float], angle_deg: float) -> np.ndarray:
    """Rotation matrix about ``axis`` by ``angle_deg`` (how a sensor may be strapped on)."""
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    th = np.radians(angle_deg)
    return np.eye(3) + np.sin(th) * kx + (1 - np.cos(th)) * kx @ kx
