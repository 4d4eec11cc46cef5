"""Clock alignment of two leg-movement onset trains (sensor and PSG) of the same night.

The two clocks differ by an offset (seconds to minutes) and run at slightly different rates
(tens of ppm). The model, in the frames of the two files (seconds since each file's time zero)::

    t_reference = t_sensor + nominal_s + offset_s + drift_ppm * 1e-6 * t_sensor

``nominal_s`` is what the files' absolute start times say (sensor start minus reference start;
0 when either is unknown); ``offset_s`` is then how far the PSG clock runs ahead of the sensor
clock at the sensor's recording start.

Estimation, from the onsets alone:

1. coarse: cross-correlation of the two onset trains binned at 1 s (each smoothed by a 3-s box, so
   onsets a second apart still coincide) over lags of +-``search_s``; refused when the best lag is
   not clearly better than the best lag more than ``peak_exclusion_s`` away (periodic trains have
   side peaks near multiples of the inter-movement interval);
2. fine: one-to-one matching of onsets within a tolerance around the coarse lag, then a linear fit
   of the onset differences against sensor time, with outliers beyond 3 robust SDs (1.4826 x MAD)
   dropped and the matching repeated around the fit; the drift is fitted only when the matched
   onsets span at least ``MIN_DRIFT_SPAN_S`` (shorter spans do not separate drift from jitter:
   20 ppm over 1 h is 0.07 s), else it is fixed at 0.

The offset's standard error is the least-squares standard error of the intercept at sensor time 0.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import LmdetectError

__all__ = ["MIN_DRIFT_SPAN_S", "MIN_PAIRS", "AgreementError", "Alignment", "align_onsets", "user_alignment"]

#: Fewest matched onset pairs an estimated alignment is accepted from.
MIN_PAIRS = 10
#: Shortest span (s) of matched sensor onsets over which a drift is fitted (2 h).
MIN_DRIFT_SPAN_S = 7200.0
#: The best coarse lag must beat every lag farther than ``peak_exclusion_s`` by this factor.
MIN_PEAK_RATIO = 1.5


class AgreementError(LmdetectError):
    """The two nights cannot be compared: no overlap in time, ambiguous or too weak alignment."""


@dataclasses.dataclass(frozen=True)
class Alignment:
    """Mapping of sensor times into the reference frame (see the module docstring).

    Attributes
    ----------
    nominal_s : float
        Sensor start minus reference start from the files' absolute times (s); 0 when unknown.
    offset_s : float
        Reference clock minus sensor clock at the sensor's time zero (s).
    offset_se_s : float or None
        Standard error of ``offset_s`` (s); None for a user-given offset.
    drift_ppm : float
        Rate of the reference clock against the sensor clock, minus 1 (ppm); 0 when not fitted.
    drift_fitted : bool
        Whether the drift was estimated (else fixed at 0).
    n_pairs : int or None
        Matched onset pairs the fit used; None for a user-given offset.
    method : str
        ``estimated`` or ``user``.
    peak_ratio : float or None
        Coarse cross-correlation: best peak over the best peak away from it.
    residual_sd_s : float or None
        SD of the fit's residuals (s).
    drift_se_ppm : float or None
        Standard error of ``drift_ppm`` (ppm); None when the drift is not fitted.
    """

    nominal_s: float
    offset_s: float
    offset_se_s: float | None
    drift_ppm: float
    drift_fitted: bool
    n_pairs: int | None
    method: str
    peak_ratio: float | None = None
    residual_sd_s: float | None = None
    drift_se_ppm: float | None = None
    pairs: tuple[np.ndarray, np.ndarray] | None = dataclasses.field(default=None, repr=False, compare=False)

    def to_reference(self, t_sensor: np.ndarray | float) -> np.ndarray:
        """Sensor frame times (s) in the reference frame (s)."""
        t = np.asarray(t_sensor, dtype=float)
        return t + self.nominal_s + self.offset_s + self.drift_ppm * 1e-6 * t

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "nominal_offset_s": self.nominal_s,
            "offset_s": self.offset_s,
            "offset_se_s": self.offset_se_s,
            "drift_ppm": self.drift_ppm,
            "drift_se_ppm": self.drift_se_ppm,
            "drift_fitted": self.drift_fitted,
            "n_matched_pairs": self.n_pairs,
            "coarse_peak_ratio": self.peak_ratio,
            "residual_sd_s": self.residual_sd_s,
        }


def user_alignment(offset_s: float, nominal_s: float = 0.0) -> Alignment:
    """An alignment with a user-given offset and no drift."""
    return Alignment(nominal_s, float(offset_s), None, 0.0, False, None, "user")


def _nearest_pairs(a: np.ndarray, b: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one pairs (indices into a, b) with |a - b| <= tol, closest first. a, b sorted."""
    cand: list[tuple[float, int, int]] = []
    for i, x in enumerate(a):
        lo = np.searchsorted(b, x - tol, side="left")
        hi = np.searchsorted(b, x + tol, side="right")
        cand.extend((abs(float(b[j]) - float(x)), i, int(j)) for j in range(lo, hi))
    cand.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    ia, ib = [], []
    for _, i, j in cand:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        ia.append(i)
        ib.append(j)
    return np.array(ia, dtype=int), np.array(ib, dtype=int)


