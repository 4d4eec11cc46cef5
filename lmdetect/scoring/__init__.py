"""Scoring of candidate and periodic leg movements with a named rule set.

``score_lms`` turns monolateral leg movements into scored movements (bilateral merge, candidate
LMs, PLM series, respiratory association, stage at onset); ``night_indices`` computes the
per-night indices; ``imi_histograms`` the inter-movement-interval histograms. The rule sets are
frozen dataclasses: :class:`WASM2016` (the default) and :class:`AASM`. docs/scoring.md describes
the rules as implemented.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

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


__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__)
