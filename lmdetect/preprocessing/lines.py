"""Removal of a narrow vibration line (a vibration pad's motor) that drifts and ramps down.

A pad's eccentric-mass motor puts one narrow spectral line into the acceleration (at its speed,
or that speed's alias below fs/2), with weaker harmonics; the speed wanders slowly and, at the end
of a cycle, ramps down, so the line (and its aliases, which fold back at 0 and fs/2) sweeps
through the spectrum. Leg movements are broadband and brief. So the line can be tracked and
subtracted, leaving the movements to be measured underneath:

1. short frames (``frame_s``, half-overlapping) of the three axes; in each, the line is the
   largest peak of the zero-padded Hann spectrum within ``search_hz`` of the previous frame's
   line (a motor's speed changes slowly), refined by parabolic interpolation. It counts only if it
   is *narrow*: ``line_ratio`` times the median power of the spectrum around it, which a
   broadband leg movement is not. When the line is lost the search opens to the whole band (a
   repeat cycle spins up at full speed again);
2. harmonics ``k f`` are folded into [0, fs/2] as the sensor aliases them (the alias of ``k``
   times the true speed is the fold of ``k`` times the aliased frequency) and kept when narrow;
3. in each frame a least-squares fit of a constant, a slope and, per line, a chirp (the frequency
   running linearly between the neighbouring frames' estimates, so a ramp-down is followed within
   the frame) gives the line's part, which is subtracted with a Hann cross-fade between frames
   (half-overlapping periodic Hann windows sum to one);
4. what is left at the line is measured in the cleaned frame (its excess over the spectrum
   around it) and weighted by the detector's low-pass gain, giving the residual line as it
   reaches the movement signal. A line below ``min_fit_hz`` (less than a cycle per frame: an
   alias passing through 0 Hz) cannot be fitted and counts in full.

This is the line-tracking (harmonic-subtraction) approach used for power-line interference in
biosignals, applied to a tracked rather than a fixed frequency (e.g. Keshtkaran & Yang, J Neural
Eng 2014, for a tracked adaptive line canceller; scipy.signal supplies the spectra and filters).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import fft as sp_fft
from scipy import ndimage, signal

from .._params import Params, check_positive, check_range
from .grid import RegularSignal

__all__ = ["LINE_TRACK_COLUMNS", "LineRemovalParams", "LineTrack", "remove_lines"]

#: Columns of the per-frame line track.
LINE_TRACK_COLUMNS = ("t_s", "freq_hz", "amplitude_mg", "residual_mg", "fitted")


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


@dataclasses.dataclass(frozen=True, eq=False)
class LineTrack:
    """What the remover found, frame by frame.

    Attributes
    ----------
    frames : DataFrame
        One row per frame: t_s (frame centre, s since recording start), freq_hz (tracked
        fundamental as sampled, NaN where no line), amplitude_mg (peak amplitude of the removed
        lines, vector over the axes, before the low-pass), residual_mg (running median of the
        residual line as it reaches the movement signal, RMS mg), fitted (the line was removed).
    hop_s : float
        Time between frame centres (s).
    """

    frames: pd.DataFrame
    hop_s: float

    def residual_above(self, n: int, fs: float, t0_s: float, level_mg: float) -> NDArray[np.bool_]:
        """Grid mask: True where the residual line exceeds ``level_mg`` (each frame covers its hop)."""
        mask = np.zeros(n, bool)
        f = self.frames
        if len(f) == 0:
            return mask
        bad = f["residual_mg"].to_numpy(float) > level_mg
        t = f["t_s"].to_numpy(float)[bad]
        lo = np.clip(np.floor((t - self.hop_s / 2 - t0_s) * fs).astype(np.int64), 0, n)
        hi = np.clip(np.ceil((t + self.hop_s / 2 - t0_s) * fs).astype(np.int64), 0, n)
        for a, b in zip(lo, hi, strict=True):
            mask[a:b] = True
        return mask

    def between(self, a_s: float, b_s: float) -> pd.DataFrame:
        t = self.frames["t_s"].to_numpy(float)
        return self.frames[(t >= a_s) & (t < b_s)]


def _fold(f: NDArray | float, fs: float) -> NDArray | float:
    """Frequency as a sensor sampling at ``fs`` sees it, in [0, fs/2]."""
    r = np.mod(f, fs)
    return np.minimum(r, fs - r)


def _spans(onsets: NDArray, ends: NDArray, params: LineRemovalParams, dur_s: float) -> list[tuple[float, float, float]]:
    rows = sorted(zip(onsets - params.margin_s, ends, ends + params.extend_s, strict=True))
    out: list[list[float]] = []
    for a, e, b in rows:
        a, b = max(0.0, a), min(dur_s, b)
        if out and a <= out[-1][2]:
            out[-1][1] = max(out[-1][1], e)
            out[-1][2] = max(out[-1][2], b)
        elif b > a:
            out.append([a, e, b])
    return [(a, e, b) for a, e, b in out]


def remove_lines(
    reg: RegularSignal,
    sessions: pd.DataFrame,
    params: LineRemovalParams = LineRemovalParams(),
    *,
    lowpass_sos: NDArray[np.float64] | None = None,
) -> tuple[RegularSignal, LineTrack]:
    """Subtract tracked vibration lines around each session.

    Parameters
    ----------
    reg
        Acceleration on a uniform grid (g).
    sessions
        Vibration sessions (onset_s, duration_s, seconds since recording start; optional
        freq_hz, the line frequency as sampled, to start the track from).
    params
        Remover settings.
    lowpass_sos
        The detector's low-pass filter (SOS at ``reg.fs``), applied zero-phase: the residual is
        weighted by its gain (squared magnitude), i.e. measured as it reaches the movement signal.
        None = unweighted.

    Returns
    -------
    cleaned : RegularSignal
        A copy of ``reg`` with the lines removed (``reg`` itself when there is nothing to do).
    track : LineTrack
    """
    fs = reg.fs
    n_frame = 2 * max(4, int(round(params.frame_s * fs / 2)))  # even: two hops per frame
    hop = n_frame // 2
    cols = list(LINE_TRACK_COLUMNS)
    empty = LineTrack(pd.DataFrame(columns=cols), hop / fs)
    if sessions is None or len(sessions) == 0 or reg.n < 2 * n_frame:
        return reg, empty
    on = sessions["onset_s"].to_numpy(float) - reg.t0_s
    end = on + sessions["duration_s"].to_numpy(float)
    f0 = sessions["freq_hz"].to_numpy(float) if "freq_hz" in sessions else np.full(on.size, np.nan)
    accel = reg.accel_g.astype(np.float64, copy=True)
    nfft = n_frame * params.zero_pad
    freqs = np.fft.rfftfreq(nfft, d=1.0 / fs)
    df = freqs[1]
    win = np.hanning(n_frame + 1)[:-1]  # periodic Hann: half-overlapping copies sum to one
    gain = np.ones_like(freqs)
    if lowpass_sos is not None:
        _, h = signal.sosfreqz(lowpass_sos, worN=freqs, fs=fs)
        gain = np.abs(h) ** 2  # zero-phase: the filter runs twice
    lobe = params.zero_pad * 2  # a Hann window's main lobe: +-2 bins of the unpadded frame
    ctx = max(lobe + 2, round(params.context_hz / df))
    rows: list[dict[str, float | bool]] = []
    for a_s, e_s, b_s in _spans(on, end, params, reg.duration_s):
        i0, i1 = int(a_s * fs), int(b_s * fs)
        nf = (i1 - i0 - n_frame) // hop + 1
        if nf < 3:
            continue
        starts = i0 + hop * np.arange(nf)
        idx = starts[:, None] + np.arange(n_frame)[None, :]
        x = accel[idx]  # (nf, n_frame, 3)
        ok = reg.valid[idx].all(axis=1)
        xd = x - x.mean(axis=1, keepdims=True)
        spec = sp_fft.rfft((xd * win[None, :, None]).astype(np.float32), n=nfft, axis=1)
        p = (spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2).sum(axis=2)  # (nf, bins)
        del spec
        # a running median of the spectrum: what a broadband signal has around each bin
        ref = _neighbourhood_median(p, ctx, lobe)
        ratio = p / (ref + 1e-30)
        lo_bin = int(np.ceil(0.2 / df))
        # anchor: the frame where the session's line stands out most
        sel = (starts / fs >= max(on.min(), a_s)) & (starts / fs <= e_s)
        f_start = f0[np.argmin(np.abs(on - max(a_s + params.margin_s, 0)))] if f0.size else np.nan
        anchor, fa = _anchor(ratio, freqs, sel, f_start, params, lo_bin)
        if anchor < 0:
            continue
        f_track = _track(p, ratio, ok, anchor, fa, f_start, starts, e_s, fs, n_frame, df, lo_bin, params)
        f_track = _refine_near_folds(f_track, xd, fs, n_frame)
        fitted, amp, unfit = _fit_and_subtract(accel, i0, starts, x, xd, f_track, ratio, ref, gain, fs, n_frame, params)
        # what is left: the strongest narrow line in the cleaned frames, through the low-pass,
        # wherever it is (a line the tracker lost is found here too), plus lines too slow to fit
        # (the narrow leak as a running median: a brief movement can look narrow in one frame;
        # an unfittable line is certain, so its frames and their neighbours count as they are)
        leak = _narrow_leak(accel[idx], win, nfft, ctx, lobe, gain, params.line_ratio, params.min_fit_hz, fs)
        w = max(1, round(params.residual_window_s * fs / hop) | 1)
        leak = signal.medfilt(leak, w) if nf >= w else leak
        unfit = np.maximum(unfit, _spin_edges(fitted, amp, round(params.spin_s * fs / hop), round(20.0 * fs / hop)))
        unfit = ndimage.maximum_filter1d(unfit, size=3, mode="nearest")
        resid_med = np.hypot(leak, unfit) / np.sqrt(2.0)
        tc = reg.t0_s + (starts + n_frame / 2) / fs
        for j in range(nf):
            rows.append(
                {
                    "t_s": float(tc[j]),
                    "freq_hz": float(f_track[j]),
                    "amplitude_mg": float(amp[j] * 1000.0),
                    "residual_mg": float(resid_med[j] * 1000.0),
                    "fitted": bool(fitted[j]),
                }
            )
    if not rows:
        return reg, empty
    cleaned = dataclasses.replace(reg, accel_g=accel.astype(reg.accel_g.dtype, copy=False))
    return cleaned, LineTrack(pd.DataFrame(rows, columns=cols), hop / fs)


def _track(
    p: NDArray,
    ratio: NDArray,
    ok: NDArray,
    anchor: int,
    fa: float,
    f_start: float,
    starts: NDArray,
    e_s: float,
    fs: float,
    n_frame: int,
    df: float,
    lo_bin: int,
    params: LineRemovalParams,
) -> NDArray:
    """Follow the line from the anchor frame forwards and backwards (NaN where there is none).

    Near the previous frame's line a peak ``line_ratio / 4`` above its surroundings continues
    the track (the motor's speed changes slowly; a chance noise peak that high within the search
    window is rare). Where none is found (a movement swamps the line) the track coasts at the last
    frequency for ``coast_s``; after that it is only picked up again near the session's own
    frequency (a repeat cycle spins up to the same speed), never elsewhere: a leg movement can look
    narrow in one short frame.
    """
    nf = p.shape[0]
    hop = n_frame // 2
    search = max(1, round(params.search_hz / df))
    home = f_start if np.isfinite(f_start) else fa
    f_track = np.full(nf, np.nan)
    for direction in (1, -1):
        f_prev = fa
        lost = 0
        j = anchor if direction == 1 else anchor - 1
        while 0 <= j < nf:
            b = round(f_prev / df)
            lo, hi = max(lo_bin, b - search), min(p.shape[1], b + search + 1)
            k = lo + int(np.argmax(p[j, lo:hi])) if hi > lo else -1
            found = ok[j] and k >= 0 and ratio[j, k] >= params.line_ratio / 4
            if not found and ok[j] and lost * hop / fs > params.coast_s:
                hb = round(home / df)
                lo, hi = max(lo_bin, hb - 2 * search), min(p.shape[1], hb + 2 * search + 1)
                k = lo + int(np.argmax(ratio[j, lo:hi])) if hi > lo else -1
                found = k >= 0 and ratio[j, k] >= params.line_ratio
            if found:
                lost = 0
                f_prev = _refine(p[j], k) * df
                f_track[j] = f_prev
            else:
                lost += 1
                t_j = (starts[j] + n_frame / 2) / fs
                if direction == 1 and t_j > e_s and lost * hop / fs > params.lost_s:
                    break
            j += direction
    return _coast(f_track, ok, max(1, int(params.coast_s * fs / hop)))


def _refine_near_folds(f_track: NDArray, xd: NDArray, fs: float, n_frame: int) -> NDArray:
    """Re-estimate the line within ``2 / frame`` Hz of 0 or fs/2 by a least-squares search.

    There a line's spectral peak merges with its mirror image and is pulled to the edge; a real
    sinusoid fitted to the samples is not (the frequency whose fit explains most of the frame,
    over +-1 Hz in 0.02-Hz steps)."""
    edge = 2.0 * fs / n_frame
    near = np.isfinite(f_track) & ((f_track < edge) | (f_track > fs / 2 - edge))
    js = np.flatnonzero(near)
    if js.size == 0:
        return f_track
    out = f_track.copy()
    t = (np.arange(n_frame) - (n_frame - 1) / 2) / fs
    steps = np.arange(-1.0, 1.0001, 0.02)
    for c0 in range(0, js.size, 64):
        j = js[c0 : c0 + 64]
        cand = np.clip(f_track[j, None] + steps[None, :], 0.05, fs / 2 - 1e-3)  # (J, K)
        ph = 2 * np.pi * cand[:, :, None] * t[None, None, :]  # (J, K, N)
        m = np.stack((np.cos(ph), np.sin(ph), np.broadcast_to(t, ph.shape)), axis=2)  # (J, K, 3, N); frames are mean-free
        a_mat = np.einsum("jkcn,jkdn->jkcd", m, m) + np.eye(3) * 1e-9
        b_vec = np.einsum("jkcn,jna->jkca", m, xd[j])
        coef = np.linalg.solve(a_mat, b_vec)
        explained = np.einsum("jkca,jkca->jk", coef[:, :, :2], b_vec[:, :, :2])
        out[j] = cand[np.arange(j.size), np.argmax(explained, axis=1)]
    return out


def _spin_edges(fitted: NDArray, amp: NDArray, k: int, min_run: int) -> NDArray:
    """Amplitude (g) of the line just before a motor's run starts and after it ends.

    A motor spins up (and down, once it stalls) through every lower speed within a second or
    two, so its line sweeps the whole band, movement band included, faster than a fit can follow:
    those frames are unmeasurable, counted at the run's amplitude."""
    out = np.zeros(fitted.size)
    if not fitted.any():
        return out
    # running: a line of at least a quarter of the session's typical amplitude (the track may
    # follow noise-level peaks for a while before and after)
    running = fitted & (amp >= 0.25 * float(np.median(amp[fitted])))
    d = np.diff(np.concatenate(([0], running.view(np.int8), [0])))
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
        if b - a < min_run:
            continue
        out[max(0, a - k) : a + 1] = np.maximum(out[max(0, a - k) : a + 1], amp[a])
        out[b - 1 : b + k] = np.maximum(out[b - 1 : b + k], amp[b - 1])
    return out


