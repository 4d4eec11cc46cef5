"""Leg-movement detection from ankle acceleration, and vibration-pad detection.

Names are loaded on first use: the parameter classes (:mod:`.params`) need no numerical library,
so the processing configuration imports them without pulling in scipy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

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


__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__)
