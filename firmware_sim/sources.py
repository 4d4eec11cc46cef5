"""What the simulated accelerometer measures: sample sources for the reference firmware.

A source answers one question: what acceleration (in g, gravity included, sensor axes) acts on the
sensor at a given *true* time, in seconds since the night began. The firmware decides when it
samples (its own drifting clock, its configured rate) and quantises to counts for its range, so
one source serves every rate and range.

Sources:

* :class:`ConstantSource`: a sensor lying still (tests).
* :class:`FunctionSource`: any vectorised function of time (tests with values known in closed form).
* :class:`RecordingSource`: a recorded or simulated night, interpolated linearly between samples.
* :func:`night_source`: a night from :func:`firmware_sim.night.simulate_night`.
* :func:`replay_source`: a recording file in any format lmdetect reads (``.lmr``, ...).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from lmdetect.errors import LmdetectError
from lmdetect.model import Recording

__all__ = [
    "SampleSource",
    "ConstantSource",
    "FunctionSource",
    "RecordingSource",
    "night_source",
    "replay_source",
]


@runtime_checkable
class SampleSource(Protocol):
    """Acceleration acting on the sensor as a function of true time."""

    @property
    def duration_s(self) -> float | None:
        """Length of the source in seconds, or None when it never ends."""

    def samples_at(self, t_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Acceleration in g, shape ``(len(t_s), 3)``, at true times ``t_s`` (s since the start)."""


class ConstantSource:
    """A sensor at rest: the same acceleration (default 1 g on +z) at every instant."""

    def __init__(
        self, accel_g: tuple[float, float, float] = (0.0, 0.0, 1.0), duration_s: float | None = None
    ):
        self._a = np.asarray(accel_g, dtype=np.float64).reshape(1, 3)
        self._duration_s = duration_s

    @property
    def duration_s(self) -> float | None:
        return self._duration_s

    def samples_at(self, t_s: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.repeat(self._a, np.asarray(t_s).shape[0], axis=0)


class FunctionSource:
    """Acceleration from a vectorised function ``fn(t_s) -> (n, 3)`` array in g."""

    def __init__(
        self,
        fn: Callable[[NDArray[np.float64]], NDArray[np.float64]],
        duration_s: float | None = None,
    ):
        self._fn = fn
        self._duration_s = duration_s

    @property
    def duration_s(self) -> float | None:
        return self._duration_s

    def samples_at(self, t_s: NDArray[np.float64]) -> NDArray[np.float64]:
        t = np.asarray(t_s, dtype=np.float64)
        a = np.asarray(self._fn(t), dtype=np.float64)
        if a.shape != (t.shape[0], 3):
            raise LmdetectError(f"source function returned shape {a.shape}, expected ({t.shape[0]}, 3)")
        return a


class RecordingSource:
    """Replays a :class:`~lmdetect.model.Recording` as a continuous signal.

    The recording's ``time_s`` (relative to its first sample) is taken as the source timeline.
    Between samples, and across gaps, the signal is interpolated linearly: a sensor samples
    continuously, and a gap in the source file is a gap in what was *received*, not in the world.
    So the firmware can sample the source at any rate, not only at the recording's own.

    Parameters
    ----------
    recording : Recording
        The samples to replay (``accel_g`` in g).
    loop : bool
        Start again from the beginning at the end (``duration_s`` becomes None).
    """

    def __init__(self, recording: Recording, *, loop: bool = False):
        if recording.n_samples < 2:
            raise LmdetectError("a recording source needs at least two samples")
        self.recording = recording
        self._t = recording.time_s - recording.time_s[0]
        self._a = np.asarray(recording.accel_g, dtype=np.float64)
        self._loop = loop
        # one period past the last sample: the length the recording covers
        self._length_s = float(self._t[-1] + 1.0 / recording.fs)

    @property
    def duration_s(self) -> float | None:
        return None if self._loop else self._length_s

    def samples_at(self, t_s: NDArray[np.float64]) -> NDArray[np.float64]:
        t = np.asarray(t_s, dtype=np.float64)
        if self._loop:
            t = np.mod(t, self._length_s)
        out = np.empty((t.shape[0], 3), dtype=np.float64)
        for axis in range(3):
            out[:, axis] = np.interp(t, self._t, self._a[:, axis])
        return out


def night_source(
    profile: str = "rls",
    hours: float = 8.0,
    rate_hz: float = 50,
    seed: int = 1,
    **overrides: Any,
) -> RecordingSource:
    """A simulated night (:func:`firmware_sim.night.simulate_night`) as a source.

    The night is simulated with a perfect clock (``clock_ppm=0``) so its ``time_s`` is true time;
    the firmware applies its own clock drift. The :class:`SimulatedNight` (ground truth) is kept
    as the ``night`` attribute of the returned source.
    """
    try:
        night_mod = importlib.import_module("firmware_sim.night")
    except ModuleNotFoundError as exc:  # the simulator is an optional part of a checkout
        raise LmdetectError("the night simulator (firmware_sim.night) is not available") from exc
    overrides.setdefault("clock_ppm", 0.0)
    night = night_mod.simulate_night(profile, hours, rate_hz, seed, **overrides)
    src = RecordingSource(night.recording)
    src.night = night  # type: ignore[attr-defined]
    return src


def replay_source(path: str | os.PathLike[str], *, loop: bool = False) -> RecordingSource:
    """A recording file (any format :func:`lmdetect.io.read_recording` reads) as a source."""
    from lmdetect.io import read_recording

    return RecordingSource(read_recording(path), loop=loop)
