"""Sentences about vibration-pad sessions, worded from what the night summary recorded.

What LM detection did with a pad session depends on the configuration and on what the signal
showed, so no report text assumes it: every sentence here is built from
``summary["context"]["pad"]["handling"]`` (:func:`lmdetect.summary.pad.pad_handling`), per source
(logged, detected): how the sessions were handled, and how many of their hours were masked,
observable, or neither. The HTML report, the PDF and the methods paragraph use these sentences.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..summary.night import metric_value
from ..summary.pad import MASKED, MEASURED

__all__ = [
    "HANDLING_WORDS",
    "MASK_SOURCE_WORDS",
    "multinight_pad_sentence",
    "pad_handling_facts",
    "pad_handling_sentences",
    "pad_measurement_sentence",
    "pad_session_rows",
    "pad_windows_note",
]

#: How each recorded ``handling`` value reads in a sentence ("the session was ...").
HANDLING_WORDS: dict[str, str] = {
    MASKED: "masked from leg-movement detection",
    MEASURED: "not masked: leg movements were detected as at any other time",
}


#: Why time inside a session was masked, by the mask's recorded ``source`` ("... masked ...").
MASK_SOURCE_WORDS: dict[str, str] = {
    "residual": "because the vibration left after its line was removed was still too strong to measure through",
    "detected": "as vibration detected in the signal",
    "log": "as logged pad use",
}


def pad_handling_facts(summary: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``context.pad.handling`` of a summary, per source that has sessions (empty when absent)."""
    facts = metric_value(summary, "context.pad.handling") or {}
    return {k: v for k, v in facts.items() if isinstance(v, Mapping) and v.get("n_sessions")}


def _h(x: Any) -> str:
    return f"{float(x or 0.0):.2f}"


def _dur(hours: float) -> str:
    """Hours, or minutes when under 0.1 h (so a few masked seconds do not read '0.00 h')."""
    return f"{_h(hours)} h" if hours >= 0.1 else f"{60.0 * hours:.1f} min"


def _words(handling: str) -> str:
    # a value this module does not know is still named, never reworded into something else
    return HANDLING_WORDS.get(handling, f"handled as '{handling}'")


def _source_sentence(kind: str, f: Mapping[str, Any]) -> str:
    n = int(f["n_sessions"])
    by = dict(f.get("n_by_handling") or {MASKED: int(f.get("n_masked", 0)), MEASURED: n - int(f.get("n_masked", 0))})
    by = {h: k for h, k in by.items() if k}
    total = float(f["sessions_h"])
    masked, seen, other = float(f.get("masked_h", 0.0)), float(f["observable_h"]), float(f.get("unobservable_h", 0.0))
    what = f"{n} {kind} session{'' if n == 1 else 's'} ({_h(total)} h)"
    if len(by) == 1:
        (handling,) = by
        text = f"The {what} {'was' if n == 1 else 'were'} {_words(handling)}"
    else:
        parts = [f"{k} {'was' if k == 1 else 'were'} {_words(h)}" for h, k in by.items()]
        text = f"Of the {what}, " + ", ".join(parts)
    if masked > 0 and MASKED not in by:
        why = [MASK_SOURCE_WORDS.get(src, f"by '{src}'") for src in (f.get("masked_by_h") or {"detected": masked})]
        text += f", except for {_dur(masked)} of {'its' if n == 1 else 'their'} time masked " + " or ".join(why)
    text += f". Observable: {_h(seen)} of {_h(total)} h"
    if other >= 0.005:
        text += f"; {_h(other)} h had no usable signal (gaps, or too disturbed to measure)"
    return text + "."


def pad_handling_sentences(summary: Mapping[str, Any]) -> list[str]:
    """Per source with sessions: what was done with them and how much of them was observable.

    Empty when the summary has no pad sessions (or predates the recorded handling).
    """
    return [_source_sentence(kind, f) for kind, f in pad_handling_facts(summary).items()]


def pad_windows_note(summary: Mapping[str, Any]) -> str:
    """What the windows around the reference sessions can show, given what was observable."""
    kind = {"log": "logged", "detected": "detected"}.get(str(metric_value(summary, "context.pad.source")))
    facts = pad_handling_facts(summary).get(kind or "")
    text = "Rates are per observable hour in bed and not given under 10 min of observable time."
    if not facts:
        return text
    seen, total = float(facts["observable_h"]), float(facts["sessions_h"])
    share = seen / total if total > 0 else 0.0
    of = f" ({_h(seen)} of {_h(total)} h)"
    if share < 0.1:
        return text + (f" The sessions were not observable{of}, so the 30 min after a start, which a 35-min pad "
                       "cycle covers, show little; the 30 min after the end show the legs once the pad has stopped.")
    if share < 0.9:
        return text + (f" The sessions were partly observable{of}, so the 30 min after a start show the legs while "
                       "the pad runs only in part; the 30 min after the end show them once it has stopped.")
    return text + (f" The sessions were observable{of}, so the 30 min after the start show the legs while the "
                   "pad runs, and the 30 min after the end once it has stopped.")


def _pct(x: float) -> str:
    return f"{100.0 * x:.0f} %"


