"""The WASM/IRLSSG/EURLSSG 2016 rules for scoring periodic limb movements (the default rule set).

Source: Ferri R, Fulda S, Allen RP, et al. World Association of Sleep Medicine (WASM) 2016
standards for recording and scoring leg movements in polysomnograms developed by a joint task
force from the International and the European Restless Legs Syndrome Study Groups
(IRLSSG and EURLSSG). Sleep Med 2016;21:1-11. doi:10.1016/j.sleep.2015.11.018.

Where the standard's abstract is not explicit, the values follow the reference implementations
by task-force members (Fulda S, PLMScoRe, R package, 2020, doi:10.5281/zenodo.3903318; and the
Johns Hopkins RLS laboratory's MATPLM) and the rule comparison in Clin Neurophysiol Pract
2022;7:285-316, Table 3. docs/scoring.md lists which rule comes from which source.
"""

from __future__ import annotations

import dataclasses

from .rules import RuleSet, register_rule_set

__all__ = ["WASM2016"]


@register_rule_set
@dataclasses.dataclass(frozen=True)
class WASM2016(RuleSet):
    """WASM 2016 scoring rules (Ferri et al., Sleep Med 2016;21:1-11).

    Attributes
    ----------
    lm_min_duration_s : 0.5
        Minimum LM duration (Ferri 2016, abstract).
    same_leg_merge_gap_s : 0.5
        An LM ends at the start of >= 0.5 s of low EMG, so same-leg LMs less than 0.5 s apart are
        one LM (Ferri 2016 offset definition; PLMScoRe ``lm_unil``).
    clm_max_duration_mono_s : 10
        A candidate LM (CLM) is a monolateral LM of 0.5-10 s (Ferri 2016, abstract).
    clm_max_duration_bil_s : 15
        ... or a bilateral LM of 0.5-15 s (Ferri 2016, abstract).
    bilateral_max_mono : 4
        A bilateral LM combining more than 4 monolateral LMs is not a CLM (PLMScoRe ``lm_bil``;
        MATPLM ``maxcomb = 4``; Clin Neurophysiol Pract 2022, Table 3).
    bilateral_reference : "offset", bilateral_gap_s : 0.5
        Monolateral LMs on the two legs that overlap or are separated by less than 0.5 s from the
        offset of one to the onset of the next form one bilateral LM, merged iteratively
        (PLMScoRe ``lm_bil``; MATPLM ``candidate_lms``).
    imi_min_s : 10, imi_max_s : 90
        Inter-movement interval, onset to onset, 10 s <= IMI <= 90 s (Ferri 2016, abstract).
    min_series_length : 4
        At least 4 consecutive CLMs (Ferri 2016, abstract).
    short_imi_breaks_series : True
        A CLM preceded by an interval < 10 s interrupts the series (Ferri 2016, abstract); the
        CLM after the short interval may start a new series (PLMScoRe ``plm``, MATPLM
        breakpoints).
    respiratory_reference : "end", respiratory_before_s : 2.0, respiratory_after_s : 10.25
        A CLM is respiratory-related (CLMr) if any part of it falls from 2.0 s before to 10.25 s
        after the end of an apnea, hypopnea or RERA (Clin Neurophysiol Pract 2022, Table 3;
        PLMScoRe ``rlm``; MATPLM ``lb1 = 2, ub1 = 10.25``).
    respiratory_excludes : False
        The primary PLM index includes all CLMs; an index without CLMr (PLMnr) is reported as
        well (Ferri 2016, abstract).
    arousal_gap_s : 0.5
        An LM and an arousal are associated when they overlap or when < 0.5 s separates the end
        of one from the onset of the other, regardless of which is first (Ferri 2016; PLMScoRe
        ``add_sleep``, MATPLM: +-0.5 s).
    pi_imi_min_s : 10, pi_imi_max_s : 90, pi_min_run_imis : 3
        Periodicity index: IMIs with 10 < IMI <= 90 s in runs of >= 3 consecutive IMIs (Ferri R,
        Zucconi M, Manconi M, et al. New approaches to the study of periodic leg movements during
        sleep in restless legs syndrome. Sleep 2006;29:759-69).
    """

    name = "wasm2016"
    citation = "WASM 2016 rules (Ferri et al., Sleep Med 2016)"
    reference = (
        "Ferri R, Fulda S, Allen RP, et al. World Association of Sleep Medicine (WASM) 2016 standards for "
        "recording and scoring leg movements in polysomnograms developed by a joint task force from the "
        "IRLSSG and the EURLSSG. Sleep Med 2016;21:1-11. doi:10.1016/j.sleep.2015.11.018"
    )

    lm_min_duration_s: float = 0.5
    same_leg_merge_gap_s: float = 0.5
    clm_max_duration_mono_s: float = 10.0
    clm_max_duration_bil_s: float | None = 15.0
    bilateral_max_mono: int | None = 4
    bilateral_reference: str = "offset"
    bilateral_gap_s: float = 0.5
    imi_min_s: float = 10.0
    imi_max_s: float = 90.0
    min_series_length: int = 4
    short_imi_breaks_series: bool = True
    respiratory_reference: str = "end"
    respiratory_before_s: float = 2.0
    respiratory_after_s: float = 10.25
    respiratory_excludes: bool = False
    arousal_gap_s: float = 0.5
    pi_imi_min_s: float = 10.0
    pi_imi_max_s: float = 90.0
    pi_min_run_imis: int = 3
