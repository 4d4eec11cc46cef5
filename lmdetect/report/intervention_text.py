"""The night report's words for the windows around timed interventions, from what the summary recorded.

``summary["context"]["interventions"]`` (:func:`lmdetect.summary.interventions.interventions_context`)
holds, per intervention name, whether it was a period (a foot wrap worn from 22:30 to 06:10), a time
(a dose at 21:00) or both, the window length and the PLM/CLM rate blocks before, during and after.
The rows and labels here follow that record, so the table says what each window was for this
night: a dose's ``during`` runs from its time to the end of time in bed, a period's only while it
lasts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..summary.night import metric_value

__all__ = ["WINDOW_PARTS", "intervention_window_rows", "intervention_windows_note"]

#: The rate blocks of each timed intervention, in table order.
WINDOW_PARTS = ("before", "during", "after")

_KIND_WORDS = {"period": "a period", "time": "a time (a dose)", "mixed": "periods and times"}


def _minutes(window_s: Any) -> str:
    try:
        return f"{float(window_s) / 60.0:g} min"
    except (TypeError, ValueError):
        return "the window"


def _labels(kind: str, window: str) -> dict[str, str]:
    during = {
        "period": "During",
        "time": "From the time to the end of time in bed",
        "mixed": "During a period; from a time to the end of time in bed",
    }.get(kind, "During")
    after = {"period": f"{window} after the end", "time": f"{window} after the time"}.get(
        kind, f"{window} after the end (a time: after the time)")
    return {"before": f"{window} before the start", "during": during, "after": after}


def intervention_window_rows(summary: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Per timed intervention (by name, as recorded): its window rows and a short description.

    Each value has ``windows`` (``(part, label)`` for :data:`WINDOW_PARTS`), ``n`` (occurrences)
    and ``summary`` ("a period, 1 occurrence"). Empty when the night has no timed intervention.
    """
    ctx = metric_value(summary, "context.interventions") or {}
    out = []
    for name in sorted(ctx):
        c = ctx[name] if isinstance(ctx[name], Mapping) else {}
        kind = str(c.get("kind", ""))
        n = int(c.get("n") or 0)
        labels = _labels(kind, _minutes(c.get("window_s")))
        out.append((str(name), {
            "windows": [(part, labels[part]) for part in WINDOW_PARTS],
            "n": n,
            "summary": f"{_KIND_WORDS.get(kind, kind)}, {n} occurrence{'s' if n != 1 else ''}",
        }))
    return out


def intervention_windows_note(summary: Mapping[str, Any]) -> str:
    """What the windows are and what one night's rates can and cannot say."""
    if not metric_value(summary, "context.interventions"):
        return ""
    return (
        "Rates are per observable hour in bed (gaps and masked pad time left out) and not given under 10 min of "
        "observable time, so a dose taken before lights off has no rate before it, and a wrap worn all night none "
        "before or after. Several occurrences of one intervention are pooled. The pad's row uses the same "
        "sessions as the pad section above. One night's rates describe that night; whether an intervention "
        "lowers PLMs is a comparison of nights with and without it (lmdetect summarize --compare NAME)."
    )