def _coarse_lag(
    s: np.ndarray, r: np.ndarray, search_s: float, exclusion_s: float
) -> tuple[float, float, float]:
    """Best lag L (s) with r ~ s + L, its score and the best score away from it."""
    from scipy.signal import correlate

    lo = min(s.min() - search_s, r.min()) - 5.0
    hi = max(s.max() + search_s, r.max()) + 5.0
    n = int(np.ceil(hi - lo)) + 1
    box = np.ones(3)
    hs = np.convolve(np.bincount(np.floor(s - lo).astype(int), minlength=n)[:n], box, "same")
    hr = np.convolve(np.bincount(np.floor(r - lo).astype(int), minlength=n)[:n], box, "same")
    xc = correlate(hr, hs, mode="full", method="fft")
    lags = np.arange(-(n - 1), n, dtype=float)
    sel = np.abs(lags) <= search_s
    xc, lags = xc[sel], lags[sel]
    k = int(np.argmax(xc))
    best = float(xc[k])
    away = np.abs(lags - lags[k]) > exclusion_s
    second = float(xc[away].max()) if away.any() else 0.0
    return float(lags[k]), best, second


def align_onsets(
    sensor_onsets: np.ndarray,
    reference_onsets: np.ndarray,
    *,
    nominal_s: float = 0.0,
    search_s: float | None = 600.0,
    peak_exclusion_s: float = 5.0,
    match_tol_s: float = 2.0,
) -> Alignment:
    """Estimate offset and drift from the two onset trains.

    Parameters
    ----------
    sensor_onsets, reference_onsets : array of float
        LM onsets (s) in each file's frame.
    nominal_s : float
        Sensor start minus reference start (s) from the files' absolute times, 0 when unknown.
    search_s : float or None
        Largest clock offset searched (s) around ``nominal_s``; None: every offset at which the
        trains overlap (when the files' absolute start times are unknown).
    peak_exclusion_s : float
        Lags closer than this to the best one belong to its peak (s).
    match_tol_s : float
        Onset tolerance (s) of the matching that refines the coarse lag.

    Raises
    ------
    AgreementError
        Empty trains, no overlap in time within the search range, an ambiguous coarse peak, or
        fewer than :data:`MIN_PAIRS` matched onsets.
    """
    s = np.sort(np.asarray(sensor_onsets, dtype=float))
    r = np.sort(np.asarray(reference_onsets, dtype=float))
    if s.size == 0 or r.size == 0:
        raise AgreementError(f"no leg movements to align on (sensor {s.size}, reference {r.size})")
    s_nom = s + nominal_s
    if search_s is None:
        search_s = float(max(r.max() - s_nom.min(), s_nom.max() - r.min())) + 1.0
    if s_nom.max() + search_s < r.min() or r.max() < s_nom.min() - search_s:
        raise AgreementError(
            f"the sensor's movements ({s_nom.min():.0f}-{s_nom.max():.0f} s in the reference's time) and the "
            f"reference's ({r.min():.0f}-{r.max():.0f} s) do not overlap in time, even shifted by +-{search_s:g} s"
        )
    lag, best, second = _coarse_lag(s_nom, r, search_s, peak_exclusion_s)
    ratio = best / second if second > 0 else float("inf")
    if best <= 0:
        raise AgreementError(f"no coincident leg movements at any clock offset within +-{search_s:g} s")
    if ratio < MIN_PEAK_RATIO:
        raise AgreementError(
            f"clock alignment is ambiguous: the best offset ({lag:+.0f} s) is not clearly better than another "
            f"offset more than {peak_exclusion_s:g} s away (ratio {ratio:.2f} < {MIN_PEAK_RATIO:g}); "
            "give the offset with --offset"
        )
    a, b = lag, 0.0
    tol = match_tol_s
    drift_fitted = False
    resid_sd = None
    se = None
    se_b = None
    ia = ib = np.zeros(0, int)
    for _ in range(4):
        pred = s_nom + a + b * s
        order = np.argsort(pred)
        ja, jb = _nearest_pairs(pred[order], r, tol)
        ia, ib = order[ja], jb
        if ia.size < MIN_PAIRS:
            break
        x = s[ia]
        y = r[ib] - s_nom[ia]
        keep = np.ones(x.size, bool)
        for _ in range(3):
            fit_drift = np.ptp(x[keep]) >= MIN_DRIFT_SPAN_S and keep.sum() >= 2 * MIN_PAIRS
            if fit_drift:
                b, a = np.polyfit(x[keep], y[keep], 1)
            else:
                b, a = 0.0, float(np.mean(y[keep]))
            res = y - (a + b * x)
            mad = float(np.median(np.abs(res[keep] - np.median(res[keep]))))
            new_keep = np.abs(res) <= max(3 * 1.4826 * mad, 0.05)
            if np.array_equal(new_keep, keep):
                break
            keep = new_keep
        drift_fitted = bool(fit_drift)
        ia, ib = ia[keep], ib[keep]
        x, res = x[keep], res[keep]
        n = x.size
        dof = n - (2 if drift_fitted else 1)
        resid_sd = float(np.sqrt(np.sum(res**2) / dof)) if dof > 0 else None
        if resid_sd is not None:
            if drift_fitted:
                sxx = float(np.sum((x - x.mean()) ** 2))
                se = resid_sd * float(np.sqrt(1.0 / n + x.mean() ** 2 / sxx))
                se_b = resid_sd / float(np.sqrt(sxx))
            else:
                se = resid_sd / float(np.sqrt(n))
                se_b = None
        # the next round matches around the fit, with a tolerance the residuals justify
        tol = max(4.0 * (resid_sd or 0.0), 0.5)
    if ia.size < MIN_PAIRS:
        raise AgreementError(
            f"too few matching leg movements to align the clocks ({ia.size} < {MIN_PAIRS} within "
            f"{tol:g} s of the best offset {lag:+.0f} s)"
        )
    return Alignment(
        nominal_s=float(nominal_s),
        offset_s=float(a),
        offset_se_s=se,
        drift_ppm=float(b) * 1e6,
        drift_fitted=drift_fitted,
        n_pairs=int(ia.size),
        method="estimated",
        peak_ratio=ratio if np.isfinite(ratio) else None,
        residual_sd_s=resid_sd,
        drift_se_ppm=None if se_b is None else se_b * 1e6,
        pairs=(s[ia], r[ib]),
    )
