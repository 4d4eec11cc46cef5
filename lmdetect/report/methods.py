"""The methods paragraph of a report, generated from the configuration that produced the numbers.

Every number in the text is read from the :class:`~lmdetect.config.Config` (and the rule set it
names), so the text cannot drift from the code; what was done with this night's pad sessions and
where time in bed came from are read from the night summary, which recorded them.
:func:`references` lists the works cited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ..config import Config
from ..scoring import WASM2016, get_rule_set
from ..scoring.imi import LINEAR_BIN_S, LINEAR_MAX_S, LOG_BIN_LN, LOG_MAX_LN
from ..scoring.rules import RuleSet
from ..summary.night import metric_value
from .diary_text import diary_flag_sentences

__all__ = ["ACTIGRAPHY_NOTE", "REFERENCES", "methods_paragraphs", "methods_text", "references", "tib_from"]

#: Full references, by short key (a rule set's own reference is on its class: ``RuleSet.reference``).
REFERENCES: dict[str, str] = {
    "ferri2006": (
        "Ferri R, Zucconi M, Manconi M, et al. New approaches to the study of periodic leg movements during "
        "sleep in restless legs syndrome. Sleep 2006;29:759-769."
    ),
    "cole1992": (
        "Cole RJ, Kripke DF, Gruen W, Mullaney DJ, Gillin JC. Automatic sleep/wake identification from "
        "wrist activity. Sleep 1992;15:461-469."
    ),
    "webster1982": (
        "Webster JB, Kripke DF, Messin S, Mullaney DJ, Wyborney G. An activity-based sleep monitor system "
        "for ambulatory use. Sleep 1982;5:389-399."
    ),
    "plmscore": "Fulda S. PLMScoRe: scoring of periodic leg movements (R package), 2020. "
    "doi:10.5281/zenodo.3903318",
    "vanhees2018": (
        "van Hees VT, Sabia S, Jones SE, et al. Estimating sleep parameters using an accelerometer without "
        "sleep diary. Sci Rep 2018;8:12975."
    ),
    "smith2018": (
        "Smith MT, McCrae CS, Cheung J, et al. Use of actigraphy for the evaluation of sleep disorders and "
        "circadian rhythm sleep-wake disorders: an American Academy of Sleep Medicine clinical practice "
        "guideline. J Clin Sleep Med 2018;14:1231-1237."
    ),
}

#: The caveat every report carries (AASM 2018 actigraphy guideline, recommendation 8).
ACTIGRAPHY_NOTE = (
    "Ankle accelerometry tracks leg movements; it is not an EMG-based diagnosis. The AASM clinical "
    "practice guideline on actigraphy recommends that clinicians not use actigraphy in place of "
    "electromyography for the diagnosis of periodic limb movement disorder (Smith et al., J Clin Sleep "
    "Med 2018, recommendation 8). Use these numbers to follow a person over nights, not to diagnose PLMD."
)

def _g(x: float) -> str:
    """Compact number: 0.5, 10, 1500."""
    return f"{x:g}"


def _detection(config: Config) -> str:
    d = config.detect
    return (
        "Leg movements (LMs) were detected after the sensor clock was fitted to the host clock and gaps were "
        f"masked. Each axis was low-passed at {_g(d.lowpass_hz)} Hz (Butterworth, order {d.filter_order}, "
        "zero "
        f"phase); the resting orientation was the median of the {_g(d.baseline_block_s)}-s block means of "
        f"the blocks at rest over the {_g(d.baseline_window_s)} s before or after, whichever was closer, "
        "and the movement signal the magnitude of the deviation from it, in "
        "mg, "
        f"smoothed over {_g(d.envelope_s)} s (the envelope). "
        f"An LM started when this envelope exceeded the larger of {_g(d.on_min_mg)} mg and "
        f"{_g(d.on_factor)} times the noise floor, and ended at the start of {_g(d.offset_quiet_s)} s below "
        "the "
        f"larger of {_g(d.off_min_mg)} mg and {_g(d.off_factor)} times the floor; the floor was the "
        f"{_g(d.floor_percentile)}th percentile of {_g(d.floor_block_s)}-s mean envelopes over a sliding "
        f"{_g(d.floor_window_s)}-s window"
        + (
            f", and both thresholds cleared {_g(d.peak_floor_factor)} times the same percentile of the "
            f"{_g(d.floor_block_s)}-s envelope maxima (the onset threshold {_g(d.on_factor / d.off_factor)} "
            "times that)"
            if d.peak_floor_factor > 0
            else ""
        )
        + f". LMs shorter than {_g(d.min_duration_s)} s, or without a "
        f"{_g(d.morphology_window_s)}-s window whose median exceeded the offset threshold, were dropped, and "
        f"LMs less than {_g(d.merge_gap_s)} s apart were joined (the structure of the WASM 2016 EMG rules "
        "carried over to acceleration). A movement after which the direction of gravity changed by more than "
        f"{_g(d.posture_angle_deg)} degrees was a posture change, one peaking above "
        f"{_g(d.gross_amplitude_mg)} mg "
        f"a gross body movement; neither is a candidate LM. No LM was detected within {_g(d.gap_guard_s)} s "
        "of a gap (within a shorter gap's own length), but a movement seen on both sides of a gap of up to "
        f"{_g(d.bridge_gap_s)} s was carried across it. The detection thresholds were tuned on simulated nights and have not been validated "
        "against polysomnography."
    )


def _logged_pads(config: Config, facts: Mapping[str, Any] | None) -> str:
    if facts is None:  # a summary from before the handling was recorded: the configured method
        if config.mask_logged_pads:
            return ("Logged vibration-pad sessions were masked from LM detection until "
                    f"{_g(config.pad_log_margin_s)} s after their logged end.")
        return "Logged vibration-pad sessions were not masked from LM detection."
    n, k = int(facts.get("n_sessions", 0)), int(facts.get("n_masked", 0))
    if n == 0:
        return "No vibration-pad session was logged."
    margin = f"until {_g(config.pad_log_margin_s)} s after the logged end"
    sessions = f"{n} logged vibration-pad session{'' if n == 1 else 's'}"
    was, it = ("was", "it") if n == 1 else ("were", "them")
    if k == n:
        return f"The {sessions} {was} masked from LM detection {margin}."
    if k == 0:
        return f"The {sessions} {was} not masked: LMs were detected through {it} as at any other time."
    return f"Of the {sessions}, {k} {'was' if k == 1 else 'were'} masked from LM detection {margin}."


def _pads(config: Config, summary: Mapping[str, Any] | None = None) -> str:
    handling = metric_value(summary or {}, "context.pad.handling")
    handling = handling if isinstance(handling, Mapping) else None
    text = _logged_pads(config, None if handling is None else handling.get("logged", {}))
    v = config.vibration
    if config.detect_vibration:
        text += (
            " Sessions were also detected in the signal as sustained narrowband vibration: in "
            f"{_g(v.window_s)}-s spectra, one peak above {_g(v.min_freq_hz)} Hz holding at least "
            f"{v.concentration:.0%} of the power with an RMS of at least {_g(v.min_rms_mg)} mg, in "
            f"{v.min_hit_fraction:.0%} of the windows of a run lasting at least {_g(v.min_session_s / 60)} "
            "min"
        )
        margin = f"masked with {_g(v.margin_s)} s on either side"
        found = None if handling is None else int(handling.get("detected", {}).get("n_sessions", 0))
        if config.remove_vibration and found == 0:
            text += "; none was found."
        elif config.remove_vibration:
            text += (
                ". In each session found, the vibration line (the motor frequency or its alias below half "
                "the sampling rate, with its harmonics) was tracked through its drift and ramp-down and "
                "subtracted from the signal, and LMs were detected on the cleaned signal; only stretches "
                f"where the vibration left after removal exceeded {_g(config.max_residual_mg)} mg RMS were "
                f"masked, with {_g(config.residual_guard_s)} s on either side"
            )
            masked_h = metric_value(summary or {}, "quality.masked_pad_h")
            if masked_h is None:
                text += "."
            else:
                m = float(masked_h)
                text += f" ({m:.2f} h in this night)." if m >= 0.1 else f" ({60.0 * m:.1f} min in this night)."
        elif handling is None:  # a summary from before the handling was recorded
            text += f"; these were {margin}."
        else:
            det = handling.get("detected", {})
            n, k = int(det.get("n_sessions", 0)), int(det.get("n_masked", 0))
            if n == 0:
                text += "; none was found."
            elif k == n:
                text += f"; the {n} found {'was' if n == 1 else 'were'} {margin}."
            elif k == 0:
                text += f"; the {n} found {'was' if n == 1 else 'were'} not masked."
            else:
                text += f"; of the {n} found, {k} were {margin}."
    else:
        text += " Detection of pad sessions in the signal was switched off."
    masked_h = metric_value(summary or {}, "quality.masked_pad_h")
    if masked_h is not None and float(masked_h) == 0.0:
        text += " No time was masked as pad use."
    else:
        text += (" Inside masked time no movement can be observed, so rates around pad sessions are per "
                 "observable hour.")
    return text


def _scoring(rules: RuleSet) -> str:
    bil = (
        f"LMs on the two legs less than {_g(rules.bilateral_gap_s)} s apart "
        f"({'offset to onset' if rules.bilateral_reference == 'offset' else 'onset to onset'}) were one "
        "bilateral LM"
    )
    if rules.clm_max_duration_bil_s is not None:
        bil += f", a candidate only up to {_g(rules.clm_max_duration_bil_s)} s"
        if rules.bilateral_max_mono is not None:
            bil += f" and {rules.bilateral_max_mono} monolateral LMs"
    short = (
        f"a CLM following the previous one by less than {_g(rules.imi_min_s)} s ended the series"
        if rules.short_imi_breaks_series
        else f"a CLM following the previous one by less than {_g(rules.imi_min_s)} s was skipped"
    )
    return (
        f"Movements were scored with the {rules.citation or rules.name + ' rules'}. A candidate leg movement "
        f"(CLM) is an LM of {_g(rules.lm_min_duration_s)}-{_g(rules.clm_max_duration_mono_s)} s; {bil}. A "
        "PLM "
        f"series is at least {rules.min_series_length} consecutive CLMs with onset-to-onset intervals (IMI) "
        "of "
        f"{_g(rules.imi_min_s)}-{_g(rules.imi_max_s)} s; {short}. With a single ankle sensor every movement "
        "is "
        "monolateral."
    )


def _tib_source(summary: Mapping[str, Any] | None) -> str | None:
    src = (summary or {}).get("tib_source")
    if src is None and (summary or {}).get("sleep_source") == "actigraphy":
        return "recording"  # older summaries: actigraphy alone meant no diary
    return None if src is None else str(src)


def tib_from(summary: Mapping[str, Any] | None) -> str:
    """Where time in bed came from, in words (the summary's ``tib_source``)."""
    return {
        "diary": "lights off and on from the diary",
        "diary+recording": "diary lights off or on, else the recording's ends",
        "recording": "the whole recording",
    }.get(_tib_source(summary) or "", "source not recorded")


def _sleep(config: Config, summary: Mapping[str, Any] | None) -> str:
    source = str((summary or {}).get("sleep_source", "actigraphy"))
    sw = config.sleepwake
    if source == "hypnogram":
        text = "Sleep stages came from the supplied hypnogram."
    else:
        weights = ", ".join(_g(w) for w in sw.weights)
        text = (
            f"Sleep and wake were estimated per {_g(sw.epoch_s)}-s epoch from ankle activity: a weighted sum "
            "of "
            f"the moving fraction of epochs -4 to +2 (weights {weights}; the form of Cole et al., Sleep "
            "1992) "
            f"above {_g(sw.threshold)} scored wake"
        )
        if sw.load_threshold_mg_s > 0:
            text += (
                f", as did a load of movements outside PLM series (amplitude x duration) above "
                f"{_g(sw.load_threshold_mg_s)} mg s over the epoch and {sw.load_window_epochs} epoch(s) either side"
            )
        text += ", followed by Webster's rescoring rules (Webster et al., Sleep 1982)." if sw.rescore else "."
        text += (
            f" The sleep period runs from the first to the last run of {_g(sw.min_sleep_onset_min)} min of "
            "sleep. "
            "Ankle activity gives sleep of unknown depth, so no NREM/REM split is reported."
        )
        text += _diary(config, summary)
    text += {
        "diary": " Time in bed was lights off to lights on from the diary.",
        "diary+recording": " Time in bed ran from the diary's lights off, or the recording's start, to its "
        "lights on, or the recording's end.",
        "recording": " Without lights off and on in a diary, time in bed was the whole recording.",
    }.get(_tib_source(summary) or "", "")
    text += (
        f" Epochs with less than {config.min_observed_fraction:.0%} usable signal (gaps, masked pad "
        "vibration) "
        "were left out of total sleep time and wake time, since no movement can be seen in them."
    )
    return text


def _diary_checked(summary: Mapping[str, Any] | None) -> bool:
    checks = (summary or {}).get("sleep_diary_check")
    return isinstance(checks, Mapping) and bool(checks)


def _diary(config: Config, summary: Mapping[str, Any] | None) -> str:
    """How the diary's sleep onset and final awakening were reconciled with the actigraphy."""
    if not _diary_checked(summary):
        if str((summary or {}).get("sleep_period_source", "actigraphy")) in ("diary", "diary+actigraphy"):
            # a summary from before the rows were checked
            return " Sleep was scored only between the sleep onset and final awakening logged in the diary."
        return ""
    sw = config.sleepwake
    text = (
        " The sleep onset and final awakening logged in the diary guided the sleep period, the way GGIR uses a "
        "sleep log to guide its own detection of the sleep period (van Hees et al., Sci Rep 2018): sleep was "
        "scored only between them, since quiet wake in bed looks like sleep to an actigraph, unless the "
        f"actigraphy held at least {sw.diary_min_periodic_lms} members of PLM series (WASM 2016 rules) beyond "
        f"a row, in series with at least {sw.diary_series_sleep_frac:.0%} of their members in epochs scored "
        "sleep; periodic leg movements are a sleep phenomenon, so such a row was overruled and the sleep "
        "period started (or ended) with the actigraphy sleep holding the first (or last) of them, at most "
        f"{_g(sw.diary_max_lead_min)} min before (or after) it."
    )
    start = (summary or {}).get("recording_start")
    flags = diary_flag_sentences(summary or {}, dt.datetime.fromisoformat(str(start))) if start else []
    n = len((summary or {}).get("sleep_diary_check") or {})
    if flags:
        text += " In this night: " + " ".join(flags)
        if len(flags) < n:
            text += " The other row was kept."
    else:
        text += f" In this night the diary {'row was' if n == 1 else 'rows were'} kept."
    return text


def _indices(rules: RuleSet) -> str:
    return (
        "PLMS/h is the number of PLMs in sleep per hour of total sleep time (TST) in bed, PLMW/h the number "
        "in "
        "wake per hour of wake in bed, CLM/h the candidate LMs in sleep per hour of TST. The periodicity "
        "index "
        f"(Ferri et al., Sleep 2006) is the share of IMIs with {_g(rules.pi_imi_min_s)} < IMI <= "
        f"{_g(rules.pi_imi_max_s)} s that lie in a run of at least {rules.pi_min_run_imis} such IMIs; the "
        "PLM/CLM "
        "ratio (PLMScoRe's 'PI', a different quantity) is reported beside it. IMI histograms count the IMIs "
        f"ending at CLMs in sleep in {_g(LINEAR_BIN_S)}-s bins up to {_g(LINEAR_MAX_S)} s and in ln(IMI) "
        "bins of "
        f"{_g(LOG_BIN_LN)} up to {_g(LOG_MAX_LN)} (the PLMScoRe convention). Rates inside and outside RLS "
        "episodes "
        "and around pad sessions count movements in bed per observable hour (recorded and not masked), and "
        "are not given for less than 10 min of observable time."
    )


def methods_paragraphs(config: Config, summary: Mapping[str, Any] | None = None) -> list[str]:
    """The methods text as paragraphs: detection, pad masking, scoring, sleep, indices, caveat.

    Parameters
    ----------
    config
        The configuration the night was processed with.
    summary
        The night summary: its ``sleep_source`` and ``tib_source`` select the sleep paragraph
        (default: actigraphy), its ``context.pad.handling`` says what was done with the pad
        sessions (without it, the configured method is described).
    """
    rules = get_rule_set(config.rules)
    return [
        _detection(config),
        _pads(config, summary),
        _scoring(rules),
        _sleep(config, summary),
        _indices(rules),
        ACTIGRAPHY_NOTE,
    ]


def methods_text(config: Config, summary: Mapping[str, Any] | None = None) -> str:
    """:func:`methods_paragraphs` joined by blank lines."""
    return "\n\n".join(methods_paragraphs(config, summary))


def references(config: Config, summary: Mapping[str, Any] | None = None) -> list[str]:
    """Full references of the works the methods text cites, in citation order."""
    rules = get_rule_set(config.rules)
    refs = [rules.reference] if rules.reference else []
    if rules.name != WASM2016.name:
        refs.append(WASM2016.reference)  # the detection paragraph refers to its EMG rules
    keys: list[str] = []
    if str((summary or {}).get("sleep_source", "actigraphy")) != "hypnogram":
        keys.append("cole1992")
        if config.sleepwake.rescore:
            keys.append("webster1982")
        if _diary_checked(summary):
            keys.append("vanhees2018")
    keys += ["ferri2006", "plmscore", "smith2018"]
    return refs + [REFERENCES[k] for k in keys]
