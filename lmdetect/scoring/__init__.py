"""Scoring of candidate and periodic leg movements with a named rule set.

``score_lms`` turns monolateral leg movements into scored movements (bilateral merge, candidate
LMs, PLM series, respiratory association, stage at onset); ``night_indices`` computes the
per-night indices; ``imi_histograms`` the inter-movement-interval histograms. The rule sets are
frozen dataclasses: :class:`WASM2016` (the default) and :class:`AASM`. docs/scoring.md describes
the rules as implemented.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .aasm import AASM
    from .imi import imi_histograms, periodicity_index
    from .indices import INDEX_KEYS, SleepInfo, night_indices
    from .rules import RuleSet, get_rule_set, rule_set_names
    from .score import EXTRA_COLUMNS, SCORED_COLUMNS, score_lms
    from .wasm2016 import WASM2016

# loaded on first use: the rule sets need no numerical library, so a Config (which checks its rule
# set's name) is built without importing numpy and pandas for the scoring code
_LAZY = {
    "AASM": ".aasm",
    "imi_histograms": ".imi",
    "periodicity_index": ".imi",
    "INDEX_KEYS": ".indices",
    "SleepInfo": ".indices",
    "night_indices": ".indices",
    "RuleSet": ".rules",
    "get_rule_set": ".rules",
    "rule_set_names": ".rules",
    "EXTRA_COLUMNS": ".score",
    "SCORED_COLUMNS": ".score",
    "score_lms": ".score",
    "WASM2016": ".wasm2016",
}

__all__ = [
    "WASM2016",
    "AASM",
    "RuleSet",
    "get_rule_set",
    "rule_set_names",
    "score_lms",
    "night_indices",
    "imi_histograms",
    "periodicity_index",
    "SleepInfo",
    "INDEX_KEYS",
    "SCORED_COLUMNS",
    "EXTRA_COLUMNS",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
