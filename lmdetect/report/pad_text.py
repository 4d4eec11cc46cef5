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

__all__ = ["HANDLING_WORDS", "pad_handling_facts", "pad_handling_sentences", "pad_windows_note"]

#: How each recorded ``handling`` value reads in a sentence ("the session was ...").
HANDLING_WORDS: dict[str, str] = {
    MASKED: "masked from leg-movement detection",
    MEASURED: "not masked: leg movements were detected as at any other time",
}


def pad_handling_facts(summary: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``context.pad.handling`` of a summary, per source that has sessions (empty when absent)."""
    facts = metric_value(summary, "context.pad.handling") or {}
    return {k: v for k, v in facts.items() if isinstance(v, Mapping) and v.get("n_sessions")}


def _h(x: Any) -> str:
    return f"{float(x or 0.0):.2f}"


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
        text += (f", except for {_h(masked)} h of {'its' if n == 1 else 'their'} time masked as vibration "
                 "detected in the signal")
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
