"""Acceleration units found in EDF headers and BIDS channel tables, and their factor to g."""

from __future__ import annotations

__all__ = ["STANDARD_GRAVITY_MS2", "to_g_factor"]

#: Standard acceleration of gravity in m/s^2 (3rd General Conference on Weights and Measures, 1901).
STANDARD_GRAVITY_MS2 = 9.80665

_FACTORS = {
    "g": 1.0,
    "mg": 1e-3,
    "m/s^2": 1.0 / STANDARD_GRAVITY_MS2,
    "m/s2": 1.0 / STANDARD_GRAVITY_MS2,
    "m/s²": 1.0 / STANDARD_GRAVITY_MS2,
    "ms^-2": 1.0 / STANDARD_GRAVITY_MS2,
    "ms-2": 1.0 / STANDARD_GRAVITY_MS2,
    "m.s-2": 1.0 / STANDARD_GRAVITY_MS2,
    "m s-2": 1.0 / STANDARD_GRAVITY_MS2,
    "m*s^-2": 1.0 / STANDARD_GRAVITY_MS2,
}


def to_g_factor(unit: str) -> float | None:
    """Multiplier from ``unit`` to g, or None when ``unit`` is not an acceleration unit."""
    return _FACTORS.get(unit.strip().lower())
