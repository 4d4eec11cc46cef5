"""Leg-movement (LM) detection from ankle acceleration.

Pipeline (all vectorised, O(n)):

1. low-pass each axis (zero-phase) and subtract the resting orientation (a running median of
   the block means of blocks at rest over ~30 s, which a 0.5-10 s movement cannot drag along);
   the magnitude of what is
   left, in mg, is the movement signal: the gravity-projection change while the shank is rotated
   (a held dorsiflexion included) plus the linear acceleration. A band-pass would smear the
   sharp edges of a rotation in time (a zero-phase high-pass responds *before* a step), which
   shifts onsets by a second or more for large movements;
2. smooth it with a short moving average (the detection envelope);
3. estimate an adaptive noise floor: the mean envelope per block, then a low percentile over a
   sliding window of blocks (robust to the movements themselves);
4. hysteresis thresholds: an LM starts where the envelope rises above the offset threshold on its
   way to the onset threshold, and ends at the start of the first stretch of >= 0.5 s below the
   offset threshold (the WASM 2016 offset rule, Ferri et al., Sleep Med 2016);
5. keep LMs >= 0.5 s that pass the morphology check (a 0.5 s window with its median above the
   offset threshold; WASM 2016 computer-detection criterion);
6. classify: a lasting change of the gravity direction means a posture change; a very large peak a
   gross movement; both are non-CLM and break PLM series.

Gaps (invalid grid samples, plus ``gap_guard_s`` around them) and masked periods (vibration pad)
never produce events; a movement seen on both sides of a short gap (a lost packet) is carried
across it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import signal

from ..model import empty_lm_table
from ..preprocessing.filters import design_lowpass, moving_average, zero_phase
from ..preprocessing.grid import RegularSignal
from .params import DetectParams

__all__ = ["MovementTrace", "movement_magnitude", "detect_lms", "mask_intervals"]


@dataclasses.dataclass(frozen=True, eq=False)
class MovementTrace:
    """Per-block summaries of the movement signal (for sleep/wake, plots and QC).

    Attributes
    ----------
    block_s : float
        Block length in seconds (``DetectParams.floor_block_s``).
    t0_s : float
        Time of the first block's start (s since recording start).
    envelope_mg : ndarray (k,)
        Mean detection envelope per block (mg); NaN where the block has no valid sample.
    floor_mg, on_mg, off_mg : ndarray (k,)
        Noise floor and onset/offset thresholds per block (mg).
    active_frac : ndarray (k,)
        Fraction of each block's samples above the offset threshold.
    valid_frac : ndarray (k,)
        Fraction of each block covered by recorded samples.
    unseen_onsets : int
        Movements left out because they were already under way where usable signal resumed
        (after a gap or a masked stretch): their onset was not observed.
    """

    block_s: float
    t0_s: float
    envelope_mg: NDArray[np.float32]
    floor_mg: NDArray[np.float32]
    on_mg: NDArray[np.float32]
    off_mg: NDArray[np.float32]
    active_frac: NDArray[np.float32]
    valid_frac: NDArray[np.float32]
    unseen_onsets: int = 0

    @property
    def times_s(self) -> NDArray[np.float64]:
        return self.t0_s + self.block_s * np.arange(self.envelope_mg.size, dtype=np.float64)


def movement_magnitude(reg: RegularSignal, params: DetectParams) -> NDArray[np.float32]:
    """Magnitude of the deviation from the resting orientation, in mg, on the grid."""
    n = reg.n
    if n < 8:
        return np.zeros(n, np.float32)
    cutoff = min(params.lowpass_hz, 0.45 * reg.fs)
    a = zero_phase(design_lowpass(reg.fs, cutoff, params.filter_order), reg.accel_g)
    blk = max(1, round(params.baseline_block_s * reg.fs))
    k = n // blk
    if k < 3:
        base_b = np.median(a, axis=0, keepdims=True)
    else:
        bm = a[: k * blk].reshape(k, blk, 3).mean(axis=1)
        size = max(3, round(params.baseline_window_s / params.baseline_block_s) | 1)
        base_b = _resting_orientation(bm, size, params.baseline_quiet_factor)
    # subtract block by block through a reshaped view (no per-sample index array), in place: the
    # low-passed night is this function's own, and a second whole-night array is not needed
    m = k * blk
    if k >= 3:
        blocks = a[:m].reshape(k, blk, 3)
        np.subtract(blocks, base_b[:, None, :], out=blocks)
        np.subtract(a[m:], base_b[-1], out=a[m:])
    else:
        np.subtract(a, base_b[0], out=a)
    mag = np.einsum("ij,ij->i", a, a)
    np.sqrt(mag, out=mag)
    mag *= np.float32(1000.0)
    return mag.astype(np.float32, copy=False)


def _centred_median(bm: NDArray, size: int) -> NDArray[np.float32]:
    """Centred running median of ``size`` blocks per axis, the edges padded with edge values
    (medfilt pads with zeros; it is an order of magnitude faster than ndimage.median_filter)."""
    k, half = bm.shape[0], size // 2
    padded = np.pad(bm, ((half, half), (0, 0)), mode="edge")
    return np.stack([signal.medfilt(padded[:, j], size)[half : half + k] for j in range(3)], axis=1).astype(
        np.float32
    )


def _resting_orientation(bm: NDArray, size: int, quiet_factor: float) -> NDArray[np.float32]:
    """The resting orientation per block, from the block means ``bm`` (k, 3).

    A centred running median of all blocks (``size`` blocks) goes wrong near a posture change:
    each axis is medianed on its own, so when movements fill part of the window the median can
    land on a movement's values, and once the new posture fills enough of it the baseline jumps
    before the leg turns (the change is then detected seconds early). So:

    * blocks whose mean moved more than ``quiet_factor`` x the night's typical block-to-block
      change are left out (they are movement, not rest);
    * the median of the resting blocks is taken over the ``size`` blocks *before* and, apart,
      the ``size`` blocks *after* each block, and the block gets whichever is closer to its own
      mean: the orientation it rests in, on its side of any posture change.

    Where a window holds no resting block the centred median of all blocks is used.
    """
    if quiet_factor <= 0:
        return _centred_median(bm, size)
    step = np.sqrt((np.diff(bm, axis=0) ** 2).sum(axis=1))
    change = np.maximum(np.r_[step[:1], step], np.r_[step, step[-1:]])  # to either neighbour
    moving = change > quiet_factor * float(np.median(change))
    if not moving.any():
        return _centred_median(bm, size)
    rest = pd.DataFrame(np.where(moving[:, None], np.nan, bm))
    before = rest.rolling(size, min_periods=1).median().to_numpy()
    after = rest.iloc[::-1].rolling(size, min_periods=1).median().to_numpy()[::-1]
    if np.isnan(before).any() or np.isnan(after).any():  # windows without a resting block
        full = _centred_median(bm, size)
        before = np.where(np.isnan(before), full, before)
        after = np.where(np.isnan(after), full, after)
    d_before = ((bm - before) ** 2).sum(axis=1)
    d_after = ((bm - after) ** 2).sum(axis=1)
    return np.where((d_before <= d_after)[:, None], before, after).astype(np.float32)


def mask_intervals(n: int, fs: float, t0_s: float, intervals: pd.DataFrame | None) -> NDArray[np.bool_]:
    """Boolean grid mask, True inside any (onset_s, duration_s) interval."""
    mask = np.zeros(n, dtype=bool)
    if intervals is None or len(intervals) == 0:
        return mask
    lo = np.clip(np.floor((intervals["onset_s"].to_numpy(float) - t0_s) * fs).astype(np.int64), 0, n)
    hi = np.clip(
        np.ceil((intervals["onset_s"].to_numpy(float) + intervals["duration_s"].to_numpy(float) - t0_s) * fs).astype(
            np.int64
        ),
        0,
        n,
    )
    delta = np.zeros(n + 1, dtype=np.int64)
    np.add.at(delta, lo, 1)
    np.add.at(delta, hi, -1)
    return np.cumsum(delta[:-1]) > 0


def _erode(valid: NDArray[np.bool_], guard: int) -> NDArray[np.bool_]:
    """False inside gaps and within a guard around each gap.

    The guard is ``guard`` samples, or the gap's own length if shorter: a single lost packet
    (a fraction of a second) disturbs the filters far less than a link drop of minutes.
    """
    if guard <= 0 or valid.all():
        return valid
    n = valid.size
    starts, ends = _runs(~valid)
    g = np.minimum(guard, ends - starts)
    lo = np.clip(starts - g, 0, n)
    hi = np.clip(ends + g, 0, n)
    delta = np.zeros(n + 1, dtype=np.int64)
    np.add.at(delta, lo, 1)
    np.add.at(delta, hi, -1)
    return np.cumsum(delta[:-1]) == 0


def _bridge(above: NDArray[np.bool_], usable: NDArray[np.bool_], max_len: int) -> NDArray[np.bool_]:
    """Carry a movement across a short unusable stretch (a lost packet and its guard).

    A stretch of at most ``max_len`` samples counts as moving when the samples on both sides
    are above the offset threshold, so a movement that spans a lost packet stays one LM instead
    of two fragments (or none, when both are shorter than the minimum duration).
    """
    if usable.all():
        return above
    starts, ends = _runs(~usable)
    ok = (ends - starts <= max_len) & (starts > 0) & (ends < usable.size)
    starts, ends = starts[ok], ends[ok]
    both = above[starts - 1] & above[ends]
    if not both.any():
        return above
    out = above.copy()
    delta = np.zeros(above.size + 1, dtype=np.int64)
    np.add.at(delta, starts[both], 1)
    np.add.at(delta, ends[both], -1)
    out |= np.cumsum(delta[:-1]) > 0
    return out


def _runs(b: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Start (inclusive) and end (exclusive) indices of runs of True."""
    edge = np.zeros(1, np.int8)  # int8 throughout: a Python 0 would widen the night to int64
    d = np.diff(np.concatenate((edge, b.view(np.int8), edge)))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _rest_level(per_block: NDArray, win: int, percentile: float) -> NDArray[np.float64]:
    """A low percentile over a sliding window of blocks (robust to the movements themselves);
    blocks with no valid neighbourhood take the nearest estimate, 0 when there is none."""
    level = (
        pd.Series(per_block)
        .rolling(win, center=True, min_periods=1)
        .quantile(percentile / 100.0)
        .to_numpy(dtype=np.float64)
    )
    level = np.array(level, dtype=np.float64)  # a writable copy (pandas may hand out read-only views)
    if np.isnan(level).all():
        level[:] = 0.0
        return level
    return pd.Series(level).ffill().bfill().to_numpy()


