"""Night indices from a scored movement table: PLMS index, PLMW index, CLM indices, IMI
descriptors, the periodicity index and PLM counts per hour of the night.

Definitions (docs/scoring.md has the same with the reasoning):

* Counts are of scored movements with onset inside time in bed (TIB),
  ``tib_start_s <= onset < tib_end_s``. PLM series themselves are built on the whole recording, so
  a series may cross lights-off and sleep/wake boundaries (WASM 2016).
* TST = time of sleep-stage epochs (N1, N2, N3, R, S) inside TIB; wake time = time of W epochs
  inside TIB, i.e. wake after sleep onset plus wake in bed before sleep onset and after the final
  awakening. WASM 2016 (Ferri et al., Sleep Med 2016;21:1-11) asks for PLMW per hour of wake in
  the sleep period plus the suggested immobilisation test; without such a test our denominator is
  all wake in bed.
* ``plms_index = n_plms / tst_h`` (PLMS per hour of TST); ``plmw_index = n_plmw / wake_h``;
  ``clms_index = n_clms / tst_h`` and ``clm_index`` is the same number (the CLM index reported by
  PSG tools, CLMS per hour of sleep); ``clmw_index = n_clmw / wake_h``;
  ``plm_index_tib = n_plm / tib_h`` and ``clm_index_tib = n_clm / tib_h`` (all stages).
  An index whose denominator is unknown or zero is ``None``.
* IMI descriptors use the IMIs (``imi_s``) ending at counted CLMs in the *IMI scope*: CLMs in sleep
  inside TIB when a hypnogram is known (``imi_scope = "sleep"``, the PLMScoRe convention), else
  all CLMs inside TIB (``"tib"``). ``imi_median_s`` and ``imi_geometric_mean_s``
  (``exp(mean(ln IMI))``) are over all of those IMIs, whatever their length; ``n_imi_lt10``,
  ``n_imi_10_90``, ``n_imi_gt90`` split them at 10 s and 90 s (``10 <= IMI <= 90`` in the middle).
* ``periodicity_index``: Ferri et al., Sleep 2006;29:759-69: the share of IMIs in scope that have
  ``10 < IMI <= 90`` s and lie in a run of >= 3 consecutive such IMIs; ``None`` with < 2 IMIs.
* ``plm_clm_ratio``: PLM / CLM in the IMI scope (PLMScoRe's "PI", a different quantity).
* Respiratory keys (``n_clmr``, ``n_plmsnr``, ``plmnr_index``) are ``None`` unless respiratory
  events were given to ``score_lms``.
* Arousal keys: ``n_plms_arousal`` counts PLMS associated with an arousal (``with_arousal``) and
  ``plms_arousal_index = n_plms_arousal / tst_h`` (the PLMS-arousal index of PSG reports); both
  ``None`` unless arousals were given to ``score_lms``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from ..errors import LmdetectError
from ._common import EPS_S, SLEEP_STAGES, WAKE_STAGE
from .imi import counted_clm, periodicity_index
from .rules import RuleSet
from .score import SCORED_COLUMNS
from .stages import Hypnogram, as_hypnogram, stage_at, time_in_stages

__all__ = ["SleepInfo", "night_indices", "INDEX_KEYS"]

_SECONDS_PER_HOUR = 3600.0

#: Keys of the dict returned by :func:`night_indices`.
INDEX_KEYS: tuple[str, ...] = (
    "rule_set",
    "sleep_source",
    "respiratory_scored",
    "tib_start_s",
    "tib_end_s",
    "tib_h",
    "tst_h",
    "wake_h",
    "n_lm",
    "n_clm",
    "n_clms",
    "n_clmw",
    "n_plm",
    "n_plms",
    "n_plmw",
    "n_series",
    "plms_index",
    "plmw_index",
    "clm_index",
    "clms_index",
    "clmw_index",
    "plm_index_tib",
    "clm_index_tib",
    "plm_per_hour_of_night",
    "imi_scope",
    "n_imi",
    "imi_median_s",
    "imi_geometric_mean_s",
    "n_imi_lt10",
    "n_imi_10_90",
    "n_imi_gt90",
    "periodicity_index",
    "plm_clm_ratio",
    "n_clmr",
    "n_plmsnr",
    "plmnr_index",
    "arousals_scored",
    "n_plms_arousal",
    "plms_arousal_index",
)

# split points of the IMI counts, named in the keys (PLMScoRe ``lm_output``: IMI <10, 10-90, >90 s)
_IMI_SHORT_S = 10.0
_IMI_LONG_S = 90.0


@dataclasses.dataclass(frozen=True, eq=False)  # holds a DataFrame: compare by identity
class SleepInfo:
    """What the indices need to know about sleep in one night.

    Parameters
    ----------
    hypnogram
        30-s epochs (onset_s, duration_s, stage) from PSG or actigraphy; ``None`` when unknown
        (then TST-based indices are ``None``).
    tib_start_s, tib_end_s
        Time in bed, lights off to lights on, in seconds since the recording start.
    source
        Where the sleep information came from, e.g. ``"hypnogram"``, ``"actigraphy"``,
        ``"diary+actigraphy"``, ``"none"``.
    """

    hypnogram: pd.DataFrame | None
    tib_start_s: float
    tib_end_s: float
    source: str = "hypnogram"

    def __post_init__(self) -> None:
        for f in ("tib_start_s", "tib_end_s"):
            v = getattr(self, f)
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float, np.floating, np.integer))
                or not math.isfinite(v)
            ):
                raise LmdetectError(f"SleepInfo.{f} must be a finite number of seconds, got {v!r}")
            object.__setattr__(self, f, float(v))
        if self.tib_end_s < self.tib_start_s:
            raise LmdetectError(
                f"SleepInfo: time in bed ends ({self.tib_end_s:g} s) "
                f"before it starts ({self.tib_start_s:g} s)"
            )
        if self.hypnogram is not None:
            as_hypnogram(self.hypnogram)  # validate early

    @classmethod
    def from_hypnogram(
        cls,
        hypnogram: pd.DataFrame,
        *,
        tib_start_s: float | None = None,
        tib_end_s: float | None = None,
        source: str = "hypnogram",
    ) -> SleepInfo:
        """Sleep info whose time in bed defaults to the span of the hypnogram."""
        h = Hypnogram(hypnogram)
        if len(h) == 0 and (tib_start_s is None or tib_end_s is None):
            raise LmdetectError("empty hypnogram: give tib_start_s and tib_end_s")
        start = float(h.onset_s.min()) if tib_start_s is None else tib_start_s
        end = float(h.end_s.max()) if tib_end_s is None else tib_end_s
        return cls(hypnogram, start, end, source)


def _per_hour(count: int, hours: float | None) -> float | None:
    if hours is None or hours <= 0:
        return None
    return count / hours


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def night_indices(
    scored: pd.DataFrame,
    sleep: SleepInfo,
    rules: RuleSet,
    *,
    respiratory_scored: bool | None = None,
    arousals_scored: bool | None = None,
) -> dict[str, Any]:
    """PLM indices of one night.

    Parameters
    ----------
    scored
        Output of :func:`lmdetect.scoring.score_lms` (columns :data:`SCORED_COLUMNS`).
    sleep
        Hypnogram and time in bed. When it has a hypnogram, stages are looked up in it (so
        ``scored`` may have been scored without one).
    rules
        The rule set ``scored`` was scored with.
    respiratory_scored
        Whether respiratory events were given to ``score_lms``; default: read from
        ``scored.attrs["respiratory"]`` (set by ``score_lms``; lost when a table is read from a file).
    arousals_scored
        Whether arousals were given to ``score_lms``; default: ``scored.attrs["arousals"]``.

    Returns
    -------
    dict
        The keys in :data:`INDEX_KEYS` with plain ``int``/``float``/``str``/``bool``/``list``/``None``
        values (JSON-serialisable). The definitions are in this module's docstring.
    """
    missing = [c for c in SCORED_COLUMNS if c not in scored.columns]
    if missing:
        raise LmdetectError(f"scored table lacks column(s) {', '.join(missing)}; use score_lms output")
    scored_name = scored.attrs.get("rule_set")
    if scored_name is not None and scored_name != rules.name:
        raise LmdetectError(
            f"table was scored with {scored_name!r} but indices were asked for {rules.name!r}"
        )
    order = np.argsort(scored["onset_s"].to_numpy(dtype=np.float64), kind="stable")
    s = scored.iloc[order]
    onset = s["onset_s"].to_numpy(dtype=np.float64)

    hyp = as_hypnogram(sleep.hypnogram)
    if hyp is not None:
        stage = stage_at(onset, hyp)
        times = time_in_stages(hyp, sleep.tib_start_s, sleep.tib_end_s)
        tst_h: float | None = times["sleep"] / _SECONDS_PER_HOUR
        wake_h: float | None = times["wake"] / _SECONDS_PER_HOUR
    else:
        stage = s["stage"].to_numpy(dtype=object)
        tst_h = wake_h = None
    tib_h = (sleep.tib_end_s - sleep.tib_start_s) / _SECONDS_PER_HOUR

    # the same test as score_lms(period=...), so a movement scored in TIB is counted in TIB
    in_tib = (onset >= sleep.tib_start_s - EPS_S) & (onset < sleep.tib_end_s - EPS_S)
    is_sleep = np.isin(stage, list(SLEEP_STAGES))
    is_wake = stage == WAKE_STAGE
    clm = counted_clm(s, rules) & in_tib
    plm = s["in_plm_series"].to_numpy(dtype=bool) & in_tib
    kinds = s["kind"].to_numpy(dtype=object)
    is_leg_movement = ~np.isin(kinds, ["posture", "gross"])

    n_clm = int(clm.sum())
    n_clms = int((clm & is_sleep).sum())
    n_clmw = int((clm & is_wake).sum())
    n_plm = int(plm.sum())
    n_plms = int((plm & is_sleep).sum())
    n_plmw = int((plm & is_wake).sum())
    series_ids = s["series_id"].to_numpy(dtype=np.int64)[plm]
    n_series = int(np.unique(series_ids).size)

    # PLMs per clock hour from lights off; the last hour may be partial
    n_hours = math.ceil(tib_h - 1e-9) if tib_h > 0 else 0
    hour = np.floor((onset[plm] - sleep.tib_start_s + EPS_S) / _SECONDS_PER_HOUR).astype(np.int64)
    per_hour = np.bincount(hour, minlength=n_hours)[:n_hours] if n_hours else np.zeros(0, np.int64)

    imi_scope_name = "sleep" if hyp is not None else "tib"
    scope = in_tib & is_sleep if hyp is not None else in_tib
    clm_all = counted_clm(s, rules)
    imi = s["imi_s"].to_numpy(dtype=np.float64)
    imis = imi[clm_all & scope & np.isfinite(imi)]
    pi, _ = periodicity_index(s, rules, scope)
    n_scope_clm = int((clm_all & scope).sum())
    n_scope_plm = int((s["in_plm_series"].to_numpy(dtype=bool) & scope).sum())

    if respiratory_scored is None:
        respiratory = bool(scored.attrs.get("respiratory", False))
    else:
        respiratory = bool(respiratory_scored)
    if respiratory:
        clmr = s["is_clmr"].to_numpy(dtype=bool) & in_tib
        plmnr = s["in_plmnr_series"].to_numpy(dtype=bool) & in_tib & is_sleep
        n_clmr: int | None = int(clmr.sum())
        n_plmsnr_found = int(plmnr.sum())
        n_plmsnr: int | None = n_plmsnr_found
        plmnr_index = _per_hour(n_plmsnr_found, tst_h)
    else:
        n_clmr = n_plmsnr = None
        plmnr_index = None

    if arousals_scored is None:
        arousals = bool(scored.attrs.get("arousals", False))
    else:
        arousals = bool(arousals_scored)
    if arousals:
        n_arousal = int((plm & is_sleep & s["with_arousal"].to_numpy(dtype=bool)).sum())
        n_plms_arousal: int | None = n_arousal
        plms_arousal_index = _per_hour(n_arousal, tst_h)
    else:
        n_plms_arousal = plms_arousal_index = None

    out: dict[str, Any] = {
        "rule_set": rules.name,
        "sleep_source": sleep.source,
        "respiratory_scored": respiratory,
        "tib_start_s": sleep.tib_start_s,
        "tib_end_s": sleep.tib_end_s,
        "tib_h": tib_h,
        "tst_h": tst_h,
        "wake_h": wake_h,
        "n_lm": int((in_tib & is_leg_movement).sum()),
        "n_clm": n_clm,
        "n_clms": n_clms,
        "n_clmw": n_clmw,
        "n_plm": n_plm,
        "n_plms": n_plms,
        "n_plmw": n_plmw,
        "n_series": n_series,
        "plms_index": _per_hour(n_plms, tst_h),
        "plmw_index": _per_hour(n_plmw, wake_h),
        "clm_index": _per_hour(n_clms, tst_h),
        "clms_index": _per_hour(n_clms, tst_h),
        "clmw_index": _per_hour(n_clmw, wake_h),
        "plm_index_tib": _per_hour(n_plm, tib_h),
        "clm_index_tib": _per_hour(n_clm, tib_h),
        "plm_per_hour_of_night": [int(c) for c in per_hour],
        "imi_scope": imi_scope_name,
        "n_imi": int(imis.size),
        "imi_median_s": float(np.median(imis)) if imis.size else None,
        "imi_geometric_mean_s": float(np.exp(np.mean(np.log(imis))))
        if imis.size and (imis > 0).all()
        else None,
        "n_imi_lt10": int((imis < _IMI_SHORT_S - EPS_S).sum()),
        "n_imi_10_90": int(((imis >= _IMI_SHORT_S - EPS_S) & (imis <= _IMI_LONG_S + EPS_S)).sum()),
        "n_imi_gt90": int((imis > _IMI_LONG_S + EPS_S).sum()),
        "periodicity_index": pi,
        "plm_clm_ratio": _ratio(n_scope_plm, n_scope_clm),
        "n_clmr": n_clmr,
        "n_plmsnr": n_plmsnr,
        "plmnr_index": plmnr_index,
        "arousals_scored": arousals,
        "n_plms_arousal": n_plms_arousal,
        "plms_arousal_index": plms_arousal_index,
    }
    return out
