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
        ... and at least this many times the sample-to-sample variation around it (the SD of
        the first difference of each axis over the ``block`` samples it falls in, from its mean
        absolute value; a spike inflates that by at most 2 jumps / ``block``).
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
    ad = np.diff(x, axis=0)  # x[i+1] - x[i]
    np.abs(ad, out=ad)
    # candidates: both steps around sample k = i + 1 exceed the absolute minimum (cheap, and rare
    # outside a vibration); everything else is judged at the candidates only
    big = ad > min_jump_g
    ci, ca = np.nonzero(big[:-1] & big[1:])
    k = ci + 1
    ok = (k >= 2) & (k <= x.shape[0] - 3)
    k, ca = k[ok], ca[ok]
    if k.size == 0:
        return x, 0
    # the sample-to-sample variation around each candidate (its block of ``block`` steps, SD
    # from the mean absolute step, x 1.2533 for Gaussian noise): a spike stands out from its own
    # surroundings, while every peak of a vibration does not
    b0 = np.minimum((k // block) * block, max(0, ad.shape[0] - block))
    rows = b0[:, None] + np.arange(min(block, ad.shape[0]))[None, :]
    sd = 1.2533 * ad[rows, ca[:, None]].mean(axis=1)
    up = x[k, ca] - x[k - 1, ca]
    down = x[k, ca] - x[k + 1, ca]
    jump = np.minimum(np.abs(up), np.abs(down))
    lim = agreement * jump
    spike = (
        (np.sign(up) == np.sign(down))
        & (jump > np.maximum(min_jump_g, noise_factor * sd))
        & (np.abs(x[k + 1, ca] - x[k - 1, ca]) <= lim)  # the neighbours agree with each other
        & (ad[k - 2, ca] <= lim)  # ... and are quiet themselves: a line near fs/2 alternates
        & (ad[k + 1, ca] <= lim)
    )
    n = int(spike.sum())
    if n == 0:
        return x, 0
    del ad, big  # before the copy: the night's differences and the copy need not coexist
    out = x.copy()
    ks, cs = k[spike], ca[spike]
    out[ks, cs] = 0.5 * (x[ks - 1, cs] + x[ks + 1, cs])
    return out, n
