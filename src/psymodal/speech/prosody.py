"""Fundamental frequency (F0) tracking with voicing decisions.

The default tracker is YIN (de Cheveigné & Kawahara 2002) computed as in ``librosa.yin``
(cumulative mean normalised difference, absolute threshold, parabolic refinement) but also
returning each frame's aperiodicity (the normalised difference at the chosen lag), which
``librosa.yin`` does not expose and which is needed to decide voicing. ``librosa.pyin`` can be
selected instead (about 20 times slower; its own HMM decides voicing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .audio import frame_signal

__all__ = ["PITCH_DEFAULTS", "PitchTrack", "yin", "track_pitch", "hz_to_semitones"]

PITCH_DEFAULTS = {
    "method": "yin",  # "yin" or "pyin"
    "fmin": 60.0,
    "fmax": 500.0,
    # YIN's absolute threshold (librosa's default): first dip below it gives the period.
    "trough_threshold": 0.1,
    # Frames without a dip below it take the first dip within this margin of their deepest
    # (0 = librosa's rule, the deepest dip; it agreed best with openSMILE on real speech).
    "trough_margin": 0.0,
    # Frames whose aperiodicity exceeds this are unvoiced.
    "voicing_threshold": 0.3,
    # Voicing clean-up (frames): unvoiced gaps up to this long inside voicing are filled,
    # then voiced runs shorter than ``min_voiced_frames`` are dropped. Single-frame flips are
    # estimator noise, not phonation changes.
    "max_gap_frames": 2,
    "min_voiced_frames": 3,
}

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
    """

    f0: np.ndarray
    voiced: np.ndarray
    aperiodicity: np.ndarray
    candidate: np.ndarray | None = None


def hz_to_semitones(f0: np.ndarray) -> np.ndarray:
    """Semitones above 27.5 Hz (openSMILE's ``F0semitoneFrom27.5Hz`` scale)."""
    return 12.0 * np.log2(np.asarray(f0, dtype=float) / SEMITONE_REF_HZ)