def _block_max(x: NDArray[np.floating], w: NDArray[np.bool_], block: int) -> NDArray[np.float64]:
    """Maximum of the valid samples per block (NaN for a block without any), same blocks as
    :func:`_block_mean`."""
    k = x.size // block
    m = np.where(w[: k * block], x[: k * block], -np.inf).reshape(k, block).max(axis=1)
    if x.size > k * block:
        xt, wt = x[k * block :], w[k * block :]
        m = np.append(m, xt[wt].max() if wt.any() else -np.inf)
    return np.where(np.isfinite(m), m, np.nan)


def _block_mean(x: NDArray[np.floating], w: NDArray[np.bool_], block: int) -> tuple[NDArray, NDArray]:
    k = x.size // block
    xs = x[: k * block].reshape(k, block)
    ws = w[: k * block].reshape(k, block)
    cnt = ws.sum(axis=1)
    s = np.where(ws, xs, 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, s / np.maximum(cnt, 1), np.nan)
    if x.size > k * block:  # partial last block
        xt, wt = x[k * block :], w[k * block :]
        mean = np.append(mean, xt[wt].mean() if wt.any() else np.nan)
        cnt = np.append(cnt, wt.sum())
    return mean, cnt


def detect_lms(
    reg: RegularSignal,
    params: DetectParams = DetectParams(),
    *,
    side: str = "unknown",
    mask: NDArray[np.bool_] | None = None,
    magnitude_mg: NDArray[np.float32] | None = None,
) -> tuple[pd.DataFrame, MovementTrace]:
    """Detect leg movements.

    Parameters
    ----------
    reg
        Acceleration on a uniform grid (see :func:`lmdetect.preprocessing.to_regular_grid`).
    params
        Detector settings.
    side
        Written to the ``side`` column.
    mask
        Optional grid mask (True = do not detect here), e.g. vibration-pad sessions.
    magnitude_mg
        Precomputed :func:`movement_magnitude` (saves a filter pass).

    Returns
    -------
    events : DataFrame
        Columns of :data:`lmdetect.model.LM_COLUMNS`; ``kind`` is ``lm``, ``posture`` or ``gross``;
        ``amplitude_mg`` is the peak band-passed movement magnitude; scoring columns are left at
        their neutral values (``is_clm`` False, ``series_id`` -1, ``stage`` "").
    trace : MovementTrace
    """
    fs = reg.fs
    n = reg.n
    mag = movement_magnitude(reg, params) if magnitude_mg is None else magnitude_mg
    env = moving_average(mag, max(1, round(params.envelope_s * fs)))
    gap_ok = _erode(reg.valid, round(params.gap_guard_s * fs))
    usable = gap_ok & ~mask if mask is not None else gap_ok  # a new array: _erode may return reg.valid itself

    block = max(1, round(params.floor_block_s * fs))
    bmean, bcnt = _block_mean(env, usable, block)
    k = bmean.size
    win = max(1, round(params.floor_window_s / params.floor_block_s))
    floor = _rest_level(bmean, win, params.floor_percentile)
    on_b = np.maximum(params.on_min_mg, params.on_factor * floor)
    off_b = np.maximum(params.off_min_mg, params.off_factor * floor)
    if params.peak_floor_factor > 0:
        # the rest level's peaks: the same low percentile of the per-block envelope maxima. On
        # noise spread over three axes the envelope barely fluctuates and the mean-based floor
        # governs; noise that lives on one axis (a faulty axis) swings far above its mean, and
        # the thresholds must clear its peaks, not only its mean.
        peak = _rest_level(_block_max(env, usable, block), win, params.floor_percentile)
        off_b = np.maximum(off_b, params.peak_floor_factor * peak)
        on_b = np.maximum(on_b, params.peak_floor_factor * peak * params.on_factor / params.off_factor)
    reps = np.full(k, block)
    reps[-1] = n - block * (k - 1)
    off_s = np.repeat(off_b.astype(np.float32), reps)

    above_off = (env > off_s) & usable
    # the per-sample onset levels are temporaries: only the comparisons are kept
    above_on = (env > np.repeat(on_b.astype(np.float32), reps)) & usable
    if params.sustained_on_factor > 0:
        # a matched filter for the shortest LM: averaged over the minimum duration, the envelope
        # of noise fluctuates far less than over the envelope's 0.25 s, so a movement that stays
        # above this lower level for that long is as unlikely to be noise as one whose brief peak
        # clears the onset threshold; it admits faint but sustained movements (10-15 mg series
        # members on a 1-2 mg sensor) that never reach the onset threshold
        sus_b = np.maximum(params.on_min_mg, off_b * (params.sustained_on_factor / params.off_factor))
        above_on |= (
            moving_average(env, max(1, round(params.min_duration_s * fs))) > np.repeat(sus_b.astype(np.float32), reps)
        ) & usable
    if params.bridge_gap_s > 0:
        above_off = _bridge(above_off, usable, round(params.bridge_gap_s * fs))
    # share of each block above the offset threshold, from integer counts (exact; no float copy)
    active_b = np.add.reduceat(above_off, np.arange(0, n, block), dtype=np.int64) / reps
    valid_b = bcnt / reps
    trace = MovementTrace(
        block_s=block / fs,
        t0_s=reg.t0_s,
        envelope_mg=bmean.astype(np.float32),
        floor_mg=floor.astype(np.float32),
        on_mg=on_b.astype(np.float32),
        off_mg=off_b.astype(np.float32),
        active_frac=active_b.astype(np.float32),
        valid_frac=valid_b.astype(np.float32),
    )

    starts, ends = _runs(above_off)
    if starts.size == 0:
        return empty_lm_table(), trace
    # a dip below the offset threshold shorter than the quiet time does not end the LM
    quiet = round(params.offset_quiet_s * fs)
    merge = max(quiet, round(params.merge_gap_s * fs))
    join = (starts[1:] - ends[:-1]) < merge
    first = np.concatenate(([True], ~join))
    last = np.concatenate((~join, [True]))
    s, e = starts[first], ends[last]
    # must reach the onset threshold
    # (samples above it within each run, counted from the sorted indices of those samples: no
    # whole-night running count)
    on_idx = np.flatnonzero(above_on)
    del above_on
    keep = (np.searchsorted(on_idx, e) - np.searchsorted(on_idx, s)) > 0
    # minimum duration
    min_n = round(params.min_duration_s * fs)
    keep &= (e - s) >= min_n
    if params.drop_unseen_onsets:
        s, keep, unseen = _onsets_through_masks(
            s, keep, env, off_s, usable, gap_ok, round(max(params.onset_backtrack_s, params.min_duration_s) * fs)
        )
        trace = dataclasses.replace(trace, unseen_onsets=unseen)
    s, e = s[keep], e[keep]
    if s.size == 0:
        return empty_lm_table(), trace
    if params.duration_peak_fraction > 0:
        # ... counted above a fraction of the movement's own peak as well: the low-pass and the
        # envelope spread a brief, strong burst into a bump whose skirts, far below its peak but
        # above a threshold at the sensor's noise, are filter response, not movement
        long_enough = np.array(
            [
                np.count_nonzero(env[a:b] > max(float(off_s[a]), params.duration_peak_fraction * float(env[a:b].max())))
                >= min_n
                for a, b in zip(s, e, strict=True)
            ],
            dtype=bool,
        )
        s, e = s[long_enough], e[long_enough]
        if s.size == 0:
            return empty_lm_table(), trace
    # morphology: a window whose median is above the offset threshold
    w = max(1, round(params.morphology_window_s * fs))
    lo = s
    hi = np.maximum(e - w + 1, s + 1)
    hi = np.minimum(hi, max(0, n + 1 - w))  # windows of w samples that fit in the night start before this
    lo = np.minimum(lo, hi - 1)
    best = np.array([_best_window(above_off, a, b, w) if b > a else 0 for a, b in zip(lo, hi, strict=True)])
    keep = best * 2 >= w
    s, e = s[keep], e[keep]
    if s.size == 0:
        return empty_lm_table(), trace

    if params.onset_backtrack_s > 0:
        s = _refine_onsets(env, s, np.repeat(floor.astype(np.float32), reps), usable,
                           round(params.onset_backtrack_s * fs), params.onset_floor_factor)
    peak = np.array([mag[a:b].max() for a, b in zip(s, e, strict=True)], dtype=np.float64)
    angle = _gravity_change_deg(reg, s, e, round(params.gravity_window_s * fs))
    kind = np.where(angle > params.posture_angle_deg, "posture", np.where(peak > params.gross_amplitude_mg, "gross", "lm"))
    ev = pd.DataFrame(
        {
            "onset_s": reg.time_of(s),
            "duration_s": (e - s) / fs,
            "side": side,
            "kind": kind,
            "amplitude_mg": peak,
            "is_clm": False,
            "in_plm_series": False,
            "series_id": np.int64(-1),
            "stage": "",
        }
    )
    ev["kind"] = ev["kind"].astype(object)
    ev["side"] = ev["side"].astype(object)
    ev["stage"] = ev["stage"].astype(object)
    return ev, trace


