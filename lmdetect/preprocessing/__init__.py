"""Preprocessing: clock fit, uniform grid with gaps masked, filters, vibration-line removal, non-wear flags."""

from .clock import ClockFit, fit_clock
from .filters import design_bandpass, design_highpass, design_lowpass, moving_average, zero_phase
from .grid import RegularSignal, to_regular_grid
from .lines import LineRemovalParams, LineTrack, remove_lines
from .nonwear import NonwearParams, detect_nonwear
from .spikes import remove_spikes

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