def _cmndf_block(frames: np.ndarray, max_period: int) -> np.ndarray:
    """Cumulative mean normalised difference d'(k), k = 0..max_period, per frame (rows)."""
    n = frames.shape[1]
    n_fft = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(frames, n=n_fft, axis=1)
    acf = np.fft.irfft(spec.real**2 + spec.imag**2, n=n_fft, axis=1)[:, : max_period + 1]
    energy = np.cumsum(frames * frames, axis=1)
    total = energy[:, -1:]
    k = np.arange(1, max_period + 1)
    # Exact difference over the overlapping part of the frame:
    # d(k) = sum_{j<n-k} x_j^2 + sum_{j>=k} x_j^2 - 2 acf(k)
    head = energy[:, n - k - 1]
    tail = total - energy[:, k - 1]
    diff = np.maximum(head + tail - 2.0 * acf[:, 1:], 0.0)
    cum = np.cumsum(diff, axis=1)
    out = np.ones((frames.shape[0], max_period + 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = diff * k / cum
    out[:, 1:] = np.where(cum > 0, ratio, 1.0)
    return out


def yin(
    y: np.ndarray,
    sr: int,
    fmin: float,
    fmax: float,
    frame_length: int,
    hop_length: int,
    trough_threshold: float = 0.1,
    trough_margin: float = 0.0,
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

    Returns
    -------
    f0 : numpy.ndarray
        F0 candidate per frame, Hz (defined for every frame; use the aperiodicity to decide
        voicing).
    aperiodicity : numpy.ndarray
        Normalised difference at the chosen lag (0 = perfectly periodic).
    """
    min_period = max(int(np.floor(sr / fmax)), 2)
    max_period = min(int(np.ceil(sr / fmin)), frame_length - 2)
    if max_period <= min_period + 1:
        raise ValueError(
            f"pitch range {fmin}-{fmax} Hz is too narrow or frame_length={frame_length} is too "
            f"short at {sr} Hz; widen the range or lengthen the frame"
        )
    frames = frame_signal(y, frame_length, hop_length)
    f0 = np.empty(len(frames))
    aper = np.empty(len(frames))
    for start in range(0, len(frames), _BLOCK):
        d = _cmndf_block(frames[start : start + _BLOCK], max_period)[:, min_period : max_period + 1]
        # Local minima as in librosa.util.localmin (strict on the left), first lag included.
        trough = np.zeros(d.shape, dtype=bool)
        trough[:, 1:-1] = (d[:, 1:-1] < d[:, :-2]) & (d[:, 1:-1] <= d[:, 2:])
        trough[:, 0] = d[:, 0] < d[:, 1]
        # YIN's absolute threshold, raised to (global minimum + threshold) for frames whose
        # best dip is above it: jitter and noise lift every dip, and taking the global
        # minimum then picks a multiple of the period (an octave-down error).
        limit = np.maximum(trough_threshold, d.min(axis=1, keepdims=True) + trough_margin)
        below = trough & (d < limit)
        idx = np.where(below.any(axis=1), np.argmax(below, axis=1), np.argmin(d, axis=1))
        rows = np.arange(len(d))
        # Parabolic refinement of the dip (kept only when the vertex lies within one lag).
        inner = np.clip(idx, 1, d.shape[1] - 2)
        a, b, c = d[rows, inner - 1], d[rows, inner], d[rows, inner + 1]
        denom = a - 2.0 * b + c
        with np.errstate(invalid="ignore", divide="ignore"):
            shift = np.where(denom > 0, 0.5 * (a - c) / denom, 0.0)
        shift = np.where((idx == inner) & (np.abs(shift) <= 1.0), shift, 0.0)
        f0[start : start + len(d)] = sr / (min_period + idx + shift)
        aper[start : start + len(d)] = d[rows, idx]
    return f0, aper


def _fix_octave_jumps(f0: np.ndarray, voiced: np.ndarray, size: int = 5) -> np.ndarray:
    """Fold single-frame octave jumps back towards the local (running-median) F0.

    Within each voiced run, a frame whose F0 is about twice or half the 5-frame running median
    (within a quarter octave) is an estimator error, not a pitch change: a voice does not jump
    an octave for 10-20 ms.
    """
    from scipy.ndimage import median_filter

    out = np.array(f0, dtype=float)
    padded = np.concatenate([[False], voiced, [False]]).astype(np.int8)
    for start, stop in np.flatnonzero(np.diff(padded)).reshape(-1, 2):
        if stop - start < 3:
            continue
        logf = np.log2(out[start:stop])
        dev = logf - median_filter(logf, size=size, mode="nearest")
        logf = np.where(np.abs(dev - 1.0) < 0.25, logf - 1.0, logf)
        logf = np.where(np.abs(dev + 1.0) < 0.25, logf + 1.0, logf)
        out[start:stop] = 2.0**logf
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
        f0, aper = yin(
            y,
            sr,
            fmin,
            fmax,
            frame_length,
            hop_length,
            cfg["trough_threshold"],
            cfg["trough_margin"],
        )
        # A dip at the edge of the lag range means the true minimum lies outside it: such
        # frames (e.g. aliased fricative noise at fmax) are not taken as voiced.
        voiced = (aper < cfg["voicing_threshold"]) & (f0 > fmin * 1.03) & (f0 < fmax * 0.97)
        candidate = np.where((f0 > fmin * 1.03) & (f0 < fmax * 0.97), f0, np.nan)
    elif method == "pyin":
        import librosa

        f0, voiced, prob = librosa.pyin(
            y, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame_length, hop_length=hop_length
        )
        aper = 1.0 - prob
        voiced = np.asarray(voiced, dtype=bool) & np.isfinite(f0)
    else:
        raise ValueError(f"unknown pitch method {cfg['method']!r}; use 'yin' or 'pyin'")
    if sounding is not None:
        voiced = voiced & sounding[: len(voiced)]
    voiced = _clean_voicing(voiced, int(cfg["max_gap_frames"]), int(cfg["min_voiced_frames"]))
    if cfg["max_gap_frames"]:
        # Filled gap frames need an F0: interpolate from the neighbouring voiced frames.
        frames = np.arange(len(f0))
        known = np.flatnonzero(voiced & np.isfinite(f0) & (aper < cfg["voicing_threshold"]))
        if len(known):
            gap = voiced & ~np.isin(frames, known)
            f0 = np.where(gap, np.interp(frames, known, np.asarray(f0)[known]), f0)
    if method == "yin":
        f0 = _fix_octave_jumps(np.where(voiced, f0, 1.0), voiced)
    f0 = np.where(voiced, f0, np.nan)
    return PitchTrack(f0=f0, voiced=voiced, aperiodicity=aper, candidate=candidate)
