"""Leg-movement detection from ankle acceleration, and vibration-pad detection."""

from .lm import MovementTrace, detect_lms, mask_intervals, movement_magnitude
from .params import DetectParams
from .vibration import VibrationParams, detect_vibration

__all__ = [
    "DetectParams",
    "MovementTrace",
    "detect_lms",
    "movement_magnitude",
    "mask_intervals",
    "VibrationParams",
    "detect_vibration",
]
