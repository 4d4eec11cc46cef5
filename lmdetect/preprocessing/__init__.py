"""Preprocessing: clock fit, uniform grid with gaps masked, filters, vibration-line removal, non-wear flags.

Names are loaded on first use: the parameter classes (:mod:`.params`) need no numerical library,
so the processing configuration imports them without pulling in scipy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .clock import ClockFit, fit_clock
    from .filters import design_bandpass, design_highpass, design_lowpass, moving_average, zero_phase
    from .grid import RegularSignal, to_regular_grid
    from .lines import LineTrack, remove_lines
    from .nonwear import detect_nonwear
    from .params import LineRemovalParams, NonwearParams
    from .spikes import remove_spikes

_LAZY = {
    "ClockFit": ".clock",
    "fit_clock": ".clock",
    "RegularSignal": ".grid",
    "to_regular_grid": ".grid",
    "design_bandpass": ".filters",
    "design_highpass": ".filters",
    "design_lowpass": ".filters",
    "zero_phase": ".filters",
    "moving_average": ".filters",
    "LineRemovalParams": ".params",
    "LineTrack": ".lines",
    "remove_lines": ".lines",
    "remove_spikes": ".spikes",
    "NonwearParams": ".params",
    "detect_nonwear": ".nonwear",
}

__all__ = [
    "ClockFit",
    "fit_clock",
    "RegularSignal",
    "to_regular_grid",
    "design_bandpass",
    "design_highpass",
    "design_lowpass",
    "zero_phase",
    "moving_average",
    "LineRemovalParams",
    "LineTrack",
    "remove_lines",
    "remove_spikes",
    "NonwearParams",
    "detect_nonwear",
]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__)
