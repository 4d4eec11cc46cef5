"""Parameters of the preprocessing stages (frozen, validated, with units).

They live apart from the stages' code, so the processing configuration (:mod:`lmdetect.config`)
can be built, hashed and read from TOML without importing numpy, pandas or scipy.
"""

from __future__ import annotations

import dataclasses

from .._params import Params, check_positive, check_range

__all__ = ["LineRemovalParams", "NonwearParams"]


@dataclasses.dataclass(frozen=True)
class LineRemovalParams(Params):
    """Settings of the vibration-line remover.

    Attributes
    ----------
    frame_s
        Frame length (s); frames overlap by half. Short enough that a ramp-down's sweep is
        close to linear within a frame.
    zero_pad
        Zero-padding factor of the frame spectra (finer peak picking).
    search_hz
        The line is searched within this distance of the previous frame's line.
    line_ratio
        A peak is a line when its power is at least this times the median power within
        ``context_hz`` around it (a broadband movement spreads its power).
    context_hz
        Half-width of the neighbourhood for ``line_ratio``.
    n_harmonics
        Lines at 1..n times the motor frequency (folded into [0, fs/2]) are removed.
    min_fit_hz
        Lines below this frequency are not fitted (under ~1 cycle per frame they cannot be told
        from a slow movement); where such a line is present it is counted in full as residual.
    extend_s
        Tracking continues this long after a session's end (the ramp-down and stall).
    margin_s
        Tracking starts this long before a session's onset.
    lost_s
        Tracking ends early after this long without a line once past the session's end.
    residual_window_s
        The residual is the running median over this long (a brief movement at the line's
        frequency is not residual vibration).
    spin_s
        Frames this long before a tracked run of the line starts and after it ends are
        unmeasurable (the motor spins up or down through every lower speed).
    coast_s
        Where a frame shows no narrow line (a movement swamps it) the line is still removed at
        the last tracked frequency for up to this long.
    """

    frame_s: float = 1.0
    zero_pad: int = 4
    search_hz: float = 1.5
    line_ratio: float = 20.0
    context_hz: float = 6.0
    n_harmonics: int = 3
    min_fit_hz: float = 1.0
    extend_s: float = 420.0
    margin_s: float = 30.0
    lost_s: float = 20.0
    residual_window_s: float = 5.0
    coast_s: float = 3.0
    spin_s: float = 2.0

    def __post_init__(self) -> None:
        for name in ("frame_s", "search_hz", "line_ratio", "context_hz", "min_fit_hz", "residual_window_s"):
            check_positive(name, getattr(self, name))
        check_range("zero_pad", self.zero_pad, 1, 64)
        check_range("n_harmonics", self.n_harmonics, 1, 10)
        check_range("extend_s", self.extend_s, 0, 3600)
        check_range("margin_s", self.margin_s, 0, 3600)
        check_range("lost_s", self.lost_s, 0, 3600)


@dataclasses.dataclass(frozen=True)
class NonwearParams(Params):
    """Non-wear flag settings.

    Attributes
    ----------
    block_s
        Block over which the per-axis standard deviation is computed.
    still_std_mg
        A block is still when every axis' standard deviation is below this (mg).
    min_duration_min
        Minimum length of a still run to flag it as non-wear.
    """

    block_s: float = 60.0
    still_std_mg: float = 5.0
    min_duration_min: float = 120.0

    def __post_init__(self) -> None:
        for name in ("block_s", "still_std_mg", "min_duration_min"):
            check_positive(name, getattr(self, name))
