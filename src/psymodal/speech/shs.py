"""Pitch by subharmonic summation (Hermes 1988), for eGeMAPS' voicing decisions.

openSMILE's eGeMAPS tracks F0 by subharmonic summation (SHS) on 60 ms Gaussian-windowed
frames; psymodal's own prosody uses YIN. This module computes the SHS pitch spectrum as
Hermes (1988, "Measurement of pitch by subharmonic summation", JASA 83) describes it and as
openSMILE's eGeMAPSv02 configuration sets it up (``cSpecScale``: octave scale from 25 Hz,
spectral enhancement and smoothing, auditory weighting; ``cPitchShs``: 15 harmonics,
compression 0.85, F0 55-1000 Hz):

1. magnitude spectrum of each windowed frame;
2. enhancement: every bin more than two bins away from a local maximum is set to 0, then a
   3-point Hanning smoothing (0.25, 0.5, 0.25);
3. linear interpolation onto an equidistant log2-frequency (octave) axis from 25 Hz to the
   Nyquist frequency, with as many points as spectral bins;
4. Hermes' auditory sensitivity weighting ``0.5 + arctan(3 (log2 f - log2 65)) / pi``;
5. ``H(s) = sum_{n=1..N} h^(n-1) P(s + log2 n)``, the pitch being the ``s`` that maximises it.

Steps 2-5 after the enhancement are linear in the spectrum, so they are one precomputed
matrix (per rate and FFT size): the SHS spectrum of a batch of frames is one matrix product.

The harmonicity ``1 - mean(H) / max(H)`` over the search range is a voicing score: near 1
when one pitch explains the spectrum, lower for noise. It is not openSMILE's voicing
probability (whose definition its documentation does not give); psymodal uses it, together
with YIN's aperiodicity, to voice frames that YIN's tracker left unvoiced (see
:func:`psymodal.speech.egemaps.extract_egemaps` and ``docs/egemaps_fidelity.md``).
"""

from __future__ import annotations

import functools

import numba
import numpy as np
import scipy.fft

from .audio import centred_padding
from .spectral import fft_length

__all__ = ["opensmile_pitch", "opensmile_pitch_of_signal", "opensmile_pitch_on_steps", "shs_pitch"]

# openSMILE eGeMAPSv02's cSpecScale / cPitchShs settings (its shipped configuration).
_MIN_SCALE_HZ = 25.0
_AUDITORY_KNEE_HZ = 65.0
_ENHANCE_HALF_WIDTH = 2


@functools.lru_cache(maxsize=8)
def _shs_matrix(
    sr: int, n_fft: int, fmin: float, fmax: float, n_harmonics: int, compression: float
) -> tuple[np.ndarray, np.ndarray]:
    """The linear map from an enhanced magnitude spectrum to its SHS spectrum.

    Returns the ``(n_bins, n_pitches)`` matrix (smoothing, octave interpolation, auditory
    weighting and harmonic summation combined; read-only) and the candidate pitches (Hz).
    """
    n_bins = n_fft // 2 + 1
    lo, hi = np.log2(_MIN_SCALE_HZ), np.log2(sr / 2.0)
    octave = np.linspace(lo, hi, n_bins)
    step = octave[1] - octave[0]
    # Linear interpolation of the (smoothed) spectrum at each octave-scale point.
    pos = 2.0**octave / (sr / n_fft)
    left = np.clip(np.floor(pos).astype(int), 0, n_bins - 2)
    frac = pos - left
    rows = np.arange(n_bins)
    interp = np.zeros((n_bins, n_bins))
    interp[rows, left] = 1.0 - frac
    interp[rows, left + 1] = frac
    smooth = np.eye(n_bins) * 0.5
    smooth[rows[1:], rows[:-1]] = 0.25
    smooth[rows[:-1], rows[1:]] = 0.25
    weight = 0.5 + np.arctan(3.0 * (octave - np.log2(_AUDITORY_KNEE_HZ))) / np.pi
    to_octave = (interp @ smooth) * weight[:, None]
    # Harmonic summation: pitch point s collects h^(n-1) P(s + log2 n), interpolated.
    search = np.flatnonzero((octave >= np.log2(fmin)) & (octave <= np.log2(fmax)))
    summation = np.zeros((n_bins, len(search)))
    cols = np.arange(len(search))
    for n in range(1, n_harmonics + 1):
        at = search + np.log2(n) / step
        below = np.floor(at).astype(int)
        frac_n = at - below
        ok = below + 1 < n_bins
        gain = compression ** (n - 1)
        summation[below[ok], cols[ok]] += gain * (1.0 - frac_n[ok])
        summation[below[ok] + 1, cols[ok]] += gain * frac_n[ok]
    matrix = np.ascontiguousarray(to_octave.T @ summation, dtype=np.float32)
    pitches = 2.0 ** octave[search]
    matrix.flags.writeable = False
    pitches.flags.writeable = False
    return matrix, pitches


