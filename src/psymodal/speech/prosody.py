"""Fundamental frequency (F0) tracking with voicing decisions.

The default tracker is YIN (de Cheveigné & Kawahara 2002) computed as in ``librosa.yin``
(cumulative mean normalised difference, absolute threshold, parabolic refinement) but also
returning each frame's aperiodicity (the normalised difference at the chosen lag), which
``librosa.yin`` does not expose and which is needed to decide voicing. ``librosa.pyin`` can be
selected instead (about 20 times slower; its own HMM decides voicing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from scipy import fft

from psymodal.settings import defaults

from .audio import frame_signal
from .spectral import _power_of

__all__ = [
    "PITCH_DEFAULTS",
    "PitchTrack",
    "yin",
    "viterbi_pitch",
    "track_pitch",
    "hz_to_semitones",
]

#: The defaults of ``speech.pitch`` (from the settings schema, the one place they are written).
PITCH_DEFAULTS = defaults("speech.pitch")

#: Reference of the semitone scale, as in openSMILE's eGeMAPS (A0 = 27.5 Hz).
SEMITONE_REF_HZ = 27.5

_BLOCK = 4096  # frames per FFT block: bounds memory for long recordings


@dataclass(frozen=True)
class PitchTrack:
    """F0 per grid frame.

    Attributes
    ----------
    f0 : numpy.ndarray
        F0 in Hz per frame; NaN where unvoiced.
    voiced : numpy.ndarray
        Boolean voicing per frame.
    aperiodicity : numpy.ndarray
        YIN aperiodicity in [0, ~1] (``1 - voiced probability`` for pyin).
    candidate : numpy.ndarray or None
        YIN's F0 candidate for every frame, voiced or not (None for pyin): lets a consumer
        apply its own voicing rule (e.g. eGeMAPS' more permissive one).
    periodic_f0 : numpy.ndarray or None
        The tracker's own F0 and voicing (NaN = unvoiced) before the speech-activity gate and
        the voicing clean-up: what openSMILE-style measures (eGeMAPS), which gate only by
        signal energy, start from.
    """

    f0: np.ndarray
    voiced: np.ndarray
    aperiodicity: np.ndarray
    candidate: np.ndarray | None = None
    periodic_f0: np.ndarray | None = None


def hz_to_semitones(f0: np.ndarray) -> np.ndarray:
    """Semitones above 27.5 Hz (openSMILE's ``F0semitoneFrom27.5Hz`` scale)."""
    return 12.0 * np.log2(np.asarray(f0, dtype=float) / SEMITONE_REF_HZ)


def _cmndf_block(frames: np.ndarray, max_period: int) -> np.ndarray:
    """Cumulative mean normalised difference d'(k), k = 0..max_period, per frame (rows)."""
    n = frames.shape[1]
    # Lags up to max_period only: n + max_period points avoid circular wrap-around for them.
    n_fft = fft.next_fast_len(n + max_period + 1, real=True)
    spec = fft.rfft(frames, n=n_fft, axis=1, workers=1)
    power = _power_of(spec.view(np.float64), spec.shape[1])
    if n_fft % 2 == 0:
        # The inverse real FFT of a real (even) spectrum is its type-I DCT / n_fft: the same
        # values to rounding, without irfft's conversion of the power to complex.
        acf = fft.dct(power, type=1, axis=1, workers=1, overwrite_x=True)
        scale = float(n_fft)  # the kernel divides the lags it reads
    else:
        acf, scale = fft.irfft(power, n=n_fft, axis=1, workers=1), 1.0
    return _cmndf_from_acf(frames, acf, max_period, scale)


@numba.njit(cache=True)
def _cmndf_from_acf(frames, acf, max_period, scale):  # pragma: no cover - JIT
    """d'(k) from the frames and their autocorrelation (``acf / scale``), one pass per frame.

    Exact difference over the overlapping part of the frame:
    d(k) = sum_{j<n-k} x_j^2 + sum_{j>=k} x_j^2 - 2 acf(k), then d'(k) = d(k) k / sum d(1..k).
    Two frames at a time: their running sums are independent chains that the CPU overlaps
    (each still adds in order, so the values of one frame at a time).
    """
    n_frames, n = frames.shape
    out = np.ones((n_frames, max_period + 1))
    energy = np.empty(n)
    energy2 = np.empty(n)
    blocked = n_frames - n_frames % 2
    for i in range(0, blocked, 2):
        acc = acc2 = 0.0
        for j in range(n):
            acc += frames[i, j] * frames[i, j]
            acc2 += frames[i + 1, j] * frames[i + 1, j]
            energy[j] = acc
            energy2[j] = acc2
        total, total2 = energy[n - 1], energy2[n - 1]
        cum = cum2 = 0.0
        for k in range(1, max_period + 1):
            d = energy[n - k - 1] + (total - energy[k - 1]) - 2.0 * (acf[i, k] / scale)
            d2 = energy2[n - k - 1] + (total2 - energy2[k - 1]) - 2.0 * (acf[i + 1, k] / scale)
            d = max(d, 0.0)
            d2 = max(d2, 0.0)
            cum += d
            cum2 += d2
            out[i, k] = d * k / cum if cum > 0 else 1.0
            out[i + 1, k] = d2 * k / cum2 if cum2 > 0 else 1.0
    for i in range(blocked, n_frames):
        acc = 0.0
        for j in range(n):
            acc += frames[i, j] * frames[i, j]
            energy[j] = acc
        total = energy[n - 1]
        cum = 0.0
        for k in range(1, max_period + 1):
            d = energy[n - k - 1] + (total - energy[k - 1]) - 2.0 * (acf[i, k] / scale)
            d = max(d, 0.0)
            cum += d
            out[i, k] = d * k / cum if cum > 0 else 1.0
    return out


@numba.njit(cache=True)
def _pick_dips(cmndf, min_period, threshold, margin, k, sr):  # pragma: no cover - JIT
    """YIN's period pick and the ``k - 1`` deepest other dips per frame, as F0 and depth.

    ``d`` = ``cmndf[:, min_period:]``. Dips are local minima as in librosa.util.localmin
    (strict on the left), the first lag included. YIN's pick is the first dip below YIN's
    absolute ``threshold``, raised to (global minimum + ``margin``) for frames whose best dip
    is above it (jitter and noise lift every dip, and taking the global minimum then picks a
    multiple of the period: an octave-down error); without such a dip, the global minimum.
    The other candidates are the remaining dips, deepest first (ties: shorter lag first);
    NaN where a frame has fewer. Each F0 is refined by a parabola through its dip
    (kept only when the vertex lies within one lag of the sampled minimum).
    """
    n = cmndf.shape[0]
    width = cmndf.shape[1] - min_period
    f0 = np.full((n, k), np.nan)
    aper = np.full((n, k), np.nan)
    trough = np.zeros(width, dtype=np.bool_)
    best_d = np.empty(max(k - 1, 1))
    best_j = np.empty(max(k - 1, 1), dtype=np.int64)
    for i in range(n):
        d = cmndf[i, min_period:]
        lowest = 0
        for j in range(1, width):
            if d[j] < d[lowest]:
                lowest = j
        limit = max(threshold, d[lowest] + margin)
        trough[0] = d[0] < d[1]
        trough[width - 1] = False
        for j in range(1, width - 1):
            trough[j] = (d[j] < d[j - 1]) and (d[j] <= d[j + 1])
        pick = lowest
        for j in range(width):
            if trough[j] and d[j] < limit:
                pick = j
                break
        f0[i, 0], aper[i, 0] = _refine_one(d, pick, sr, min_period)
        # Insertion into a short sorted list; ties keep the earlier lag first.
        found = 0
        for j in range(width if k > 1 else 0):
            if not trough[j] or j == pick:
                continue
            if found == k - 1 and not d[j] < best_d[found - 1]:
                continue
            pos = found if found < k - 1 else k - 2
            while pos > 0 and d[j] < best_d[pos - 1]:
                if pos < k - 1:
                    best_d[pos] = best_d[pos - 1]
                    best_j[pos] = best_j[pos - 1]
                pos -= 1
            best_d[pos] = d[j]
            best_j[pos] = j
            if found < k - 1:
                found += 1
        for c in range(found):
            f0[i, c + 1], aper[i, c + 1] = _refine_one(d, best_j[c], sr, min_period)
    return f0, aper


@numba.njit(cache=True)
def _refine_one(d, lag, sr, min_period):  # pragma: no cover - JIT
    """F0 (Hz) and depth at ``lag``, refined by a parabola through the dip."""
    width = len(d)
    inner = min(max(lag, 1), width - 2)
    a, b, c = d[inner - 1], d[inner], d[inner + 1]
    denom = a - 2.0 * b + c
    shift = 0.5 * (a - c) / denom if denom > 0 else 0.0
    if not (lag == inner and abs(shift) <= 1.0):
        shift = 0.0
    return sr / (min_period + lag + shift), d[lag]


def yin(
    y: np.ndarray,
    sr: int,
    fmin: float,
    fmax: float,
    frame_length: int,
    hop_length: int,
    trough_threshold: float = 0.1,
    trough_margin: float = 0.0,
    n_candidates: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """YIN F0 estimate and aperiodicity per grid frame.

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal.
    sr : int
        Sampling rate, Hz.
    fmin, fmax : float
        Search range, Hz. ``frame_length`` must exceed ``sr / fmin``.
    frame_length, hop_length : int
        Analysis frame and hop, samples.
    trough_threshold : float
        Threshold: the smallest lag whose normalised difference is a local minimum below
        ``max(trough_threshold, global minimum + trough_margin)`` is the period.
    trough_margin : float
        See ``trough_threshold``; 0 gives librosa's rule (global minimum as fallback).
    n_candidates : int
        Period candidates per frame. 1: YIN's own pick only (1-D outputs). More: YIN's pick
        in column 0, then the deepest other dips of the normalised difference (2-D outputs,
        NaN where a frame has fewer dips), for a tracker that chooses between them.

    Returns
    -------
    f0 : numpy.ndarray
        F0 candidate(s) per frame, Hz (defined for every frame; use the aperiodicity to decide
        voicing).
    aperiodicity : numpy.ndarray
        Normalised difference at the candidate's lag (0 = perfectly periodic).
    """
    min_period = max(int(np.floor(sr / fmax)), 2)
    max_period = min(int(np.ceil(sr / fmin)), frame_length - 2)
    if max_period <= min_period + 1:
        raise ValueError(
            f"pitch range {fmin}-{fmax} Hz is too narrow or frame_length={frame_length} is too "
            f"short at {sr} Hz; widen the range or lengthen the frame"
        )
    k = max(int(n_candidates), 1)
    frames = frame_signal(y, frame_length, hop_length)
    f0 = np.full((len(frames), k), np.nan)
    aper = np.full((len(frames), k), np.nan)
    for start in range(0, len(frames), _BLOCK):
        d = _cmndf_block(frames[start : start + _BLOCK], max_period)
        block = slice(start, start + len(d))
        f0[block], aper[block] = _pick_dips(
            d, min_period, float(trough_threshold), float(trough_margin), k, float(sr)
        )
    if k == 1:
        return f0[:, 0], aper[:, 0]
    return f0, aper


@numba.njit(cache=True)
def _viterbi_path(local, log_f, switch_cost, octave_jump_cost):  # pragma: no cover - JIT
    """Least-cost state sequence (state k = unvoiced) for :func:`viterbi_pitch`."""
    n, n_states = local.shape
    k = n_states - 1
    back = np.zeros((n, n_states), dtype=np.int64)
    cost = local[0].copy()
    new = np.empty(n_states)
    for t in range(1, n):
        for j in range(n_states):
            best, arg = np.inf, 0
            for i in range(n_states):
                if i < k and j < k:
                    c = cost[i] + octave_jump_cost * abs(log_f[t, j] - log_f[t - 1, i])
                elif i == j:
                    c = cost[i]
                else:
                    c = cost[i] + switch_cost
                if c < best:
                    best, arg = c, i
            back[t, j] = arg
            new[j] = best + local[t, j]
        cost[:] = new
    state = np.empty(n, dtype=np.int64)
    state[n - 1] = np.argmin(cost)
    for t in range(n - 1, 0, -1):
        state[t - 1] = back[t, state[t]]
    return state


def viterbi_pitch(
    f0: np.ndarray,
    aperiodicity: np.ndarray,
    allowed: np.ndarray,
    unvoiced_cost: float,
    switch_cost: float,
    octave_jump_cost: float,
    lag_cost: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Choose one F0 candidate (or unvoiced) per frame by dynamic programming.

    The path minimises the sum of local costs and transition costs. Local: a candidate's
    aperiodicity plus ``lag_cost`` per octave below the first candidate (YIN's own pick, so
    YIN's preference for the shortest good period is kept); ``unvoiced_cost`` for the
    unvoiced state. Transition: ``octave_jump_cost`` per octave of F0 change between
    neighbouring voiced frames, ``switch_cost`` per voiced/unvoiced change. A voice glides
    but does not jump an octave between 10 ms frames, and voicing does not flicker: isolated
    octave errors and one-frame voicing flips cost more than they save. This plays the role
    of openSMILE's Viterbi pitch smoother in eGeMAPS; the costs are our own, chosen on the
    validation sample of ``benchmarks/speech_validate_opensmile.py``.

    Parameters
    ----------
    f0, aperiodicity : numpy.ndarray
        Candidates per frame, shape (frames, k); NaN where a frame has fewer.
    allowed : numpy.ndarray
        Boolean per frame; False forces the frame unvoiced.

    Returns
    -------
    f0 : numpy.ndarray
        Chosen F0 per frame (NaN where unvoiced).
    aperiodicity : numpy.ndarray
        The chosen candidate's aperiodicity (the first candidate's where unvoiced).
    """
    n, k = f0.shape
    if n == 0:
        return np.empty(0), np.empty(0)
    log_f = np.log2(f0)
    below_first = np.maximum(np.nan_to_num(log_f[:, :1] - log_f, nan=0.0), 0.0)
    local = aperiodicity + lag_cost * below_first
    local = np.where(np.isfinite(local) & allowed[:, None], local, np.inf)
    local = np.column_stack([local, np.full(n, float(unvoiced_cost))])
    log_f = np.where(np.isfinite(log_f), log_f, 0.0)
    state = _viterbi_path(local, log_f, float(switch_cost), float(octave_jump_cost))
    voiced = state < k
    rows = np.arange(n)
    pick = np.where(voiced, state, 0)
    out_f0 = np.where(voiced, f0[rows, pick], np.nan)
    return out_f0, aperiodicity[rows, pick]


def _fix_octave_jumps(f0: np.ndarray, voiced: np.ndarray, size: int = 5) -> np.ndarray:
    """Fold single-frame octave jumps back towards the local (running-median) F0.

    Within each voiced run, a frame whose F0 is about twice or half the 5-frame running median
    (within a quarter octave) is an estimator error, not a pitch change: a voice does not jump
    an octave for 10-20 ms.
    """
    out = np.array(f0, dtype=float)
    padded = np.concatenate([[False], voiced, [False]]).astype(np.int8)
    for start, stop in np.flatnonzero(np.diff(padded)).reshape(-1, 2):
        if stop - start < 3:
            continue
        logf = np.log2(out[start:stop])
        dev = logf - _running_median(logf, size)
        logf = np.where(np.abs(dev - 1.0) < 0.25, logf - 1.0, logf)
        logf = np.where(np.abs(dev + 1.0) < 0.25, logf + 1.0, logf)
        out[start:stop] = 2.0**logf
    return out


@numba.njit(cache=True)
def _running_median(x, size):  # pragma: no cover - JIT
    """Median of the ``size`` (odd) values centred on each element, edges repeated: the values
    of ``scipy.ndimage.median_filter(x, size, mode="nearest")`` without its per-call cost."""
    n = len(x)
    half = size // 2
    out = np.empty(n)
    window = np.empty(size)
    for i in range(n):
        for j in range(size):
            window[j] = x[min(max(i + j - half, 0), n - 1)]
        window.sort()
        out[i] = window[half]
    return out


def _clean_voicing(voiced: np.ndarray, max_gap: int, min_run: int) -> np.ndarray:
    """Fill short unvoiced gaps inside voicing, then drop short voiced runs."""
    voiced = voiced.copy()
    padded = np.concatenate([[False], voiced, [False]]).astype(np.int8)
    runs = np.flatnonzero(np.diff(padded)).reshape(-1, 2)
    if max_gap > 0 and len(runs) > 1:
        for (_, stop), (start, _) in zip(runs[:-1], runs[1:], strict=True):
            if start - stop <= max_gap:
                voiced[stop:start] = True
        padded = np.concatenate([[False], voiced, [False]]).astype(np.int8)
        runs = np.flatnonzero(np.diff(padded)).reshape(-1, 2)
    if min_run > 1:
        for start, stop in runs:
            if stop - start < min_run:
                voiced[start:stop] = False
    return voiced


def track_pitch(
    y: np.ndarray,
    sr: int,
    frame_length: int,
    hop_length: int,
    settings: dict | None = None,
    sounding: np.ndarray | None = None,
) -> PitchTrack:
    """F0 track with voicing on the shared frame grid.

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal.
    sr : int
        Sampling rate, Hz.
    frame_length, hop_length : int
        Analysis frame and hop, samples.
    settings : dict, optional
        Overrides of :data:`PITCH_DEFAULTS`.
    sounding : numpy.ndarray, optional
        Boolean per frame; frames outside it are unvoiced (keeps periodic background hum in
        pauses from counting as voice).

    Returns
    -------
    PitchTrack
    """
    cfg = {**PITCH_DEFAULTS, **(settings or {})}
    fmin, fmax = float(cfg["fmin"]), float(cfg["fmax"])
    method = str(cfg["method"]).lower()
    candidate = None
    if method == "yin":
        viterbi = cfg.get("viterbi") or {}
        n_cand = int(viterbi.get("candidates", 1)) if viterbi.get("enabled") else 1
        f0, aper = yin(
            y,
            sr,
            fmin,
            fmax,
            frame_length,
            hop_length,
            cfg["trough_threshold"],
            cfg["trough_margin"],
            n_candidates=n_cand,
        )
        # A dip at the edge of the lag range means the true minimum lies outside it: such
        # frames (e.g. aliased fricative noise at fmax) are not taken as voiced.
        in_range = (f0 > fmin * 1.03) & (f0 < fmax * 0.97)
        if n_cand > 1:
            candidate = np.where(in_range[:, 0], f0[:, 0], np.nan)
            first_aper = aper[:, 0]
            # The speech-activity gate is applied afterwards, so that the tracker's own
            # voicing (periodic_f0) does not depend on it.
            f0, aper = viterbi_pitch(
                np.where(in_range, f0, np.nan),
                aper,
                np.ones(len(f0), dtype=bool),
                unvoiced_cost=float(viterbi["unvoiced_cost"]),
                switch_cost=float(viterbi["switch_cost"]),
                octave_jump_cost=float(viterbi["octave_jump_cost"]),
                lag_cost=float(viterbi["lag_cost"]),
            )
            voiced = np.isfinite(f0)
            aper = np.where(voiced, aper, first_aper)
            f0 = np.where(voiced, f0, candidate)
        else:
            voiced = (aper < cfg["voicing_threshold"]) & in_range
            candidate = np.where(in_range, f0, np.nan)
    elif method == "pyin":
        import librosa

        f0, voiced, prob = librosa.pyin(
            y, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame_length, hop_length=hop_length
        )
        aper = 1.0 - prob
        voiced = np.asarray(voiced, dtype=bool) & np.isfinite(f0)
    else:
        raise ValueError(f"unknown pitch method {cfg['method']!r}; use 'yin' or 'pyin'")
    # The tracker's own voicing, before the speech-activity gate and the clean-up below.
    tracked = voiced
    periodic_f0 = np.where(tracked, f0, np.nan)
    if sounding is not None:
        voiced = voiced & sounding[: len(voiced)]
    voiced = _clean_voicing(voiced, int(cfg["max_gap_frames"]), int(cfg["min_voiced_frames"]))
    if cfg["max_gap_frames"]:
        # Filled gap frames need an F0: interpolate from the neighbouring voiced frames.
        frames = np.arange(len(f0))
        keep = np.flatnonzero(voiced & tracked & np.isfinite(f0))
        if len(keep):
            gap = voiced & ~np.isin(frames, keep)
            f0 = np.where(gap, np.interp(frames, keep, np.asarray(f0)[keep]), f0)
    if method == "yin":
        f0 = _fix_octave_jumps(np.where(voiced, f0, 1.0), voiced)
    f0 = np.where(voiced, f0, np.nan)
    return PitchTrack(
        f0=f0, voiced=voiced, aperiodicity=aper, candidate=candidate, periodic_f0=periodic_f0
    )
