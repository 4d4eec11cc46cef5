"""``score_lms``: monolateral leg movements in, scored movements with CLM / PLM flags out."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..model import LM_COLUMNS
from ._common import EPS_S, SLEEP_STAGES, WAKE_STAGE
from .arousal import arousal_associated
from .clm import candidate_lms, prepare_lms
from .respiratory import respiratory_related
from .rules import RuleSet
from .series import build_series, sequence_imis
from .stages import stage_at
from .wasm2016 import WASM2016

__all__ = ["score_lms", "SCORED_COLUMNS", "EXTRA_COLUMNS"]

log = logging.getLogger(__name__)

#: Columns ``score_lms`` adds after :data:`lmdetect.model.LM_COLUMNS`.
EXTRA_COLUMNS: tuple[str, ...] = (
    "n_mono",
    "imi_s",
    "is_clmr",
    "in_plmnr_series",
    "is_plms",
    "is_plmw",
    "with_arousal",
)

#: All columns of a scored table, in order.
SCORED_COLUMNS: tuple[str, ...] = LM_COLUMNS + EXTRA_COLUMNS

_DEFAULT_RULES = WASM2016()


def score_lms(
    lms: pd.DataFrame,
    rules: RuleSet = _DEFAULT_RULES,
    *,
    hypnogram: pd.DataFrame | None = None,
    respiratory: pd.DataFrame | None = None,
    arousals: pd.DataFrame | None = None,
    period: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Score leg movements: merge, find candidate LMs (CLM), build PLM series.

    Parameters
    ----------
    lms : DataFrame
        Monolateral leg movements, any order. Columns ``onset_s``, ``duration_s`` (seconds since
        the recording start), ``side`` (``left``/``right``, or ``unknown`` for a single sensor,
        treated as one leg; ``both`` for movements already merged), ``kind`` (see
        :data:`lmdetect.model.LM_KINDS`: ``lm`` and ``voluntary`` are ordinary LMs, ``long``,
        ``posture`` and ``gross`` are never CLMs and break series), optional ``amplitude_mg`` and
        ``n_mono``.
    rules : RuleSet
        :class:`~lmdetect.scoring.WASM2016` (default) or :class:`~lmdetect.scoring.AASM`.
    hypnogram : DataFrame, optional
        ``onset_s``, ``duration_s``, ``stage``; gives each movement the stage at its onset.
    respiratory : DataFrame, optional
        Respiratory events ``onset_s``, ``duration_s``, ``kind``. With WASM 2016 they flag
        respiratory-related CLMs (``is_clmr``) and a second series without them
        (``in_plmnr_series``); with AASM the LMs in the exclusion window are not scored.
    arousals : DataFrame, optional
        Cortical arousals ``onset_s``, ``duration_s`` scored on the EEG; flags the movements
        associated with one (``with_arousal``, :mod:`lmdetect.scoring.arousal`).
    period : (float, float), optional
        ``(start_s, end_s)``: only movements with ``start_s <= onset < end_s`` are scored; the
        others are left out before any merging, so they neither join series nor bilateral
        movements (PLMScoRe, Fulda 2020, scores only between the start and the end of the
        scored hypnogram). Default: all movements.

    Returns
    -------
    DataFrame
        One row per scored movement (after the bilateral merge), sorted by onset, columns
        :data:`SCORED_COLUMNS`:

        ``onset_s``, ``duration_s``; ``side`` (``left``/``right``/``both``/``unknown``);
        ``kind`` (highest-ranked kind of the merged movements; ``long`` when too long to be a
        CLM); ``amplitude_mg`` (max over the merged movements); ``is_clm``; ``in_plm_series``;
        ``series_id`` (0, 1, ... in time order; -1 if none); ``stage`` (stage at onset, ``""``
        without hypnogram); ``n_mono`` (monolateral LMs merged); ``imi_s`` (onset-to-onset
        interval from the previous movement of the sequence when that is a CLM; NaN for
        non-CLMs, the first CLM, a CLM after a breaker and movements the rule set does not
        score); ``is_clmr`` (respiratory-related CLM; all False without a respiratory table);
        ``in_plmnr_series`` (in a series built with the CLMr removed; equals ``in_plm_series``
        without respiratory events, and with AASM, where CLMr are never scored);
        ``is_plms``/``is_plmw`` (in a series, with a sleep / wake stage at onset);
        ``with_arousal`` (associated with an arousal; all False without an arousal table).

        ``attrs["rule_set"]`` is the rule set's name, ``attrs["respiratory"]`` and
        ``attrs["arousals"]`` whether respiratory events / arousals were given,
        ``attrs["n_outside_period"]`` the number of input rows left out by ``period``.

    Notes
    -----
    The rules and the choices made where the standards are ambiguous are in docs/scoring.md.
    """
    if not isinstance(rules, RuleSet):
        # the class itself (WASM2016 rather than WASM2016()) reads its defaults as attributes and
        # would seem to work until a method or a changed field is needed
        raise ConfigError(
            f"rules must be a RuleSet instance such as WASM2016() or get_rule_set(name), got {rules!r}"
        )
    mono = prepare_lms(lms)
    n_outside = 0
    if period is not None:
        start_s, end_s = float(period[0]), float(period[1])
        inside = (mono.onset_s >= start_s - EPS_S) & (mono.onset_s < end_s - EPS_S)
        n_outside = int((~inside).sum())
        mono = mono.take(inside)
    cand = candidate_lms(mono, rules)
    n = len(cand)
    onset = cand.onset_s
    is_clm = cand.is_clm

    if respiratory is not None:
        is_clmr = respiratory_related(onset, cand.offset_s, respiratory, rules) & is_clm
    else:
        is_clmr = np.zeros(n, dtype=bool)

    # primary sequence: every movement, minus those the rule set does not score
    in_seq = ~is_clmr if rules.respiratory_excludes else np.ones(n, dtype=bool)
    imi = sequence_imis(onset, is_clm, in_seq)
    series_id = build_series(onset, is_clm, in_seq, rules)
    in_series = series_id >= 0

    if respiratory is not None and not rules.respiratory_excludes and is_clmr.any():
        in_nr = build_series(onset, is_clm, ~is_clmr, rules) >= 0
    else:
        in_nr = in_series.copy()

    stage = stage_at(onset, hypnogram)
    is_sleep = np.isin(stage, list(SLEEP_STAGES))
    is_wake = stage == WAKE_STAGE

    out = pd.DataFrame(
        {
            "onset_s": onset,
            "duration_s": cand.offset_s - onset,
            "side": pd.Series(cand.side, dtype=object),
            "kind": pd.Series(cand.kind, dtype=object),
            "amplitude_mg": cand.amplitude_mg,
            "is_clm": is_clm,
            "in_plm_series": in_series,
            "series_id": series_id,
            "stage": pd.Series(stage, dtype=object),
            "n_mono": cand.n_mono,
            "imi_s": imi,
            "is_clmr": is_clmr,
            "in_plmnr_series": in_nr,
            "is_plms": in_series & is_sleep,
            "is_plmw": in_series & is_wake,
            "with_arousal": (
                arousal_associated(onset, cand.offset_s, arousals, rules.arousal_gap_s)
                if arousals is not None
                else np.zeros(n, dtype=bool)
            ),
        },
        columns=list(SCORED_COLUMNS),
    )
    out.attrs["rule_set"] = rules.name
    out.attrs["respiratory"] = respiratory is not None
    out.attrs["arousals"] = arousals is not None
    out.attrs["n_outside_period"] = n_outside
    log.debug(
        "%s: %d movement(s), %d CLM, %d PLM in %d series",
        rules.name,
        n,
        int(is_clm.sum()),
        int(in_series.sum()),
        int(series_id.max(initial=-1) + 1),
    )
    return out
