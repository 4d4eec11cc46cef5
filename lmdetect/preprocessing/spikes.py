"""Removal of single-sample spikes (a bit error, an electrical glitch, a bumped sensor).

A spike is one sample that jumps away from both neighbours, in the same direction, while the
neighbours agree with each other: no movement of the leg does that, because the limb's
acceleration is smooth on the scale of one sample at any rate a sleep sensor uses (>= 25 Hz; leg
movements sit below ~10 Hz). Left in, a low-pass filter turns one such sample into a short bump of
tens of mg, long enough to pass for a leg movement. Each spike is replaced by the mean of its
neighbours.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["remove_spikes"]


def remove_spikes(
    accel_g: NDArray[np.floating],
    *,
    min_jump_g: float = 0.02,
    noise_factor: float = 10.0,
    agreement: float = 0.25,
    block: int = 64,
) -> tuple[NDArray[np.float32], int]:
    """Replace single-sample spikes by the mean of their neighbours.

    Parameters
    ----------
    accel_g
        Acceleration (n, 3) in g on a uniform grid.
    min_jump_g
        A spike jumps at least this far from both neighbours (g).
    noise_factor
        ... and at least this many times the sample-to-sample variation around it (the robust SD
        of the first difference of each axis, 1.4826 x its median absolute value, over the
        ``block`` samples it falls in).
    agreement
        ... while the neighbours differ from each other, and from their own outer neighbours, by
        at most this fraction of the jump (so a vibration near fs/2, whose samples alternate, is
        no spike).
    block
        Block length (samples) over which the sample-to-sample variation is measured.

    Returns
    -------
    cleaned : ndarray (n, 3) float32
        ``accel_g`` itself when no spike was found, else a copy with spikes replaced.
    n_spikes : int
        Number of samples replaced (over all axes).
    """
    x = np.asarray(accel_g, dtype=np.float32)
    if x.shape[0] < 5:
        return x, 0
    d = np.diff(x, axis=0)
    # the sample-to-sample noise around each sample (blocks of ``block`` samples): a spike stands
    # out from its own surroundings, while every peak of a vibration does not
    nb = d.shape[0] // block
    if nb == 0:
        sd_b = np.median(np.abs(d), axis=0, keepdims=True)
        nb, block_eff = 1, d.shape[0]
    else:
        sd_b = np.median(np.abs(d[: nb * block].reshape(nb, block, 3)), axis=1)
        block_eff = block
    sd = 1.4826 * np.repeat(sd_b, block_eff, axis=0)
    sd = np.concatenate((sd, np.repeat(sd[-1:], d.shape[0] - sd.shape[0], axis=0)))  # (n-1, 3)
    thr = np.maximum(min_jump_g, noise_factor * sd).astype(np.float32)[1:-2]
    # candidate i = 2 .. n-3: x[i] - x[i-1] = d[i-1], x[i] - x[i+1] = -d[i]
    up, down = d[1:-2], -d[2:-1]
    jump = np.minimum(np.abs(up), np.abs(down))
    lim = agreement * jump
    spike = (
        (np.sign(up) == np.sign(down))
        & (jump > thr)
        & (np.abs(x[3:-1] - x[1:-3]) <= lim)  # the neighbours agree with each other
        & (np.abs(d[:-3]) <= lim)  # ... and are quiet themselves: a line near fs/2 alternates
        & (np.abs(d[3:]) <= lim)
    )
    n = int(spike.sum())
    if n == 0:
        return x, 0
    out = x.copy()
    mid = out[2:-2]
    mid[spike] = (0.5 * (x[3:-1] + x[1:-3]))[spike]
    return out, n
