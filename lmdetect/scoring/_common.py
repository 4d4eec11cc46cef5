"""Small shared pieces of the scoring package: numeric tolerance, kinds and stages."""

from __future__ import annotations

__all__ = ["EPS_S", "NON_CLM_KINDS", "KIND_PRIORITY", "SLEEP_STAGES", "WAKE_STAGE"]

#: Tolerance for comparing times with rule limits, in seconds. Scored-event files carry at best
#: millisecond resolution, while differences of binary floats can miss a limit by ~1e-15 s
#: (13.3 - 3.3 != 10.0); a value within 1 us of a limit counts as *at* the limit.
EPS_S = 1e-6

#: Movement kinds that are never candidate LMs and so break PLM series ("long": longer than the
#: CLM limit; "posture": posture change; "gross": whole-body movement). See lmdetect.model.LM_KINDS.
NON_CLM_KINDS: frozenset[str] = frozenset({"long", "posture", "gross"})

#: When movements merge, the merged movement takes the member kind ranked highest here.
KIND_PRIORITY: dict[str, int] = {"voluntary": 0, "lm": 1, "long": 2, "posture": 3, "gross": 4}

#: Hypnogram stages that count as sleep (``S`` = sleep of unknown depth, e.g. actigraphy).
SLEEP_STAGES: frozenset[str] = frozenset({"N1", "N2", "N3", "R", "S"})

#: The wake stage.
WAKE_STAGE = "W"