def pad_measurement_sentence(summary: Mapping[str, Any]) -> str | None:
    """How leg movements were measured through the pad's vibration, from ``pad_measurement``.

    Per source (the reference one: logged sessions when there is a log), the sessions in which a
    vibration line was found and removed, the share of session time that stayed measurable, the
    time masked for residual vibration and the range of detection limits. None without sessions.
    """
    rows = [r for r in (summary.get("pad_measurement") or []) if isinstance(r, Mapping)]
    if not rows:
        return None
    source = "log" if any(r.get("source") == "log" for r in rows) else "detected"
    rows = [r for r in rows if r.get("source") == source]
    kind = {"log": "logged", "detected": "detected"}[source]
    n = len(rows)
    total = sum(float(r.get("duration_s") or 0.0) for r in rows)
    seen = sum(float(r.get("duration_s") or 0.0) * float(r.get("measurable_fraction") or 0.0) for r in rows)
    masked = sum(float(r.get("masked_s") or 0.0) for r in rows)
    lined = [r for r in rows if r.get("line_freq_hz") is not None]
    what = f"{n} {kind} pad session{'' if n == 1 else 's'}"
    if lined:
        freqs = sorted(float(r["line_freq_hz"]) for r in lined)
        at = f"{freqs[0]:.1f} Hz" if freqs[-1] - freqs[0] < 0.05 else f"{freqs[0]:.1f}-{freqs[-1]:.1f} Hz"
        which = f"the {what}" if n == 1 else (f"each of the {what}" if len(lined) == n else f"{len(lined)} of the {what}")
        text = (f"Leg movements were measured through the vibration: in {which} its line "
                f"(at {at} as sampled, with its harmonics) was tracked and removed from the signal, and leg "
                "movements were detected on what remained")
        if len(lined) < n:
            other = "session" if n - len(lined) == 1 else f"{n - len(lined)}"
            text += f"; in the other {other} no vibration line was seen, so nothing was removed"
    else:
        text = (f"No vibration line was seen in the {what} (the sensor may not pick it up at this sampling "
                "rate), so nothing was removed and leg movements were detected as at any other time")
    text += f". Measurable: {_pct(seen / total) if total > 0 else 'n/a'} of the session time"
    if masked > 0:
        text += (f"; {_dur(masked / 3600.0)} of it was masked because the vibration left "
                 "after removal was still too strong, and no movement can be seen there")
    limits = [float(r["detection_limit_mg"]) for r in rows if r.get("detection_limit_mg") is not None]
    if limits:
        lo, hi = min(limits), max(limits)
        text += (". The detection limit under the pad (the smallest movement that could be detected) was "
                 + (f"{lo:.1f} mg" if hi - lo < 0.05 else f"{lo:.1f}-{hi:.1f} mg"))
    return text + "."


def _match(rows: list[Any], onset_s: float, duration_s: float) -> int | None:
    best, best_d = None, 1.0  # the same session, as both tables round it
    for j, e in enumerate(rows):
        if not isinstance(e, Mapping):
            continue
        d = abs(float(e.get("onset_s", 0.0)) - onset_s) + abs(float(e.get("duration_s", 0.0)) - duration_s)
        if d < best_d:
            best, best_d = j, d
    return best


def pad_session_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per ``pad_measurement`` session: the dotted key prefixes of its measurement and
    of its PLM rates (``context.pad.agreement.<kind>.<j>.rates.``, None when the summary has no
    rates for it), so a report shows both from ``summary.json``'s own numbers."""
    agreement = metric_value(summary, "context.pad.agreement") or {}
    out = []
    for i, r in enumerate(summary.get("pad_measurement") or []):
        if not isinstance(r, Mapping):
            continue
        kind = {"log": "logged", "detected": "detected"}.get(str(r.get("source")), "")
        j = _match(agreement.get(kind) or [], float(r.get("onset_s") or 0.0), float(r.get("duration_s") or 0.0))
        rates = None
        if j is not None and isinstance(agreement[kind][j].get("rates"), Mapping):
            rates = f"context.pad.agreement.{kind}.{j}.rates."
        out.append({"m": f"pad_measurement.{i}.", "rates": rates})
    return out


def multinight_pad_sentence(summaries: list[Mapping[str, Any]]) -> str:
    """What was done with pad vibration over several nights, from each night's recorded facts
    (``quality.vibration_removed_h``, ``quality.masked_pad_h``, ``pad_measurement``)."""
    padded = [s for s in summaries if s.get("pad_measurement") or float(metric_value(s, "quality.masked_pad_h") or 0)]
    if not padded:
        return "No night had pad vibration in the signal, so none was removed or masked."
    removed = sum(float(metric_value(s, "quality.vibration_removed_h") or 0.0) for s in padded)
    masked = sum(float(metric_value(s, "quality.masked_pad_h") or 0.0) for s in padded)
    n = len(padded)
    nights = f"{n} night{'' if n == 1 else 's'} with pad sessions"
    if removed > 0:
        text = (f"In the {nights}, the pad's vibration line was removed from the signal for {removed:.2f} h and "
                "leg movements were detected through it")
    else:
        text = f"In the {nights}, no vibration line was removed from the signal"
    if masked > 0:
        text += (f"; {masked:.2f} h, where the vibration was too strong to measure through, were masked from "
                 "leg-movement detection, so no movement can show there")
    else:
        text += "; no time was masked"
    return text + ". Indices are per hour of sleep that could be observed, so masked time does not lower them."