def _coast(f_track: NDArray, ok: NDArray, max_frames: int) -> NDArray:
    """Fill short holes in the track (a movement can hide the line for a moment while the motor
    runs on): linearly between the frames either side, or holding the last frequency at an end."""
    have = np.isfinite(f_track)
    if have.all() or not have.any():
        return f_track
    out = f_track.copy()
    d = np.diff(np.concatenate(([0], (~have).view(np.int8), [0])))
    idx = np.flatnonzero(have)
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
        if b - a > max_frames or (a == 0 and b == f_track.size):
            continue
        out[a:b] = np.interp(np.arange(a, b), idx, f_track[idx])
    out[~ok] = np.nan
    return out


def _neighbourhood_median(p: NDArray, half: int, lobe: int) -> NDArray:
    """What a broadband spectrum has around each bin: the median power over the bins ``lobe`` to
    ``half`` away on one side, the lower of the two sides (a line's own main lobe, within
    ``lobe`` bins, is left out; at a band edge only the side inside the band counts).
    Computed on a grid decimated to a few bins per lobe (speed)."""
    step = max(1, lobe // 2)
    sub = p[:, ::step]
    lo_off = max(1, lobe // step)
    size = max(3, ((half - lobe) // step) | 1)
    centred = ndimage.median_filter(sub, size=(1, size), mode="constant", cval=np.inf)
    shift = lo_off + size // 2  # the window ending lo_off bins below (left) or above (right)
    pad = np.full((sub.shape[0], shift), np.inf)
    left = np.concatenate((pad, centred[:, : sub.shape[1] - shift]), axis=1)[:, : sub.shape[1]]
    right = np.concatenate((centred[:, shift:], pad), axis=1)[:, : sub.shape[1]]
    med = np.minimum(left, right)
    med = np.where(np.isfinite(med), med, np.nanmedian(np.where(np.isfinite(sub), sub, np.nan), axis=1, keepdims=True))
    return np.repeat(med, step, axis=1)[:, : p.shape[1]]


def _refine(row: NDArray, k: int) -> float:
    """Parabolic interpolation of a spectral peak (in bins)."""
    if 0 < k < row.size - 1:
        a, b, c = np.log(row[k - 1] + 1e-30), np.log(row[k] + 1e-30), np.log(row[k + 1] + 1e-30)
        d = a - 2 * b + c
        if d < 0:
            return k + 0.5 * (a - c) / d
    return float(k)


def _anchor(ratio: NDArray, freqs: NDArray, sel: NDArray, f_start: float, params: LineRemovalParams, lo_bin: int) -> tuple[int, float]:
    """The frame and frequency to start tracking from: where a narrow line persists most (near
    the session's reported frequency when known).

    Persistence is the mean log line-to-surroundings ratio over ~10 s of frames (the line's
    largest bin within +-0.5 Hz, as the speed wanders): a pad's line stands out in nearly every
    frame, a leg movement that looks narrow in one frame does not. (-1, nan) when there is none.
    """
    cand = np.flatnonzero(sel)
    if cand.size == 0:
        return -1, np.nan
    df = freqs[1]
    if np.isfinite(f_start):
        b = round(f_start / df)
        w = max(1, round(1.5 / df))
        lo, hi = max(lo_bin, b - w), min(ratio.shape[1], b + w + 1)
    else:
        lo, hi = lo_bin, ratio.shape[1]
    if hi <= lo:
        return -1, np.nan
    lr = np.log(np.maximum(ratio[cand[0] : cand[-1] + 1, lo:hi], 1e-12))
    lr = ndimage.maximum_filter1d(lr, size=max(1, round(0.5 / df)) * 2 + 1, axis=1, mode="nearest")
    persist = ndimage.uniform_filter1d(lr, size=min(lr.shape[0], 21), axis=0, mode="nearest")
    best = np.unravel_index(int(np.argmax(persist)), persist.shape)
    j, k = cand[0] + int(best[0]), lo + int(best[1])
    if persist[best] < np.log(params.line_ratio / 2) or ratio[j, k] < params.line_ratio / 4:
        return -1, np.nan
    return int(j), float(freqs[k])


def _fit_and_subtract(
    accel: NDArray,
    i0: int,
    starts: NDArray,
    x: NDArray,
    xd: NDArray,
    f_track: NDArray,
    ratio: NDArray,
    ref: NDArray,
    gain: NDArray,
    fs: float,
    n_frame: int,
    params: LineRemovalParams,
) -> tuple[NDArray, NDArray, NDArray]:
    """Fit the tracked lines in every frame at once and subtract them from ``accel`` (cross-faded).

    Returns (fitted, amplitude_g, unfit_g) per frame: whether a line was removed, the removed
    part's peak amplitude, and the amplitude (through the low-pass) of lines too slow to fit."""
    nf = f_track.size
    hop = n_frame // 2
    df = fs / (n_frame * params.zero_pad)
    win = np.hanning(n_frame + 1)[:-1]
    t = (np.arange(n_frame) - (n_frame - 1) / 2) / fs
    have = np.isfinite(f_track)
    f1 = np.where(have, f_track, 0.0)
    # the line's phase, integrated from its frequency interpolated between frame centres: it
    # follows a wandering or ramping motor within each frame (aliases included: a folded line is
    # the same sampled sequence with its phase reversed, which the cos/sin pair absorbs)
    centres = starts - i0 + (n_frame - 1) / 2
    n_span = int(starts[-1] - i0 + n_frame)
    fi = np.interp(np.arange(n_span), centres[have], f_track[have]) if have.any() else np.zeros(n_span)
    harm = np.arange(1, params.n_harmonics + 1)
    raw = harm[None, :] * f1[:, None]  # (nf, H)
    fh = np.asarray(_fold(raw, fs))
    kb = np.clip(np.round(fh / df).astype(np.int64), 0, ratio.shape[1] - 1)
    # a harmonic is fitted where the motor has one: narrow (``line_ratio`` over its surroundings)
    # in most frames around, so a weak harmonic hidden for a moment under a movement is still
    # removed, while a sinusoid is never fitted to leg movements where the motor has no harmonic
    rows = np.arange(nf)[:, None]
    seen = pd.DataFrame(np.where(have[:, None], ratio[rows, kb] >= params.line_ratio, np.nan))
    real = seen.rolling(41, center=True, min_periods=1).mean().ffill().bfill().fillna(0.0).to_numpy() >= 0.5
    real[:, 0] = True
    present = have[:, None] & real
    local = (starts - i0)[:, None] + np.arange(n_frame)[None, :]  # (nf, N)
    # a line whose alias passes near 0 Hz anywhere in the frame (a harmonic folding over while
    # the motor's speed crosses a multiple of fs/2) cannot be told from a slow movement: not fitted,
    # counted as residual
    fmin = np.stack([np.asarray(_fold(h * fi, fs))[local].min(axis=1) for h in harm], axis=1)  # (nf, H)
    unfit = present & (fmin < params.min_fit_hz)
    fit = present & ~unfit
    any_fit = fit.any(axis=1)
    fitted = any_fit.copy()
    amp = np.zeros(nf)
    js = np.flatnonzero(any_fit)
    removed = np.zeros((hop * (nf + 1), 3))
    hamp = np.full((nf, harm.size), np.nan)  # fitted amplitude of each line (g, vector over axes)
    chunk = 512
    hop_s = hop / fs
    coef1 = None
    for rnd in range(2):
        # round 0 fits at the tracked frequency; the phase its fits drift by from frame to frame
        # is the frequency error (a few hundredths of a Hz from a one-second spectrum), so round
        # 1 corrects the frequency and fits again (phase-vocoder refinement)
        if rnd == 1 and coef1 is not None:
            c = coef1[:-1] * np.conj(coef1[1:])
            ok_pair = np.isfinite(c) & (np.abs(c) > 0) & fit[:-1, 0] & fit[1:, 0]
            dfe = np.where(ok_pair, -np.angle(c) / (2 * np.pi * hop_s), np.nan)
            dfe[np.abs(dfe) > df] = np.nan  # larger than a spectral bin: a fold, not an estimate error
            # frame pair j, j+1 -> the error at the midpoint between their centres
            cm = centres[:-1] + hop / 2
            good = np.isfinite(dfe)
            if good.sum() >= 2:
                fi = fi + np.interp(np.arange(n_span), cm[good], signal.medfilt(dfe[good], 3))
        phase = np.stack([2 * np.pi * np.cumsum(_fold(h * fi, fs)) / fs for h in harm])  # (H, n_span)
        coef1 = np.full(nf, np.nan + 0j)
        if rnd == 1:
            removed[:] = 0.0
        for c0 in range(0, js.size, chunk):
            j = js[c0 : c0 + chunk]
            ph = np.stack([phase[q][local[j]] for q in range(harm.size)], axis=1)  # (J, H, N)
            on = fit[j][:, :, None]
            cs = np.where(on, np.cos(ph), 0.0)
            sn = np.where(on, np.sin(ph), 0.0)
            m = np.concatenate(
                (np.broadcast_to(np.ones(n_frame), (j.size, 1, n_frame)), np.broadcast_to(t, (j.size, 1, n_frame)), cs, sn),
                axis=1,
            )  # (J, C, N)
            a_mat = np.einsum("jcn,jdn->jcd", m, m)
            a_mat += np.eye(m.shape[1])[None] * (1e-9 * n_frame)  # columns of absent lines are zero
            b_vec = np.einsum("jcn,jna->jca", m, x[j])
            coef = np.linalg.solve(a_mat, b_vec)
            # fundamental's complex amplitude, summed over axes weighted by themselves
            hamp[j] = np.sqrt((coef[:, 2 : 2 + harm.size, :] ** 2 + coef[:, 2 + harm.size :, :] ** 2).sum(axis=2))
            cc = coef[:, 2, :] - 1j * coef[:, 2 + harm.size, :]  # (J, 3)
            ref_ax = np.argmax(np.abs(cc).sum(axis=0)) if cc.size else 0
            coef1[j] = cc[:, ref_ax]
            if rnd == 0:
                continue
            part = np.einsum("jcn,jca->jna", m[:, 2:], coef[:, 2:])  # (J, N, 3)
            amp[j] = np.sqrt((part**2).sum(axis=2).max(axis=1))
            wp = win[None, :, None] * part
            for q, jj in enumerate(j):
                removed[jj * hop : jj * hop + n_frame] += wp[q]
    # an unfitted line's amplitude: that of the same line in the fitted frames nearby
    hamp = np.where(fit, hamp, np.nan)
    near = pd.DataFrame(hamp).rolling(41, center=True, min_periods=1).median().ffill().bfill().to_numpy()
    near = np.nan_to_num(near, nan=0.0)
    unfit_amp = np.sqrt((np.where(unfit, near * gain[kb], 0.0) ** 2).sum(axis=1))
    n_rem = min(removed.shape[0], accel.shape[0] - i0)
    accel[i0 : i0 + n_rem] -= removed[:n_rem]
    return fitted, amp, unfit_amp


def _narrow_leak(
    frames: NDArray, win: NDArray, nfft: int, ctx: int, lobe: int, gain: NDArray, line_ratio: float, min_fit_hz: float, fs: float
) -> NDArray:
    """Per frame, the largest amplitude (g) of a persistent narrow spectral line, weighted by ``gain``.

    A bin counts as a line when its power is ``line_ratio`` times the median power around it in
    most frames over ~10 s; its amplitude is what stands above that median."""
    xd = frames - frames.mean(axis=1, keepdims=True)
    spec = sp_fft.rfft((xd * win[None, :, None]).astype(np.float32), n=nfft, axis=1)
    p = (spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2).sum(axis=2)
    del spec
    ref = _neighbourhood_median(p, ctx, lobe)
    narrow = p >= line_ratio * ref
    # not at the lowest frequencies: a slow movement's spectrum falls off from 0 Hz and looks
    # like a one-sided peak there (a line that slow is counted as unfittable instead)
    narrow[:, : int(np.ceil(2.0 * min_fit_hz * nfft / fs))] = False
    # a line persists: narrow near the same frequency (+-lobe) in 80% of ~10 s of frames; a leg
    # movement can look narrow in a short frame, but not for long at one frequency
    near = ndimage.maximum_filter1d(narrow.astype(np.float32), size=2 * lobe + 1, axis=1, mode="nearest")
    persist = ndimage.uniform_filter1d(near, size=min(near.shape[0], 21), axis=0, mode="nearest") >= 0.8
    excess = np.where(narrow & persist, p - ref, 0.0)
    amp = (2.0 / win.sum()) * np.sqrt(excess) * gain[None, :]
    return amp.max(axis=1) if amp.shape[1] else np.zeros(frames.shape[0])