def _best_window(above: NDArray[np.bool_], a: int, b: int, w: int) -> int:
    """The most samples of ``above`` in any window of ``w`` samples starting at ``a`` .. ``b - 1``
    (the running count over the candidate's own stretch only)."""
    c = np.concatenate(([0], np.cumsum(above[a : b - 1 + w])))
    return int((c[w:] - c[:-w]).max())


def _last_true_at(b: NDArray[np.bool_], p: NDArray[np.int64]) -> NDArray[np.int64]:
    """For each position ``p``: the last index ``j <= p`` where ``b`` is True (-1 if none), found
    from the runs of False (no whole-night running maximum of indices)."""
    starts, ends = _runs(~b)
    if starts.size == 0:
        return p.copy()
    r = np.searchsorted(starts, p, side="right") - 1
    inside = (r >= 0) & (p < ends[np.maximum(r, 0)])
    return np.where(inside, starts[np.maximum(r, 0)] - 1, p)


def _onsets_through_masks(
    s: NDArray[np.int64],
    keep: NDArray[np.bool_],
    env: NDArray[np.float32],
    off: NDArray[np.float32],
    usable: NDArray[np.bool_],
    gap_ok: NDArray[np.bool_],
    max_back: int,
) -> tuple[NDArray[np.int64], NDArray[np.bool_], int]:
    """Onsets of movements already under way where usable signal resumes.

    A run above the offset threshold that starts at the end of a masked stretch (vibration left
    after line removal) began inside it. The signal is still recorded there, only less certain,
    and a movement that reached the onset threshold outside the mask is far above what is left of
    the line; so its onset is traced back through the mask to where the envelope was last at or
    below the offset threshold, at most ``max_back`` samples back (further inside a masked stretch
    the envelope may be residual vibration, not movement). When the trace reaches a recording gap, the start of the
    recording or the signal before the mask (the envelope stayed above the threshold across the
    whole mask: the movement continues one seen before it), the onset is not observable and the
    run is not a new LM; it is left out instead of being counted as a movement with a late onset.

    Returns the onsets, the updated ``keep`` and the number of runs left out.
    """
    resumed = keep & (s > 0) & ~usable[np.maximum(s - 1, 0)]
    if not resumed.any():
        return s, keep, 0
    stop = ~gap_ok | usable | (env <= off)
    rows = np.flatnonzero(resumed)
    last_stop = _last_true_at(stop, s[rows] - 1)
    out, keep = s.copy(), keep.copy()
    unseen = 0
    for i, j in zip(rows, last_stop.tolist(), strict=True):
        if j >= 0 and gap_ok[j] and not usable[j] and s[i] - (j + 1) <= max_back:
            # fell to the offset threshold inside the mask
            out[i] = j + 1
        else:
            keep[i] = False
            unseen += 1
    return out, keep, unseen


