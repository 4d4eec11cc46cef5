"""One-to-one matching of sensor and reference leg movements, once both are on the reference clock.

Rule: a sensor and a reference movement match when their intervals overlap and their onsets are
within ``tolerance_s``; each movement matches at most one other, closest onsets first. This is the
rule of :func:`lmdetect.evaluation.match_events` (``lmdetect evaluate``), so the sensitivity against
a PSG and against the simulator's truth are the same figure. The default tolerance,
:data:`DEFAULT_TOLERANCE_S` = 1 s, is also ``evaluate``'s. It is the shortest onset-to-onset
spacing of two same-leg LMs under WASM 2016 (Ferri et al., Sleep Med 2016: an LM lasts at least
0.5 s, and same-leg LMs less than 0.5 s apart are one LM), so a sensor onset within 1 s of a PSG
onset points at that movement rather than at the next, and it is well above the residual clock
error after alignment (0.2-0.3 s SD on simulated pairs with 0.2 s scorer jitter). The overlap
requirement keeps a long PSG movement from being "matched" by a different movement that
starts just before it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..evaluation import AMPLITUDE_BANDS_MG, match_events
from .params import DEFAULT_TOLERANCE_S

__all__ = ["DEFAULT_TOLERANCE_S", "DURATION_BANDS_S", "by_group", "error_stats", "match_tables", "rates"]

#: Bands of the PSG movement's duration (s) for sensitivity by duration.
DURATION_BANDS_S: tuple[tuple[float, float], ...] = (
    (0.0, 1.0),
    (1.0, 2.0),
    (2.0, 5.0),
    (5.0, 10.0),
    (10.0, float("inf")),
)


def match_tables(
    sensor: pd.DataFrame, reference: pd.DataFrame, tolerance_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Matched pairs (positional indices into sensor, reference); both tables in the reference clock."""
    return match_events(
        sensor.reset_index(drop=True), reference.reset_index(drop=True), onset_tol_s=tolerance_s
    )


def rates(n_matched: int, n_sensor: int, n_reference: int) -> dict[str, Any]:
    """Counts, sensitivity (matched / reference) and PPV (matched / sensor); None when undefined."""
    return {
        "n_reference": int(n_reference),
        "n_sensor": int(n_sensor),
        "n_matched": int(n_matched),
        "sensitivity": n_matched / n_reference if n_reference else None,
        "ppv": n_matched / n_sensor if n_sensor else None,
    }


def _band_name(lo: float, hi: float) -> str:
    return f"{lo:g}-{hi:g}" if np.isfinite(hi) else f">={lo:g}"


def by_group(
    matched: np.ndarray, values: np.ndarray, bands: tuple[tuple[float, float], ...] | None = None
) -> dict[str, Any]:
    """Share matched (and n) per group of ``values`` (labels, or numbers cut into ``bands``)."""
    out: dict[str, Any] = {}
    if bands is not None:
        v = values.astype(float)
        for lo, hi in bands:
            sel = (v >= lo) & (v < hi)
            out[_band_name(lo, hi)] = {
                "n": int(sel.sum()),
                "share_matched": float(matched[sel].mean()) if sel.any() else None,
            }
        return out
    labels = pd.Series(values).fillna("").astype(str).replace("", "none").to_numpy()
    for g in sorted(set(labels)):
        sel = labels == g
        out[g] = {"n": int(sel.sum()), "share_matched": float(matched[sel].mean())}
    return out


def error_stats(err: np.ndarray) -> dict[str, float | int | None]:
    """Mean, SD, median, mean absolute and 95th-percentile absolute error (s) of matched pairs."""
    e = np.asarray(err, dtype=float)
    e = e[np.isfinite(e)]
    if e.size == 0:
        return {"n": 0, "mean_s": None, "sd_s": None, "median_s": None, "mae_s": None, "p95_abs_s": None}
    return {
        "n": int(e.size),
        "mean_s": float(e.mean()),
        "sd_s": float(e.std(ddof=1)) if e.size > 1 else None,
        "median_s": float(np.median(e)),
        "mae_s": float(np.abs(e).mean()),
        "p95_abs_s": float(np.percentile(np.abs(e), 95)),
    }


AMPLITUDE_BANDS = AMPLITUDE_BANDS_MG