def _enhance(magnitude: np.ndarray) -> np.ndarray:
    """``magnitude`` with every bin more than two bins from a local maximum set to 0."""
    peak = np.zeros(magnitude.shape, dtype=bool)
    peak[:, 1:-1] = (magnitude[:, 1:-1] > magnitude[:, :-2]) & (
        magnitude[:, 1:-1] >= magnitude[:, 2:]
    )
    keep = peak.copy()
    for k in range(1, _ENHANCE_HALF_WIDTH + 1):
        keep[:, k:] |= peak[:, :-k]
        keep[:, :-k] |= peak[:, k:]
    return magnitude * keep


def shs_pitch(
    frames: np.ndarray,
    sr: int,
    fmin: float = 55.0,
    fmax: float = 1000.0,
    n_harmonics: int = 15,
    compression: float = 0.85,
) -> tuple[np.ndarray, np.ndarray]:
    """SHS pitch and harmonicity of windowed frames.

    Parameters
    ----------
    frames : numpy.ndarray
        ``(n_frames, length)`` windowed frames (eGeMAPS: 60 ms, Gaussian, sigma 0.4).
    sr : int
        Sampling rate, Hz.
    fmin, fmax : float
        Pitch search range, Hz (openSMILE eGeMAPSv02: 55-1000).
    n_harmonics : int
        Harmonics summed (Hermes: 15).
    compression : float
        Weight ratio of successive harmonics (openSMILE: 0.85; Hermes: 0.84).

    Returns
    -------
    f0 : numpy.ndarray
        Pitch (Hz) maximising the SHS spectrum, per frame (NaN for silent frames).
    harmonicity : numpy.ndarray
        ``1 - mean / max`` of the SHS spectrum over the search range, in [0, 1) (0 for
        silent frames).
    """
    n = len(frames)
    if n == 0:
        return np.empty(0), np.empty(0)
    length = frames.shape[1]
    n_fft = fft_length(length)
    # Single precision throughout (about twice as fast): the pitch and the harmonicity are
    # read to far coarser resolution than its 1e-7.
    padded = np.zeros((n, n_fft), dtype=np.float32)
    padded[:, :length] = frames
    spec = scipy.fft.rfft(padded, axis=1)
    magnitude = np.sqrt(spec.real * spec.real + spec.imag * spec.imag)
    matrix, pitches = _shs_matrix(
        int(sr), n_fft, float(fmin), float(fmax), int(n_harmonics), float(compression)
    )
    spectrum = (_enhance(magnitude) @ matrix).astype(np.float64)
    best = np.argmax(spectrum, axis=1)
    rows = np.arange(n)
    peak = spectrum[rows, best]
    sounding = peak > 0
    # Parabolic interpolation of the peak on the octave axis (the grid steps ~1 %).
    inner = np.clip(best, 1, spectrum.shape[1] - 2)
    left, mid, right = (spectrum[rows, inner + k] for k in (-1, 0, 1))
    curve = left - 2.0 * mid + right
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where((best == inner) & (curve < 0), 0.5 * (left - right) / curve, 0.0)
    step = np.log2(pitches[1] / pitches[0])
    f0 = np.where(sounding, pitches[best] * 2.0 ** (np.clip(shift, -0.5, 0.5) * step), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonicity = np.where(sounding, 1.0 - spectrum.mean(axis=1) / peak, 0.0)
    return f0, harmonicity


# openSMILE's cSpecScale, as measured on its exported levels (benchmarks/egemaps_pitch_probe.py):
# the auditory weighting's knee lies at 2^5 = 32 Hz (not Hermes' 65 Hz) and the octave scale
# interpolates the magnitude spectrum with a cubic spline.
_OPENSMILE_KNEE_LOG2 = 5.0


# The SHS spectrum is smooth on the finer octave scale of a higher rate's spectrum (1,025
# points at 22.05 kHz, 2,049 at 44.1 kHz): it is read about every this many octaves (16 kHz's
# own step: every 2nd point at 22.05 kHz, every 3rd at 44.1 and 48 kHz) and the peak
# interpolated (tuning half: median r 0.983 -> 0.982; the 22.05 kHz speed ratio fell under 3
# reading every point).
_SEARCH_STEP = 0.0163

# cPitchShs keeps this many local maxima of its SHS spectrum (eGeMAPSv02's nCandidates), the
# highest over the whole spectrum, and then drops those outside the pitch search range.
_N_CANDIDATES = 6


def _harmonic_shifts(n_points: int, span: float, n_harmonics: int) -> list[int]:
    """The whole number of octave-scale points openSMILE's ``cPitchShs`` reads harmonic n
    (1..``n_harmonics``) up from the pitch point, on ``n_points`` points spanning ``span``
    octaves: ``floor(log2 n * n_points / span)``."""
    return [int(np.floor(np.log2(n) * n_points / span)) for n in range(1, n_harmonics + 1)]


@functools.lru_cache(maxsize=8)
def _opensmile_shs_matrices(
    sr: int,
    n_fft: int,
    n_rows: int,
    fmin: float,
    fmax: float,
    n_harmonics: int,
    compression: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Linear maps from an enhanced magnitude spectrum to openSMILE's SHS spectrum.

    ``n_rows`` is the number of spectral bins that can be non-zero (all but those above the
    Nyquist frequency of a resampled signal). Returns the ``(n_rows, n_points)`` matrix onto
    the SHS spectrum (float32) at every point of the octave scale (every ``stride``-th at rates
    above 16 kHz, the search range's points among them) up to the highest that can be non-zero,
    the ``(n_rows,)`` vector onto the mean of the whole SHS spectrum, the log2 pitches of those
    points and their octave step. ``fmin`` only places the grid of points read (``fmax`` is
    not used: the best candidate's search reads the whole spectrum).
    """
    import scipy.interpolate
    import scipy.sparse

    n_bins = n_fft // 2 + 1
    freqs = np.arange(n_bins) * (sr / n_fft)
    octave = np.linspace(np.log2(_MIN_SCALE_HZ), np.log2(sr / 2.0), n_bins)
    step = octave[1] - octave[0]
    # cSpecScale: 3-point smoothing (edge bins kept), natural cubic spline onto the octave
    # scale, auditory weighting; all linear, so one matrix (spline of the smoothing's columns).
    rows = np.arange(n_bins)
    smooth = np.eye(n_bins) * 0.5
    smooth[rows[1:], rows[:-1]] = 0.25
    smooth[rows[:-1], rows[1:]] = 0.25
    smooth[0, :], smooth[-1, :] = 0.0, 0.0
    smooth[0, 0] = smooth[-1, -1] = 1.0
    smooth = smooth[:, :n_rows]
    to_octave = scipy.interpolate.CubicSpline(freqs, smooth, bc_type="natural")(2.0**octave)
    to_octave *= (0.5 + np.arctan(3.0 * (octave - _OPENSMILE_KNEE_LOG2)) / np.pi)[:, None]
    # cPitchShs: the mean over harmonics of h^(n-1) P(s + log2 n), harmonic n read a whole
    # number of points up: floor(log2 n * n_bins / octaves spanned), as if the points were
    # n_bins / span per octave rather than (n_bins - 1) / span. openSMILE's exported SHS
    # spectrum is this sum of its exported octave spectrum to 4e-7 (relative) at 8, 16 and
    # 22.05 kHz; reading P at s + log2 n by linear interpolation is 4 % off (16 kHz).
    r_idx, c_idx, vals = [], [], []
    for n, shift in enumerate(_harmonic_shifts(n_bins, octave[-1] - octave[0], n_harmonics), 1):
        ok = rows + shift < n_bins
        r_idx.append(rows[ok])
        c_idx.append(rows[ok] + shift)
        vals.append(np.full(int(ok.sum()), compression ** (n - 1) / n_harmonics))
    summation = scipy.sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(r_idx), np.concatenate(c_idx))),
        shape=(n_bins, n_bins),
    )
    first = int(np.flatnonzero(octave >= np.log2(fmin))[0])
    stride = max(int(round(_SEARCH_STEP / step)), 1)
    # Above the highest frequency with content (a resampled signal's Nyquist frequency, one
    # bin's margin for the spline) the SHS spectrum is 0.
    top = np.log2(min((n_rows + 1) * sr / n_fft, sr / 2.0))
    last = int(np.flatnonzero(octave <= top)[-1])
    cols = np.arange(first % stride, last + 1, stride)
    matrix = np.ascontiguousarray((summation[cols] @ to_octave).T, dtype=np.float32)
    mean = np.ascontiguousarray(
        np.asarray(summation.mean(axis=0)).ravel() @ to_octave, dtype=np.float32
    )
    log_pitch = octave[cols]
    for a in (matrix, mean, log_pitch):
        a.flags.writeable = False
    return matrix, mean, log_pitch, float(step * stride)


def opensmile_pitch(
    frames: np.ndarray,
    sr: int,
    fmin: float = 55.0,
    fmax: float = 1000.0,
    n_harmonics: int = 15,
    compression: float = 0.85,
    native_sr: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """openSMILE eGeMAPSv02's SHS pitch candidate and voicing probability, per frame.

    A reproduction of openSMILE's ``cSpecScale`` + ``cPitchShs`` levels, measured as a black
    box on its exported levels (``benchmarks/egemaps_pitch_probe.py``; openSMILE's source not
    read): the magnitude spectrum (zero-padded to a power of two) enhanced as openSMILE's
    exported octave spectrum shows (:func:`_enhanced_magnitude`: the bins between two local
    maxima more than two bins from both zeroed), 3-point smoothed, spline-interpolated onto as
    many octave-scale points from 25 Hz to the Nyquist frequency, weighted by
    ``0.5 + arctan(3 (log2 f - 5)) / pi``; the SHS spectrum is the mean over 15 harmonics of
    ``0.85^(n-1) P(s + log2 n)``, ``log2 n`` rounded down to a whole number of points
    (:func:`_opensmile_shs_matrices`); the candidates are the 6 highest local maxima of the
    whole SHS spectrum, less those whose peak (parabolic interpolation on the octave axis) lies
    outside ``fmin``-``fmax``, so that a frame whose highest maxima lie outside the range has
    none (:func:`_best_peak`); a candidate's voicing probability is
    ``1 - mean(SHS spectrum) / score``.

    Parameters
    ----------
    frames : numpy.ndarray
        ``(n_frames, length)`` frames, Gaussian-windowed (eGeMAPS: 60 ms, sigma 0.4).
    sr : int
        Sampling rate, Hz.
    fmin, fmax : float
        Pitch search range, Hz.
    n_harmonics : int
        Harmonics summed.
    compression : float
        Weight ratio of successive harmonics.
    native_sr : int, optional
        The recording's own rate when ``frames`` were resampled down from it: openSMILE's
        spectrum at that rate is emulated (its bin spacing, with no content above ``sr / 2``),
        as its octave scale has as many points as that spectrum has bins.

    Returns
    -------
    f0 : numpy.ndarray
        The best candidate's pitch (Hz; NaN where the frame has no candidate).
    voicing : numpy.ndarray
        Its voicing probability (0 where none); openSMILE voices a frame where it reaches
        ``voicingCutoff`` (eGeMAPSv02: 0.7).
    """
    n = len(frames)
    if n == 0:
        return np.empty(0), np.empty(0)
    length = frames.shape[1]
    rate, n_fft, n_points = _spectrum_layout(length, sr, native_sr)
    padded = np.zeros((n, n_points), dtype=np.float32)
    padded[:, :length] = frames
    settings = (float(fmin), float(fmax), int(n_harmonics), float(compression))
    f0, voicing, _ = _pitch_of_padded(padded, rate, n_fft, settings)
    return f0 * _bin_scale(sr, rate, n_fft, n_points), voicing


def opensmile_pitch_of_signal(
    y: np.ndarray, sr: int, hop: int, idx: np.ndarray, native_sr: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`opensmile_pitch` (eGeMAPSv02 settings) of the 60 ms Gaussian frames ``idx`` of
    the centred grid of :func:`psymodal.speech.audio.frame_signal`, framed, windowed and
    zero-padded in one pass.

    Returns the pitch, the voicing probability and, when the spectrum's FFT size is the
    frame's own power of two (no ``native_sr`` above ``sr``), the complex spectra of those
    frames (``None`` otherwise), which eGeMAPS' harmonic levels reuse.
    """
    from .egemaps import _gaussian_window

    length = int(round(0.060 * sr))
    rate, n_fft, n_points = _spectrum_layout(length, sr, native_sr)
    centred = centred_padding(y, length)
    starts = np.asarray(idx, dtype=np.int64) * int(hop)
    padded = _windowed_frames(centred, starts, _gaussian_window(length), n_points)
    f0, voicing, spec = _pitch_of_padded(padded, rate, n_fft, (55.0, 1000.0, 15, 0.85))
    if n_points != n_fft:
        return f0 * _bin_scale(sr, rate, n_fft, n_points), voicing, None
    return f0, voicing, spec


def opensmile_pitch_on_steps(
    y: np.ndarray, sr: int, frames: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`opensmile_pitch` (eGeMAPSv02 settings) of openSMILE's own 60 ms Gaussian frames
    of ``y`` at its rate ``sr``: frame ``j`` starts ``j`` steps of 10 ms rounded half up in
    (221 samples at 22.05 kHz), zero outside the signal, in an FFT of the frame's own power
    of two; the spectrum is the one openSMILE reads, content up to ``sr / 2`` included.

    Returns the pitch and the voicing probability of each frame ``frames``.
    """
    from .egemaps import _gaussian_window

    length = int(round(0.060 * sr))
    step = int(0.010 * sr + 0.5)
    n_fft = fft_length(length)
    padded = np.zeros(len(y) + 3 * length)
    padded[length : length + len(y)] = y
    starts = np.clip(length + np.asarray(frames, dtype=np.int64) * step, 0, len(padded) - length)
    windowed = _windowed_frames(padded, starts, _gaussian_window(length), n_fft)
    f0, voicing, _ = _pitch_of_padded(windowed, int(sr), n_fft, (55.0, 1000.0, 15, 0.85))
    return f0, voicing


def _spectrum_layout(length: int, sr: float, native_sr: int | None) -> tuple[int, int, int]:
    """openSMILE's rate and FFT size for a frame of ``length`` samples at ``sr`` (read at
    ``native_sr`` when the signal was resampled down from it), and the FFT size at ``sr``
    that gives that spectrum's bin spacing."""
    rate = int(sr)
    n_fft = fft_length(length)
    n_points = n_fft
    if native_sr is not None and native_sr > sr:
        rate = int(native_sr)
        n_fft = fft_length(round(0.060 * rate))
        # Read as that spectrum's bins: an FFT size with small prime factors near the exact
        # one (1,485 for 1,486.1 from 22.05 or 44.1 kHz: 5x faster), whose bins are a
        # fraction of a percent off; :func:`_bin_scale` corrects the pitch read on them.
        exact = n_fft * sr / rate
        near = {scipy.fft.prev_fast_len(round(exact)), scipy.fft.next_fast_len(round(exact))}
        n_points = max(min(sorted(near), key=lambda m: abs(m - exact)), length)
    return rate, n_fft, n_points


def _bin_scale(sr: float, rate: int, n_fft: int, n_points: int) -> float:
    """True frequency over the frequency read, for an ``n_points`` spectrum at ``sr`` read
    as the bins of an ``n_fft`` spectrum at ``rate`` (1 where the two spacings are equal)."""
    return 1.0 if n_points == n_fft else (sr / n_points) / (rate / n_fft)


def _pitch_of_padded(padded: np.ndarray, rate: int, n_fft: int, settings: tuple):
    """Best candidate, its voicing probability and the spectra of zero-padded frames."""
    if len(padded) == 0:
        return np.empty(0), np.empty(0), np.empty((0, padded.shape[1] // 2 + 1), np.complex64)
    spec = scipy.fft.rfft(padded, axis=1)
    n_rows = min(spec.shape[1], n_fft // 2 + 1)
    # Without the spectrum's last (Nyquist) bin, it emulates a higher rate's, whose further
    # local maxima lie above the rows held.
    magnitude = _enhanced_magnitude(spec.view(np.float32), n_rows, n_rows == n_fft // 2 + 1)
    matrix, mean_map, log_pitch, step = _opensmile_shs_matrices(rate, n_fft, n_rows, *settings)
    h = magnitude @ matrix
    mean = magnitude @ mean_map
    fmin, fmax = settings[0], settings[1]
    best, shift, top = _best_peak(h, log_pitch, step, np.log2(fmin), np.log2(fmax), _N_CANDIDATES)
    found = best >= 0
    f0 = np.where(found, 2.0 ** (log_pitch[best] + shift * step), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        voicing = np.where(found & (top > 0), 1.0 - mean / top, 0.0)
    return f0, voicing, spec


@numba.njit(cache=True)
def _windowed_frames(centred, starts, window, n_points):  # pragma: no cover - JIT
    """float32 ``(len(starts), n_points)``: ``centred[start:start + len(window)] * window``,
    zero-padded (framing, windowing and padding without float64 temporaries)."""
    n, length = len(starts), len(window)
    out = np.zeros((n, n_points), dtype=np.float32)
    for i in range(n):
        s = starts[i]
        for j in range(length):
            out[i, j] = centred[s + j] * window[j]
    return out


@numba.njit(cache=True)
def _enhanced_magnitude(parts, n_rows, to_nyquist):  # pragma: no cover - JIT
    """|spec| of the first ``n_rows`` bins, enhanced as openSMILE's ``cSpecScale`` does.

    The local maxima are the inner bins above their left neighbour and not below their right
    one, and an edge bin above its one neighbour. Between two successive maxima every bin
    more than two bins from both is set to 0; the bins below the first maximum and above the
    last one are kept; a spectrum with a single maximum keeps only the bins within two of it,
    one without any is kept whole (:func:`_enhance`, psymodal's own SHS, zeroes every bin more
    than two from a maximum instead; openSMILE's exported octave spectrum on the tuning half's
    16 kHz files, largest error over a frame relative to its peak: 99th percentile 4.5 % ->
    1.5 %, maximum 51 % -> 2.5 %, against zeroing all but the first 3 bins and the last).
    ``to_nyquist`` is False when the rows end
    below the spectrum's last bin (a higher rate's spectrum emulated): its further maxima lie
    above, so the rows above the last maximum held count as between two maxima.

    ``parts`` is the complex64 spectrum viewed as float32 (real and imaginary parts side by
    side): the magnitude, peak and keep loops then run branch-free over plain floats, which
    the compiler vectorises (8x faster than testing each maximum's neighbourhood).
    """
    n = parts.shape[0]
    half = _ENHANCE_HALF_WIDTH
    out = np.empty((n, n_rows), dtype=np.float32)
    mag = np.empty(n_rows, dtype=np.float32)
    # peak[j + half]: bin j is a local maximum; the padding never is.
    peak = np.zeros(n_rows + 2 * half, dtype=np.bool_)
    for i in range(n):
        row = parts[i]
        for j in range(n_rows):
            re = row[2 * j]
            im = row[2 * j + 1]
            mag[j] = np.sqrt(re * re + im * im)
        for j in range(1, n_rows - 1):
            peak[j + half] = (mag[j] > mag[j - 1]) & (mag[j] >= mag[j + 1])
        if n_rows > 1:
            peak[half] = mag[0] > mag[1]
            peak[n_rows - 1 + half] = to_nyquist and mag[n_rows - 1] > mag[n_rows - 2]
        first = 0
        while first < n_rows and not peak[first + half]:
            first += 1
        last = n_rows - 1
        while last > first and not peak[last + half]:
            last -= 1
        # The bins kept whole: j < below and j > above (none above the rows held).
        below, above = first, last if to_nyquist else n_rows
        if first == n_rows:  # no maximum
            above = n_rows
        elif first == last and to_nyquist:  # a single one
            below, above = 0, n_rows
        kept = out[i]
        for j in range(n_rows):  # the five peak flags within +-half (half = 2) of bin j
            near = peak[j] | peak[j + 1] | peak[j + 2] | peak[j + 3] | peak[j + 4]
            near = near | (j < below) | (j > above)
            kept[j] = mag[j] if near else np.float32(0.0)
    return out


@numba.njit(cache=True)
def _best_peak(h, log_pitch, step, lo, hi, n_candidates):  # pragma: no cover - JIT
    """openSMILE's best pitch candidate per row of ``h`` (the SHS spectrum at the log2 pitches
    ``log_pitch``, ``step`` octaves apart).

    The candidates are the ``n_candidates`` highest positive local maxima of the whole row
    (above the point before and not below the one after), of which those whose peak,
    parabolically interpolated, lies outside ``lo``-``hi`` (log2 Hz) are dropped: the best is
    the highest maximum in range, unless ``n_candidates`` maxima outside it are higher.
    Returns its column (-1 if none), its parabolic offset (columns) and interpolated value.
    """
    n, m = h.shape
    best = np.full(n, -1, dtype=np.int64)
    shift = np.zeros(n)
    top = np.zeros(n)
    # The columns whose maxima can lie in the range: those within half a step of it (a
    # maximum's parabolic vertex is within half a step of its point).
    a, b = 1, m - 2
    while a <= b and log_pitch[a] + 0.5 * step < lo:
        a += 1
    while b >= a and log_pitch[b] - 0.5 * step > hi:
        b -= 1
    edge = np.empty(b - a + 1)  # maxima near an end found outside the range, per row
    for i in range(n):
        value = 0.0
        n_edge = 0
        for j in range(a, b + 1):
            c = h[i, j]
            # A maximum no higher than one already found cannot outrank the best.
            if c > value and c > h[i, j - 1] and c >= h[i, j + 1]:
                at = log_pitch[j]
                if at - 0.5 * step < lo or at + 0.5 * step > hi:
                    at += _parabolic_offset(h[i, j - 1], c, h[i, j + 1]) * step
                    if at < lo or at > hi:
                        edge[n_edge] = c
                        n_edge += 1
                        continue
                value = c
                best[i] = j
        if best[i] < 0:
            continue
        # openSMILE keeps the n_candidates highest maxima of the whole spectrum.
        higher = 0
        for k in range(n_edge):
            higher += edge[k] > value
        for j in range(1, a):
            c = h[i, j]
            higher += c > value and c > h[i, j - 1] and c >= h[i, j + 1]
        for j in range(b + 1, m - 1):
            c = h[i, j]
            higher += c > value and c > h[i, j - 1] and c >= h[i, j + 1]
        if higher >= n_candidates:
            best[i] = -1
            continue
        j = best[i]
        left, centre, right = float(h[i, j - 1]), float(h[i, j]), float(h[i, j + 1])
        d = _parabolic_offset(left, centre, right)
        shift[i] = d
        top[i] = centre - 0.25 * (left - right) * d
    return best, shift, top


@numba.njit(cache=True)
def _parabolic_offset(left, centre, right):  # pragma: no cover - JIT
    """Offset (in points) of the vertex of the parabola through three points, 0 if none."""
    curve = left - 2.0 * centre + right
    return 0.5 * (left - right) / curve if curve < 0 else 0.0
