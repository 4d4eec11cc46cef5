"""The AASM Scoring Manual (version 2.x) rules for periodic limb movements in sleep.

Source: Berry RB, Brooks R, Gamaldo CE, et al., for the American Academy of Sleep Medicine. The
AASM Manual for the Scoring of Sleep and Associated Events: Rules, Terminology and Technical
Specifications, versions 2.0-2.5. Darien, IL: AASM; 2012-2018. The movement rules are those of
the 2007 manual (Iber C, et al.), unchanged in 2.x; the text used here is the reading-centre
transcription in the NSRR CHAT documentation and the comparison in Clin Neurophysiol Pract
2022;7:285-316, Table 3.

The manual leaves some cases open (the limits of a bilateral movement, what a movement longer
than 10 s does to a series, the LM after a too-short interval). docs/scoring.md says what this
rule set does in each case and why.
"""

from __future__ import annotations

import dataclasses

from .rules import RuleSet, register_rule_set

__all__ = ["AASM"]


@register_rule_set
@dataclasses.dataclass(frozen=True)
class AASM(RuleSet):
    """AASM Scoring Manual v2.x PLM rules (Berry et al., AASM 2012-2018).

    Attributes
    ----------
    lm_min_duration_s : 0.5, clm_max_duration_mono_s : 10
        An LM lasts 0.5-10 s (AASM manual, PLM rule 1).
    same_leg_merge_gap_s : 0.5
        An LM ends at the start of a period >= 0.5 s with EMG <= 2 uV above resting, so
        same-leg activity with gaps < 0.5 s is one LM (AASM manual, LM offset definition).
    clm_max_duration_bil_s : None, bilateral_max_mono : None
        The manual sets no limit on a bilateral movement as a whole; each monolateral part must
        itself be 0.5-10 s.
    bilateral_reference : "onset", bilateral_gap_s : 5.0
        Leg movements on the two legs separated by less than 5 s between movement onsets are
        counted as a single leg movement (AASM manual, PLM rule).
    imi_min_s : 5, imi_max_s : 90
        The period between movements, onset to onset, is 5-90 s (AASM manual).
    min_series_length : 4
        At least 4 consecutive LMs (AASM manual).
    short_imi_breaks_series : False
        The manual is silent; the usual practice (as under the WASM 2006 rules, Zucconi M, et
        al., Sleep Med 2006;7:175-83) skips an LM that follows the previous one by less than 5 s
        and measures the interval to the next LM, so the run survives (MATPLM
        ``removeShortIMI``).
    respiratory_reference : "event", respiratory_before_s : 0.5, respiratory_after_s : 0.5
        An LM is not scored if it occurs from 0.5 s before to 0.5 s after an apnea, hypopnea,
        RERA or sleep-disordered-breathing event (AASM manual; Clin Neurophysiol Pract 2022,
        Table 3).
    respiratory_excludes : True
        Such LMs are not scored: they are removed from the series (not series breakers).
    arousal_gap_s : 0.5
        An LM and an arousal are associated when there is < 0.5 s between the end of one event
        and the onset of the other, regardless of which is first (AASM manual, PLM rules).
    pi_imi_min_s : 10, pi_imi_max_s : 90, pi_min_run_imis : 3
        Periodicity index of Ferri et al., Sleep 2006;29:759-69 (independent of the rule set).
    """

    name = "aasm"
    citation = "AASM scoring manual rules (Berry et al., AASM 2012-2018)"
    reference = (
        "Berry RB, Brooks R, Gamaldo CE, et al. The AASM Manual for the Scoring of Sleep and Associated "
        "Events: Rules, Terminology and Technical Specifications, version 2.x. Darien, IL: American Academy "
        "of Sleep Medicine; 2012-2018."
    )

    lm_min_duration_s: float = 0.5
    same_leg_merge_gap_s: float = 0.5
    clm_max_duration_mono_s: float = 10.0
    clm_max_duration_bil_s: float | None = None
    bilateral_max_mono: int | None = None
    bilateral_reference: str = "onset"
    bilateral_gap_s: float = 5.0
    imi_min_s: float = 5.0
    imi_max_s: float = 90.0
    min_series_length: int = 4
    short_imi_breaks_series: bool = False
    respiratory_reference: str = "event"
    respiratory_before_s: float = 0.5
    respiratory_after_s: float = 0.5
    respiratory_excludes: bool = True
    arousal_gap_s: float = 0.5
    pi_imi_min_s: float = 10.0
    pi_imi_max_s: float = 90.0
    pi_min_run_imis: int = 3
