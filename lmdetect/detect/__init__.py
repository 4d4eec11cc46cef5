"""Leg-movement detection from ankle acceleration, and vibration-pad detection.

Names are loaded on first use: the parameter classes (:mod:`.params`) need no numerical library,
so the processing configuration imports them without pulling in scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .lm import MovementTrace, detect_lms, mask_intervals, movement_magnitude
    from .params import DetectParams, VibrationParams
    from .vibration import detect_vibration

_LAZY = {
    "DetectParams": ".params",
    "VibrationParams": ".params",
    "MovementTrace": ".lm",
    "detect_lms": ".lm",
    "movement_magnitude": ".lm",
    "mask_intervals": ".lm",
    "detect_vibration": ".vibration",
}

__all__ = [
    "DetectParams",
    "MovementTrace",
    "detect_lms",
    "movement_magnitude",
    "mask_intervals",
    "VibrationParams",
    "detect_vibration",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
