"""Reference firmware of the open ankle-sensor profile and a model of a sleeping leg.

The night simulator (docs/simulator.md)::

    from firmware_sim import simulate_night, write_night
    night = simulate_night("rls", hours=8, rate_hz=50, seed=1)

Names are imported lazily, so ``import firmware_sim.device`` does not load the simulator.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["simulate_night", "write_night", "SimulatedNight", "PROFILES", "Profile", "get_profile"]

_LAZY = {
    "simulate_night": "firmware_sim.night",
    "write_night": "firmware_sim.night",
    "SimulatedNight": "firmware_sim.night",
    "PROFILES": "firmware_sim.profiles",
    "Profile": "firmware_sim.profiles",
    "get_profile": "firmware_sim.profiles",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'firmware_sim' has no attribute {name!r}")
