"""Agreement between detected and reference (true or PSG-scored) leg movements.

Matching rule: a detected and a reference LM match when their intervals overlap and their onsets
are within ``onset_tol_s`` (default 1 s); matching is one-to-one, closest onsets first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["match_events", "evaluate_events", "AMPLITUDE_BANDS_MG"]

#: Amplitude bands (mg) for recall by movement size.
AMPLITUDE_BANDS_MG: tuple[tuple[float, float], ...] = ((0, 10), (10, 30), (30, 100), (100, 400), (400, float("inf")))


def match_events(
    detected: pd.DataFrame, reference: pd.DataFrame, *, onset_tol_s: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (positional) of matched pairs: (detected_idx, reference_idx)."""
    d_on = detected["onset_s"].to_numpy(float)
    d_off = d_on + detected["duration_s"].to_numpy(float)
    r_on = reference["onset_s"].to_numpy(float)
    r_off = r_on + reference["duration_s"].to_numpy(float)
    order = np.argsort(r_on)
    r_sorted = r_on[order]
    cand: list[tuple[float, int, int]] = []
    for i in range(d_on.size):
        lo = np.searchsorted(r_sorted, d_on[i] - onset_tol_s, side="left")
        hi = np.searchsorted(r_sorted, d_on[i] + onset_tol_s, side="right")
        for j in order[lo:hi]:
            if d_on[i] < r_off[j] and r_on[j] < d_off[i]:
                cand.append((abs(d_on[i] - r_on[j]), i, int(j)))
    cand.sort()
    used_d: set[int] = set()
    used_r: set[int] = set()
    pairs = []
    for _, i, j in cand:
        if i in used_d or j in used_r:
            continue
        used_d.add(i)
        used_r.add(j)
        pairs.append((i, j))
    if not pairs:
        return np.zeros(0, int), np.zeros(0, int)
    a = np.array(pairs)
    return a[:, 0], a[:, 1]


def _prf(tp: int, n_det: int, n_ref: int) -> dict[str, float | None]:
    p = tp / n_det if n_det else None
    r = tp / n_ref if n_ref else None
    f = 2 * p * r / (p + r) if p is not None and r is not None and (p + r) > 0 else None
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "n_detected": n_det, "n_reference": n_ref}


def evaluate_events(
    detected: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    onset_tol_s: float = 1.0,
    min_amplitude_mg: float | None = None,
) -> dict[str, Any]:
    """LM and PLM agreement.

    Parameters
    ----------
    detected, reference
        Event tables with onset_s, duration_s, in_plm_series; the reference may carry
        amplitude_mg and kind for recall by band and by kind.
    min_amplitude_mg
        If given, also report LM agreement restricted to reference movements at least this
        large (detections matched to smaller reference movements are then not counted as
        false positives; unmatched detections still are).

    Returns
    -------
    dict
        ``lm`` (precision, recall, f1, counts), ``lm_recall_by_amplitude`` (band -> recall, n),
        ``lm_recall_by_kind``, ``plm`` (precision/recall of detected PLM-series members against
        reference PLM-series members, matched with the same rule), and, when
        ``min_amplitude_mg`` is set, ``lm_min_amplitude``.
    """
    det = detected.reset_index(drop=True)
    ref = reference.reset_index(drop=True)
    di, ri = match_events(det, ref, onset_tol_s=onset_tol_s)
    out: dict[str, Any] = {"onset_tol_s": onset_tol_s, "lm": _prf(int(di.size), len(det), len(ref))}
    matched_ref = np.zeros(len(ref), bool)
    matched_ref[ri] = True
    if "amplitude_mg" in ref:
        amp = ref["amplitude_mg"].to_numpy(float)
        bands = {}
        for lo, hi in AMPLITUDE_BANDS_MG:
            sel = (amp >= lo) & (amp < hi)
            name = f"{lo:g}-{hi:g}" if np.isfinite(hi) else f">={lo:g}"
            bands[name] = {"recall": float(matched_ref[sel].mean()) if sel.any() else None, "n": int(sel.sum())}
        out["lm_recall_by_amplitude"] = bands
        if min_amplitude_mg is not None:
            big = amp >= min_amplitude_mg
            matched_det = np.zeros(len(det), bool)
            matched_det[di] = True
            det_to_small = np.zeros(len(det), bool)
            det_to_small[di[~big[ri]]] = True
            n_det = int((~det_to_small).sum())
            tp = int(matched_ref[big].sum())
            out["lm_min_amplitude"] = {"min_amplitude_mg": min_amplitude_mg, **_prf(tp, n_det, int(big.sum()))}
    if "kind" in ref:
        out["lm_recall_by_kind"] = {
            str(k): {"recall": float(matched_ref[(ref["kind"] == k).to_numpy()].mean()), "n": int((ref["kind"] == k).sum())}
            for k in sorted(ref["kind"].astype(str).unique())
        }
    if "in_plm_series" in det and "in_plm_series" in ref:
        dp = det[det["in_plm_series"].astype(bool)]
        rp = ref[ref["in_plm_series"].astype(bool)]
        pdi, _ = match_events(dp, rp, onset_tol_s=onset_tol_s)
        out["plm"] = _prf(int(pdi.size), len(dp), len(rp))
    return out
