"""Sleep stage lookups on a hypnogram table (onset_s, duration_s, stage)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ..errors import LmdetectError
from ..model import STAGES
from ._common import EPS_S, SLEEP_STAGES, WAKE_STAGE

__all__ = ["Hypnogram", "as_hypnogram", "stage_at", "time_in_stages"]


class Hypnogram:
    """A validated hypnogram: epochs sorted by onset, not overlapping.

    Parameters
    ----------
    table
        DataFrame with columns onset_s, duration_s, stage (lmdetect.model.HYPNOGRAM_COLUMNS);
        stages are W, N1, N2, N3, R or S.
    """

    def __init__(self, table: pd.DataFrame) -> None:
        missing = [c for c in ("onset_s", "duration_s", "stage") if c not in table.columns]
        if missing:
            raise LmdetectError(f"hypnogram lacks column(s) {', '.join(missing)}")
        try:
            onset = pd.to_numeric(table["onset_s"]).to_numpy(dtype=np.float64, na_value=np.nan)
            dur = pd.to_numeric(table["duration_s"]).to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise LmdetectError(f"hypnogram onset_s/duration_s must be numeric: {exc}") from exc
        stage = np.asarray([str(s) for s in table["stage"].to_numpy(dtype=object)], dtype=object)
        if not (np.isfinite(onset).all() and np.isfinite(dur).all()) or (dur < 0).any():
            raise LmdetectError("hypnogram onset_s/duration_s must be finite, durations >= 0")
        bad = sorted(set(stage) - set(STAGES))
        if bad:
            raise LmdetectError(
                f"hypnogram has invalid stage(s) {', '.join(map(repr, bad))}; "
                f"valid stages are {', '.join(STAGES)}"
            )
        order = np.argsort(onset, kind="stable")
        self.onset_s = onset[order]
        self.end_s = self.onset_s + dur[order]
        self.stage = stage[order]
        if self.onset_s.size > 1:
            overlap = self.onset_s[1:] < self.end_s[:-1] - EPS_S
            if overlap.any():
                i = int(np.flatnonzero(overlap)[0])
                raise LmdetectError(
                    f"hypnogram epochs overlap: the epoch at {self.onset_s[i + 1]:g} s starts before the "
                    f"epoch at {self.onset_s[i]:g} s ends ({self.end_s[i]:g} s)"
                )

    def __len__(self) -> int:
        return int(self.onset_s.size)


def as_hypnogram(h: pd.DataFrame | Hypnogram | None) -> Hypnogram | None:
    if h is None or isinstance(h, Hypnogram):
        return h
    return Hypnogram(h)


def stage_at(times_s: ArrayLike, hypnogram: Hypnogram | pd.DataFrame | None) -> NDArray[np.object_]:
    """Stage of the epoch containing each time (epoch = ``[onset, onset + duration)``); ``""``
    where no epoch contains it or there is no hypnogram."""
    t = np.asarray(times_s, dtype=np.float64)
    out = np.full(t.shape, "", dtype=object)
    h = as_hypnogram(hypnogram)
    if h is None or len(h) == 0 or t.size == 0:
        return out
    # the last epoch whose onset is <= t (with tolerance, so an onset exactly at a boundary
    # belongs to the epoch that starts there)
    idx = np.searchsorted(h.onset_s, t + EPS_S, side="right") - 1
    ok = (idx >= 0) & (t < h.end_s[np.clip(idx, 0, None)] - EPS_S)
    out[ok] = h.stage[idx[ok]]
    return out


def time_in_stages(hypnogram: Hypnogram | pd.DataFrame, start_s: float, end_s: float) -> dict[str, float]:
    """Seconds of each stage inside ``[start_s, end_s)``; keys ``sleep`` and ``wake`` summarise."""
    h = as_hypnogram(hypnogram)
    out = {s: 0.0 for s in STAGES}
    if h is not None and len(h) and end_s > start_s:
        overlap = np.clip(np.minimum(h.end_s, end_s) - np.maximum(h.onset_s, start_s), 0.0, None)
        for s in STAGES:
            out[s] = float(overlap[h.stage == s].sum())
    out["sleep"] = sum(out[s] for s in SLEEP_STAGES)
    out["wake"] = out[WAKE_STAGE]
    return out
