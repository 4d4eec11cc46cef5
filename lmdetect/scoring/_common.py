"""Small shared pieces of the scoring package: numeric tolerance, kinds and stages."""

from __future__ import annotations

__all__ = ["EPS_S", "NON_CLM_KINDS", "KIND_PRIORITY", "SLEEP_STAGES", "WAKE_STAGE"]

#: Tolerance for comparing times with rule limits, in seconds: 1 ns. Differences of binary floats
#: miss a limit by the rounding error of the times (16.4 - 6.4 = 9.999999999999998; about 1e-11 s
#: for times of a day), so a value within 1 ns of a limit counts as *at* the limit. It must stay
#: far below the finest resolution of the files read (RemLogic exports: 1 us), so that an IMI of
#: 9.999999 s is shorter than 10 s.
EPS_S = 1e-9

#: Movement kinds that are never candidate LMs and so break PLM series ("long": longer than the
#: CLM limit; "posture": posture change; "gross": whole-body movement). See lmdetect.model.LM_KINDS.
NON_CLM_KINDS: frozenset[str] = frozenset({"long", "posture", "gross"})

#: When movements merge, the merged movement takes the member kind ranked highest here.
KIND_PRIORITY: dict[str, int] = {"voluntary": 0, "lm": 1, "long": 2, "posture": 3, "gross": 4}

#: Hypnogram stages that count as sleep (``S`` = sleep of unknown depth, e.g. actigraphy).
SLEEP_STAGES: frozenset[str] = frozenset({"N1", "N2", "N3", "R", "S"})

#: The wake stage.
WAKE_STAGE = "W"
