"""Sentences about the diary's sleep onset and final awakening, as the night summary recorded
what became of them (``sleep_diary_check``; :func:`lmdetect.sleepwake.reconcile_sleep_diary`).

The diary guides the sleep period and the ankle actigraphy may overrule one of its rows when
periodic leg movements scored as sleep lie beyond it (the way GGIR lets the accelerometer refine a
sleep log; van Hees et al., Sci Rep 2018). A report flags every overruled row: the researcher
should know that the night's sleep period is not the one the sleeper wrote down.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ..summary.night import metric_value

__all__ = ["DIARY_ITEMS", "diary_flag_sentences", "diary_overruled_rows"]

#: The diary rows checked, in the summary's order, with how each reads in a sentence.
DIARY_ITEMS: dict[str, dict[str, str]] = {
    "sleep_onset": {"row": "diary sleep onset", "side": "before", "bound": "sleep period starts"},
    "final_awakening": {"row": "diary final awakening", "side": "after", "bound": "sleep period ends"},
}


def diary_overruled_rows(summary: Mapping[str, Any]) -> list[dict[str, str]]:
    """The overruled diary rows: ``item``, the dotted key ``prefix`` of its check in the summary
    and the words of :data:`DIARY_ITEMS` (``row``, ``side``, ``bound``). Empty when every row was
    kept or none was logged."""
    checks = metric_value(summary, "sleep_diary_check") or {}
    out = []
    for item, words in DIARY_ITEMS.items():
        c = checks.get(item) if isinstance(checks, Mapping) else None
        if isinstance(c, Mapping) and c.get("status") not in (None, "diary"):
            out.append({"item": item, "prefix": f"sleep_diary_check.{item}.", **words})
    return out


def _clock(start: dt.datetime, t_s: Any) -> str:
    return "n/a" if t_s is None else (start + dt.timedelta(seconds=float(t_s))).strftime("%H:%M")


def diary_flag_sentences(summary: Mapping[str, Any], start: dt.datetime) -> list[str]:
    """One sentence per overruled row, e.g. "Diary sleep onset 02:45 overruled: 123 periodic
    movements in sleep before it; sleep period starts 23:51." (clock times from ``start``, the
    recording start, as the report shows all times)."""
    out = []
    for r in diary_overruled_rows(summary):
        c = metric_value(summary, r["prefix"].rstrip("."))
        out.append(
            f"{r['row'].capitalize()} {_clock(start, c.get('diary_s'))} overruled: {c.get('periodic_lms')} "
            f"periodic movements in sleep {r['side']} it; {r['bound']} {_clock(start, c.get('used_s'))}."
        )
    return out
