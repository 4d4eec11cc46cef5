"""Inter-movement intervals: which CLMs count, the periodicity index and IMI histograms.

IMIs are ``imi_s`` of a scored table (onset to onset; see :mod:`lmdetect.scoring.series`).

Histogram conventions follow PLMScoRe (Fulda S, R package, 2020, ``imi_plot``) and SOMAS
(``get_PLM_indices_WASM.m``): IMIs of at most 90 s in 2-s bins from 0 to 90 s, and ln(IMI) in bins
of 0.1 from 0 to 4.5 (e^4.5 = 90.0 s), by default for IMIs ending at a CLM in sleep.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import LmdetectError
from ._common import EPS_S, SLEEP_STAGES
from .rules import RuleSet

__all__ = [
    "counted_clm",
    "periodic_imi_mask",
    "periodicity_index",
    "imi_histograms",
    "LINEAR_BIN_S",
    "LINEAR_MAX_S",
    "LOG_BIN_LN",
    "LOG_MAX_LN",
]

log = logging.getLogger(__name__)

#: Linear IMI histogram: 2-s bins from 0 to 90 s (PLMScoRe ``imi_plot``; SOMAS ``-IMI.csv``).
LINEAR_BIN_S = 2.0
LINEAR_MAX_S = 90.0
#: Log IMI histogram: bins of 0.1 ln-units from 0 to 4.5 (PLMScoRe ``imi_plot``; SOMAS
#: ``-IMI_LOG.csv``).
LOG_BIN_LN = 0.1
LOG_MAX_LN = 4.5


def counted_clm(scored: pd.DataFrame, rules: RuleSet) -> NDArray[np.bool_]:
    """CLMs the rule set counts: all CLMs, minus respiratory-related ones when the rule set does
    not score those (AASM)."""
    clm = scored["is_clm"].to_numpy(dtype=bool)
    if rules.respiratory_excludes:
        clm = clm & ~scored["is_clmr"].to_numpy(dtype=bool)
    return clm


def periodic_imi_mask(imi_s: NDArray[np.float64], rules: RuleSet) -> NDArray[np.bool_]:
    """For a time-ordered sequence of IMIs (NaN = no interval, breaks runs): True for IMIs with
    ``pi_imi_min_s < IMI <= pi_imi_max_s`` that belong to a run of at least ``pi_min_run_imis``
    consecutive such IMIs (Ferri et al., Sleep 2006;29:759-69)."""
    imi = np.asarray(imi_s, dtype=np.float64)
    ok = (imi > rules.pi_imi_min_s + EPS_S) & (imi <= rules.pi_imi_max_s + EPS_S)
    out = np.zeros(imi.shape, dtype=bool)
    if not ok.any():
        return out
    # run boundaries of consecutive True values
    d = np.diff(np.concatenate(([0], ok.astype(np.int8), [0])))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    for s, e in zip(starts, ends, strict=True):
        if e - s >= rules.pi_min_run_imis:
            out[s:e] = True
    return out


def periodicity_index(
    scored: pd.DataFrame, rules: RuleSet, scope: NDArray[np.bool_] | None = None
) -> tuple[float | None, int]:
    """Ferri's periodicity index and the number of IMIs it is computed over.

    ``PI = (IMIs in scope that are periodic, see periodic_imi_mask) / (all IMIs in scope)``, where
    the IMI sequence is that of the counted CLMs in time order, and ``scope`` (a mask over the
    rows of ``scored``, default all) selects the CLMs whose IMI (the interval ending at them) is
    counted. Runs are found on the whole sequence, so a run may start outside the scope. ``None``
    when fewer than 2 IMIs are in scope.
    """
    rows = counted_clm(scored, rules)
    imi = scored["imi_s"].to_numpy(dtype=np.float64)[rows]
    sel = np.ones(imi.shape, dtype=bool) if scope is None else np.asarray(scope, dtype=bool)[rows]
    periodic = periodic_imi_mask(imi, rules)
    has = np.isfinite(imi) & sel
    n = int(has.sum())
    if n < 2:
        return None, n
    return float((periodic & has).sum() / n), n


def _imis_for_histogram(scored: pd.DataFrame, rules: RuleSet, sleep_only: bool) -> NDArray[np.float64]:
    missing = [c for c in ("is_clm", "is_clmr", "imi_s", "stage") if c not in scored.columns]
    if missing:
        raise LmdetectError(f"scored table lacks column(s) {', '.join(missing)}; use score_lms output")
    rows = counted_clm(scored, rules)
    if sleep_only:
        stage = scored["stage"].to_numpy(dtype=object)
        if (stage != "").any():
            rows = rows & np.isin(stage, list(SLEEP_STAGES))
        else:
            log.info("IMI histogram: no sleep stages in the scored table; using all IMIs")
    imi = scored["imi_s"].to_numpy(dtype=np.float64)[rows]
    return imi[np.isfinite(imi)]


def imi_histograms(
    scored: pd.DataFrame, rules: RuleSet, *, sleep_only: bool = True
) -> dict[str, pd.DataFrame]:
    """Linear and logarithmic IMI histograms of the counted CLMs.

    Parameters
    ----------
    scored
        Output of :func:`lmdetect.scoring.score_lms`.
    rules
        The rule set ``scored`` was scored with (decides which CLMs count).
    sleep_only
        Only IMIs ending at a CLM with a sleep stage at onset (PLMScoRe convention). When the
        table has no stages at all, every IMI is used (logged at INFO).

    Returns
    -------
    dict
        ``"linear"``: DataFrame ``bin_start_s``, ``bin_end_s``, ``count`` (2-s bins, 0-90 s; the
        last bin includes 90 s; longer IMIs are not counted). ``"log"``: DataFrame
        ``bin_start_ln``, ``bin_end_ln``, ``bin_start_s``, ``bin_end_s``, ``count`` (bins of 0.1
        in ln(IMI / 1 s) from 0 to 4.5; IMIs under 1 s or over 90 s are not counted).
    """
    # snap to the nanosecond, so that float noise (16.4 - 6.4 = 9.999999999999998) does not move an
    # IMI into the bin below an edge; IMIs a hair above 90 s (within EPS_S) count as 90 s
    imi = np.round(_imis_for_histogram(scored, rules, sleep_only), 9)
    imi = imi[imi <= LINEAR_MAX_S + EPS_S]
    n_lin = round(LINEAR_MAX_S / LINEAR_BIN_S)
    lin_edges = np.linspace(0.0, LINEAR_MAX_S, n_lin + 1)
    # clip so an IMI a hair above 90 s (within tolerance) lands in the last bin
    lin_counts, _ = np.histogram(np.minimum(imi, LINEAR_MAX_S), bins=lin_edges)
    n_log = round(LOG_MAX_LN / LOG_BIN_LN)
    log_edges = np.linspace(0.0, LOG_MAX_LN, n_log + 1)
    pos = imi[imi >= 1.0]
    log_counts, _ = np.histogram(np.log(pos), bins=log_edges)
    linear = pd.DataFrame(
        {"bin_start_s": lin_edges[:-1], "bin_end_s": lin_edges[1:], "count": lin_counts.astype(np.int64)}
    )
    logh = pd.DataFrame(
        {
            "bin_start_ln": log_edges[:-1],
            "bin_end_ln": log_edges[1:],
            "bin_start_s": np.exp(log_edges[:-1]),
            "bin_end_s": np.exp(log_edges[1:]),
            "count": log_counts.astype(np.int64),
        }
    )
    return {"linear": linear, "log": logh}
