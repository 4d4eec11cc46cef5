"""Core data model: :class:`Recording` and the column schemas of event tables.

Units: acceleration in g, times in seconds, rates in Hz. Every time in an event table is seconds
since :attr:`Recording.start`, a timezone-aware datetime.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .errors import LmdetectError

__all__ = [
    "Recording",
    "Side",
    "SIDES",
    "LM_COLUMNS",
    "LM_KINDS",
    "HYPNOGRAM_COLUMNS",
    "STAGES",
    "DIARY_COLUMNS",
    "PAD_LOG_COLUMNS",
    "GAP_COLUMNS",
    "empty_lm_table",
]

Side = Literal["left", "right", "both", "unknown"]
SIDES: tuple[str, ...] = ("left", "right", "both", "unknown")

#: Columns of a leg-movement event table, in order.
#: onset_s (s since start), duration_s (s), side, kind (see LM_KINDS), amplitude_mg (peak movement
#: acceleration, mg; NaN when unknown), is_clm (bool), in_plm_series (bool), series_id (int, -1 when
#: not in a series), stage (sleep stage at onset: W, N1, N2, N3, R, S for sleep of unknown depth, or
#: "" when unknown).
LM_COLUMNS: tuple[str, ...] = (
    "onset_s",
    "duration_s",
    "side",
    "kind",
    "amplitude_mg",
    "is_clm",
    "in_plm_series",
    "series_id",
    "stage",
)

#: Kinds of leg movement. ``lm``: an ordinary leg movement (0.5-10 s when candidate);
#: ``long``: longer than the CLM limit; ``posture``: a posture change / turning over;
#: ``gross``: a large whole-body movement; ``voluntary``: movement while awake (simulator truth).
LM_KINDS: tuple[str, ...] = ("lm", "long", "posture", "gross", "voluntary")

#: Sleep stages of a 30-s hypnogram (AASM names). ``S`` = sleep of unknown depth (actigraphy).
STAGES: tuple[str, ...] = ("W", "N1", "N2", "N3", "R", "S")

#: Hypnogram table: onset_s, duration_s (normally 30), stage (one of STAGES).
HYPNOGRAM_COLUMNS: tuple[str, ...] = ("onset_s", "duration_s", "stage")

#: RLS symptom diary: start and end (tz-aware timestamps), severity 0-10, note; rows with
#: kind ``lights_off``/``lights_on`` carry only ``start``. ``intervention`` rows carry name, dose
#: (text) and, when logged by date alone, date (a ``datetime.date``; start is then NaT).
DIARY_COLUMNS: tuple[str, ...] = ("kind", "start", "end", "severity", "note", "name", "dose", "date")

#: Vibration-pad log: start, end (tz-aware timestamps), intensity (device level, 1-9).
PAD_LOG_COLUMNS: tuple[str, ...] = ("start", "end", "intensity")

#: Gaps in a recording: onset_s (time of the last sample before the gap), duration_s (missing
#: time), n_missing (samples missing at the nominal rate).
GAP_COLUMNS: tuple[str, ...] = ("onset_s", "duration_s", "n_missing")


def empty_lm_table() -> pd.DataFrame:
    """An LM event table with no rows and the right dtypes."""
    return pd.DataFrame(
        {
            "onset_s": pd.Series([], dtype="float64"),
            "duration_s": pd.Series([], dtype="float64"),
            "side": pd.Series([], dtype="object"),
            "kind": pd.Series([], dtype="object"),
            "amplitude_mg": pd.Series([], dtype="float64"),
            "is_clm": pd.Series([], dtype="bool"),
            "in_plm_series": pd.Series([], dtype="bool"),
            "series_id": pd.Series([], dtype="int64"),
            "stage": pd.Series([], dtype="object"),
        }
    )


def _shift(start: dt.datetime, seconds: float) -> dt.datetime:
    """``start`` plus elapsed seconds, in start's zone.

    Done in UTC: adding a timedelta to a datetime with a zone such as Europe/Berlin is wall-clock
    arithmetic and would be an hour off across a daylight-saving change.
    """
    return (start.astimezone(dt.UTC) + dt.timedelta(seconds=seconds)).astimezone(start.tzinfo)


@dataclasses.dataclass(frozen=True, eq=False)
class Recording:
    """One night of 3-axis acceleration from one ankle sensor.

    Parameters
    ----------
    accel_g : ndarray, shape (n, 3), float32
        Acceleration in g (x, y, z in the sensor frame), gravity included.
    time_s : ndarray, shape (n,), float64
        Time of each sample in seconds since ``start``, on the *sensor* clock (ticks divided by the
        nominal tick rate). Strictly increasing. Gaps show as steps larger than one sample period.
    fs : float
        Nominal sampling rate in Hz (the rate the sensor was configured for).
    start : datetime
        Timezone-aware time of the first sample.
    device_id, side
        Sensor identity and the ankle it was worn on.
    range_g : float or None
        Full-scale range of the sensor (e.g. 8 for +-8 g); None when unknown.
    seq : ndarray of int64 or None
        Packet sequence number of each sample when the data came in packets (BLE); lets gaps be
        counted in packets and backfilled packets be recognised.
    host_time_s : ndarray of float64 or None
        Host-clock receive time of each sample's packet in seconds since ``start`` (NaN where
        unknown). With ``time_s`` this lets the sensor clock be fitted to the host clock.
    backfilled : ndarray of bool or None
        True for samples that arrived by a resend request after a link drop.
    meta : mapping of str to str
        Free-form provenance (sensor model, firmware, source file, ...).
    """

    accel_g: NDArray[np.float32]
    time_s: NDArray[np.float64]
    fs: float
    start: dt.datetime
    device_id: str = "unknown"
    side: Side = "unknown"
    range_g: float | None = None
    seq: NDArray[np.int64] | None = None
    host_time_s: NDArray[np.float64] | None = None
    backfilled: NDArray[np.bool_] | None = None
    meta: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        a = np.asarray(self.accel_g)
        if a.ndim != 2 or a.shape[1] != 3:
            raise LmdetectError(f"accel_g must have shape (n, 3), got {a.shape}")
        if a.dtype != np.float32:
            a = a.astype(np.float32)
        t = np.asarray(self.time_s, dtype=np.float64)
        if t.shape != (a.shape[0],):
            raise LmdetectError(f"time_s must have shape ({a.shape[0]},), got {t.shape}")
        if t.size > 1 and not np.all(np.diff(t) > 0):
            raise LmdetectError("time_s must be strictly increasing")
        if not (np.isfinite(self.fs) and self.fs > 0):
            raise LmdetectError(f"fs must be a positive number of Hz, got {self.fs!r}")
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise LmdetectError("start must be a timezone-aware datetime")
        if self.side not in SIDES:
            raise LmdetectError(f"side must be one of {SIDES}, got {self.side!r}")
        object.__setattr__(self, "accel_g", a)
        object.__setattr__(self, "time_s", t)
        object.__setattr__(self, "fs", float(self.fs))
        for name, dtype in (("seq", np.int64), ("host_time_s", np.float64), ("backfilled", np.bool_)):
            v = getattr(self, name)
            if v is not None:
                v = np.asarray(v, dtype=dtype)
                if v.shape != (a.shape[0],):
                    raise LmdetectError(f"{name} must have shape ({a.shape[0]},), got {v.shape}")
                object.__setattr__(self, name, v)
        object.__setattr__(self, "meta", dict(self.meta))

    # ------------------------------------------------------------------ derived properties
    @property
    def n_samples(self) -> int:
        return int(self.accel_g.shape[0])

    @property
    def duration_s(self) -> float:
        """Time from the first sample to one period after the last (seconds)."""
        if self.n_samples == 0:
            return 0.0
        return float(self.time_s[-1] - self.time_s[0] + 1.0 / self.fs)

    @property
    def end(self) -> dt.datetime:
        return _shift(self.start, self.duration_s)

    @property
    def fs_effective(self) -> float:
        """Effective rate in Hz: samples per second of sensor time, gaps excluded.

        Computed from the steps between consecutive samples that are not gaps (a step longer than
        1.5 nominal periods counts as a gap).
        """
        if self.n_samples < 2:
            return self.fs
        d = np.diff(self.time_s)
        ok = d < 1.5 / self.fs
        if not ok.any():
            return self.fs
        return float(ok.sum() / d[ok].sum())

    def gaps(self, min_gap_s: float | None = None) -> pd.DataFrame:
        """Table of gaps (see :data:`GAP_COLUMNS`).

        A gap is a step between consecutive samples longer than ``min_gap_s`` (default 1.5 nominal
        sample periods).
        """
        thr = 1.5 / self.fs if min_gap_s is None else float(min_gap_s)
        d = np.diff(self.time_s)
        idx = np.flatnonzero(d > thr)
        missing = d[idx] - 1.0 / self.fs
        return pd.DataFrame(
            {
                "onset_s": self.time_s[idx] + 1.0 / self.fs,
                "duration_s": missing,
                "n_missing": np.rint(missing * self.fs).astype(np.int64),
            },
            columns=list(GAP_COLUMNS),
        )

    @property
    def n_backfilled(self) -> int:
        return 0 if self.backfilled is None else int(self.backfilled.sum())

    def timestamps(self) -> pd.DatetimeIndex:
        """Absolute, timezone-aware time of each sample."""
        base = pd.Timestamp(self.start)
        return base + pd.to_timedelta(self.time_s, unit="s")

    def to_dataframe(self) -> pd.DataFrame:
        """Samples as a DataFrame indexed by absolute time, columns x, y, z in g."""
        return pd.DataFrame(self.accel_g, columns=["x", "y", "z"], index=self.timestamps())

    def select(self, mask_or_slice: NDArray[np.bool_] | slice) -> Recording:
        """A recording with a subset of the samples; times are re-based so the first sample is 0."""
        idx = mask_or_slice
        t = self.time_s[idx]
        if t.size == 0:
            raise LmdetectError("selection contains no samples")
        t0 = float(t[0])

        def sub(v: NDArray | None) -> NDArray | None:  # type: ignore[type-arg]
            return None if v is None else v[idx]

        host = sub(self.host_time_s)
        return dataclasses.replace(
            self,
            accel_g=self.accel_g[idx],
            time_s=t - t0,
            start=_shift(self.start, t0),
            seq=sub(self.seq),
            host_time_s=None if host is None else host - t0,
            backfilled=sub(self.backfilled),
        )

    def between(self, t0_s: float, t1_s: float) -> Recording:
        """Samples with ``t0_s <= time_s < t1_s`` (seconds since start)."""
        return self.select((self.time_s >= t0_s) & (self.time_s < t1_s))

    def describe(self) -> dict[str, object]:
        """Summary used by ``lmdetect info``."""
        g = self.gaps()
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "fs_nominal_hz": self.fs,
            "fs_effective_hz": round(self.fs_effective, 6),
            "n_samples": self.n_samples,
            "n_gaps": int(len(g)),
            "gap_total_s": round(float(g["duration_s"].sum()), 3),
            "n_backfilled": self.n_backfilled,
            "device_id": self.device_id,
            "side": self.side,
            "range_g": self.range_g,
        }

    def __repr__(self) -> str:
        return (
            f"<Recording {self.device_id} {self.side} start={self.start.isoformat()} "
            f"duration={self.duration_s / 3600:.2f} h fs={self.fs:g} Hz n={self.n_samples}>"
        )