def _refine_onsets(
    env: NDArray[np.float32],
    s: NDArray[np.int64],
    floor: NDArray[np.float32],
    usable: NDArray[np.bool_],
    back: int,
    factor: float,
) -> NDArray[np.int64]:
    """Move each onset back to where the envelope left the noise floor.

    A slow, small movement crosses the offset threshold well after it began; EMG scoring puts
    the onset where activity first rises above rest, so we look back (at most ``back`` samples,
    never into the previous LM or a gap) for the last sample at or below ``factor`` x floor.
    """
    out = s.copy()
    prev_end = np.concatenate(([0], s[:-1] + 1))
    for i, a in enumerate(s):
        lo = max(int(prev_end[i]), a - back)
        seg_ok = (env[lo:a] <= factor * floor[lo:a]) | ~usable[lo:a]
        hit = np.flatnonzero(seg_ok)
        out[i] = lo + hit[-1] + 1 if hit.size else lo
    return out


def _gravity_change_deg(reg: RegularSignal, s: NDArray[np.int64], e: NDArray[np.int64], w: int) -> NDArray[np.float64]:
    """Angle between the mean acceleration before onset and after offset (degrees)."""
    a = reg.accel_g
    n = reg.n
    out = np.zeros(s.size)
    for i, (a0, b0) in enumerate(zip(s, e, strict=True)):
        pre = a[max(0, a0 - w) : max(a0, 1)]
        post = a[min(b0, n - 1) : min(n, b0 + w)]
        if pre.size == 0 or post.size == 0:
            continue
        g0 = pre.mean(axis=0, dtype=np.float64)
        g1 = post.mean(axis=0, dtype=np.float64)
        c = float(np.dot(g0, g1) / (np.linalg.norm(g0) * np.linalg.norm(g1) + 1e-12))
        out[i] = np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))
    return out
