"""The 88 eGeMAPS v02 functionals (Eyben et al. 2016), reimplemented with numpy/scipy.

Column names are openSMILE's where the meaning is the same, so tables can be compared with
published eGeMAPS results. The low-level descriptors (LLDs) follow the eGeMAPS v02 recipe:

* 10 ms hop; spectral LLDs from 20 ms Hamming frames, F0, HNR and harmonics from 60 ms
  Gaussian frames (sigma 0.4); every frame on the shared centred grid of
  :mod:`psymodal.speech.audio`, except for a file whose rate makes openSMILE's step drift
  from 10 ms (22.05 kHz: 221 samples), analysed on openSMILE's steps
  (:func:`_on_opensmile_steps`).
* F0 and voicing reproduce openSMILE's subharmonic-summation levels (``cSpecScale`` +
  ``cPitchShs``, measured as a black box: :func:`psymodal.speech.shs.opensmile_pitch`), its
  best candidate voiced where the voicing probability reaches 0.7 and short runs and gaps
  smoothed as its Viterbi smoother leaves them (:func:`_opensmile_f0`), gated only by an RMS
  energy floor of 0.001, not by the speech-activity gate of the prosody features, whose F0
  stays psymodal's YIN tracker (:mod:`psymodal.speech.prosody`). Every eGeMAPS LLD that needs
  F0 or voicing takes it. ``pitch_method: yin`` restores the previous voicing: YIN's tracker,
  extended where YIN's aperiodicity is below ``voicing_aperiodicity`` and psymodal's SHS
  finds a clear pitch (``shs_harmonicity``). V/UV spectral and formant frames are paired
  with F0 frames as openSMILE pairs them (``spectral_voicing_lag``).
* Formant frequencies and bandwidths reproduce openSMILE's formant LLD, measured as a black
  box (:func:`_opensmile_formants`); they do not follow a vowel's resonances, which
  :func:`resonance_formants` does.
* ``logRelF0-H1-H2`` and ``logRelF0-H1-A3`` are openSMILE's values, which read the 2nd and
  3rd harmonics and the 2nd, not the 1st and 2nd and the 1st as the names say (measured:
  ``benchmarks/egemaps_harmonics_probe.py``).
* ``sma3`` = 3-frame moving average; ``sma3nz`` = the same over voiced (non-zero) frames only.
* Functionals: ``amean``; ``stddevNorm`` = population SD / mean (signed, as openSMILE);
  percentiles with linear interpolation; ``pctlrange0-2`` = p80 - p20; rising/falling slopes
  (units per second) between successive turning points of the contour, turning points being
  confirmed by a hysteresis of 10 % of the contour range (openSMILE's ``relThresh``).

Known differences from openSMILE (documented, measured in ``benchmarks/RESULTS.md``):
jitter and shimmer come from waveform-matched period marks with Praat's limits; HNR uses the
normalised autocorrelation at the F0 lag of the windowed frame; formant amplitudes (the
strongest harmonic within +-20 % of each formant relative to H1, -201 dB in frames without
F0) are openSMILE's on psymodal's F0; absolute scales of
loudness and spectral flux follow from unnormalised FFT magnitudes and may differ from
openSMILE's by a constant factor.

Band limits: a feature whose analysis band reaches above the recording's native Nyquist
frequency (e.g. alpha ratio, 1-5 kHz, on an 8 kHz telephone recording) is set to NaN when the
``nyquist_policy`` is ``"nan"`` (default), and the QC field ``nyquist_limited_features``
counts them.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
import scipy.fft

from psymodal.settings import defaults

from .audio import centred_padding, frame_signal, n_frames, resample
from .percentiles import percentile
from .polyroots import monic_roots
from .prosody import PitchTrack, hz_to_semitones
from .shs import (
    _windowed_frames,
    opensmile_pitch_of_signal,
    opensmile_pitch_on_steps,
    shs_pitch,
)
from .spectral import (
    _hamming,
    _power_of,
    _shared_filterbank,
    fft_length,
    hz_to_mel,
    mfcc,
    power_spectrogram,
)

__all__ = [
    "EGEMAPS_DEFAULTS",
    "RENAMED",
    "RENAMED_PREFIX",
    "egemaps_names",
    "opensmile_names",
    "resonance_formants",
    "psymodal_name",
    "opensmile_name",
    "band_limit_hz",
    "extract_egemaps",
    "HARMONIC_NAMES",
]

#: psymodal's harmonic differences as the eGeMAPS paper defines them (harmonics 1 and 2, and
#: harmonic 1 against the strongest near F3; dB, mean over voiced frames, 3-frame smoothed):
#: openSMILE's columns of those names read harmonics 2 and 3 (see ``logRelF0-H1-H2``).
HARMONIC_NAMES = ["h1_h2_db_mean", "h1_a3_db_mean"]

#: The defaults of ``speech.egemaps`` (from the settings schema, the one place they are written).
EGEMAPS_DEFAULTS = defaults("speech.egemaps")

_SMA_NZ = "sma3nz"
_VOICED_MS = [
    "jitterLocal",
    "shimmerLocaldB",
    "HNRdBACF",
    "logRelF0-H1-H2",
    "logRelF0-H1-A3",
    "F1frequency",
    "F1bandwidth",
    "F1amplitudeLogRelF0",
    "F2frequency",
    "F2bandwidth",
    "F2amplitudeLogRelF0",
    "F3frequency",
    "F3bandwidth",
    "F3amplitudeLogRelF0",
    "alphaRatioV",
    "hammarbergIndexV",
    "slopeV0-500",
    "slopeV500-1500",
    "spectralFluxV",
    "mfcc1V",
    "mfcc2V",
    "mfcc3V",
    "mfcc4V",
]
_UNVOICED = [
    "alphaRatioUV",
    "hammarbergIndexUV",
    "slopeUV0-500",
    "slopeUV500-1500",
    "spectralFluxUV",
]
_TEMPORAL = [
    "loudnessPeaksPerSec",
    "VoicedSegmentsPerSec",
    "MeanVoicedSegmentLengthSec",
    "StddevVoicedSegmentLengthSec",
    "MeanUnvoicedSegmentLength",
    "StddevUnvoicedSegmentLength",
    "equivalentSoundLevel_dBp",
]
_CONTOUR_FUNCS = [
    "amean",
    "stddevNorm",
    "percentile20.0",
    "percentile50.0",
    "percentile80.0",
    "pctlrange0-2",
    "meanRisingSlope",
    "stddevRisingSlope",
    "meanFallingSlope",
    "stddevFallingSlope",
]


#: Prefix of the functionals that follow eGeMAPS' recipe but do not reproduce openSMILE's
#: values across corpora (r < 0.8 on the held-back half of the validation set); they carry
#: psymodal names so that a column named like an openSMILE feature means openSMILE's value.
RENAMED_PREFIX = "pm_"

#: openSMILE names renamed ``pm_<name>``: r < 0.8 against openSMILE on the held-back half on the
#: library's path or the workflow stage's, measured by ``benchmarks/speech_validate_opensmile.py``
#: and listed with both r in ``docs/egemaps_fidelity.md``.
RENAMED = frozenset(
    {
        "F0semitoneFrom27.5Hz_sma3nz_meanFallingSlope",
        "F0semitoneFrom27.5Hz_sma3nz_meanRisingSlope",
        "F0semitoneFrom27.5Hz_sma3nz_stddevFallingSlope",
        "F0semitoneFrom27.5Hz_sma3nz_stddevRisingSlope",
        "F1amplitudeLogRelF0_sma3nz_stddevNorm",
        "F2bandwidth_sma3nz_stddevNorm",
        "F3bandwidth_sma3nz_stddevNorm",
        "jitterLocal_sma3nz_amean",
        "jitterLocal_sma3nz_stddevNorm",
        "logRelF0-H1-A3_sma3nz_stddevNorm",
        "logRelF0-H1-H2_sma3nz_stddevNorm",
        "mfcc1V_sma3nz_stddevNorm",
        "mfcc2V_sma3nz_stddevNorm",
        "shimmerLocaldB_sma3nz_amean",
        "shimmerLocaldB_sma3nz_stddevNorm",
        "slopeV500-1500_sma3nz_stddevNorm",
    }
)


def psymodal_name(opensmile_name: str) -> str:
    """psymodal's column for an eGeMAPS v02 functional (``pm_`` + name when renamed)."""
    return RENAMED_PREFIX + opensmile_name if opensmile_name in RENAMED else opensmile_name


def opensmile_name(name: str) -> str:
    """The openSMILE eGeMAPS v02 name behind one of psymodal's eGeMAPS columns."""
    return name.removeprefix(RENAMED_PREFIX)


def egemaps_names() -> list[str]:
    """psymodal's 88 eGeMAPS v02 columns, in openSMILE's order (see :data:`RENAMED`)."""
    return [psymodal_name(name) for name in opensmile_names()]


def opensmile_names() -> list[str]:
    """The 88 eGeMAPS v02 functional names of openSMILE, in its order."""
    names = [f"F0semitoneFrom27.5Hz_sma3nz_{f}" for f in _CONTOUR_FUNCS]
    names += [f"loudness_sma3_{f}" for f in _CONTOUR_FUNCS]
    for lld in ["spectralFlux", "mfcc1", "mfcc2", "mfcc3", "mfcc4"]:
        names += [f"{lld}_sma3_amean", f"{lld}_sma3_stddevNorm"]
    for lld in _VOICED_MS:
        names += [f"{lld}_{_SMA_NZ}_amean", f"{lld}_{_SMA_NZ}_stddevNorm"]
    names += [f"{lld}_{_SMA_NZ}_amean" for lld in _UNVOICED]
    return names + _TEMPORAL


# Highest frequency (Hz) each LLD's analysis uses; compared with the native Nyquist.
_BAND_LIMITS = {
    "loudness": 8000.0,
    "mfcc": 8000.0,
    "spectralFlux": 5000.0,
    "alphaRatio": 5000.0,
    "hammarbergIndex": 5000.0,
    "F1": 5450.0,
    "F2": 5450.0,
    "F3": 5450.0,
    "logRelF0-H1-A3": 5450.0,
    "h1_a3_db": 5450.0,
    "loudnessPeaksPerSec": 8000.0,
    "slope": 1500.0,
}


@functools.lru_cache(maxsize=1024)
def band_limit_hz(name: str) -> float:
    """Highest frequency (Hz) that the feature ``name`` analyses (0 when band-independent)."""
    name = opensmile_name(name)
    for prefix, limit in _BAND_LIMITS.items():
        if name.startswith(prefix):
            return limit
    return 0.0


# --- contour helpers ----------------------------------------------------------------------


def _sma3(x: np.ndarray) -> np.ndarray:
    """3-frame centred moving average, the edge frames repeated beyond the ends.

    openSMILE's first smoothed value is (2 x[0] + x[1]) / 3 (checked against its LLD output
    on FSDD, LibriSpeech and demo files), not the mean of the two available frames.
    """
    if len(x) < 2:
        return x.astype(float)
    padded = np.concatenate([x[:1], x, x[-1:]]).astype(float)
    return (padded[:-2] + padded[1:-1] + padded[2:]) / 3.0


@numba.njit(cache=True)
def _sma3nz(x, valid):  # pragma: no cover - JIT
    """3-frame moving average over valid frames only; invalid frames stay NaN.

    One pass (it runs about 30 times per recording): the same sums, in the same order, as
    adding the zero-padded, shifted contours.
    """
    n = len(x)
    out = np.full(n, np.nan)
    for i in range(n):
        if not valid[i]:
            continue
        has_left = i > 0 and valid[i - 1]
        has_right = i + 1 < n and valid[i + 1]
        left = x[i - 1] if has_left else 0.0
        right = x[i + 1] if has_right else 0.0
        count = ((1.0 if has_left else 0.0) + 1.0) + (1.0 if has_right else 0.0)
        out[i] = ((left + x[i]) + right) / count
    return out


def _mean_sdnorm(x: np.ndarray) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return np.nan, np.nan
    # x.mean() and x.std() spelt out as numpy computes them (same bits), without the
    # wrappers' overhead, which dominates on the short contours of short clips.
    mean = np.add.reduce(x) / len(x)
    dev = x - mean
    sd = np.sqrt(np.add.reduce(dev * dev) / len(x))
    mean = float(mean)
    return mean, float(sd / mean) if mean != 0 else np.nan


def _peaks2_extrema(x: np.ndarray, rel_thresh: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """The extrema openSMILE's ``Peaks2`` (``relThresh`` 0.1) reports for contour ``x``.

    Characterised as a black box (its position debug output, ``posDbgOutp``, on contours given
    to a probe configuration as a signal): candidates are the strict local maxima and minima
    at indices 2 to n - 3; one is kept when it lies more than ``rel_thresh`` x the contour's
    range beyond the previous candidate of the other kind (for the first, beyond the
    contour's first value), and replaces the last kept extremum when that is of its kind.
    Returns the kept indices and a boolean array (True = maximum).
    """
    n = len(x)
    if n < 5:
        return np.empty(0, dtype=int), np.empty(0, dtype=bool)
    thresh = rel_thresh * float(np.max(x) - np.min(x))
    kept, kept_max, count = _peaks2_scan(np.ascontiguousarray(x, dtype=np.float64), thresh)
    return kept[:count], kept_max[:count]


@numba.njit(cache=True)
def _peaks2_scan(x, thresh):  # pragma: no cover - JIT
    """The kept extrema of :func:`_peaks2_extrema` (indices, is-maximum, count), in one
    compiled pass (the per-candidate Python loop was about 1 % of the features' cost)."""
    n = len(x)
    kept = np.empty(n, dtype=np.int64)
    kept_max = np.empty(n, dtype=np.bool_)
    count = 0
    ref_val = x[0]  # before the first kept extremum: the last candidate (or x[0])
    for i in range(2, n - 2):
        is_max = x[i] > x[i - 1] and x[i] > x[i + 1]
        is_min = x[i] < x[i - 1] and x[i] < x[i + 1]
        if not (is_max or is_min):
            continue
        c_max = x[i] > x[i - 1]
        if count == 0:
            d = (x[i] - ref_val) if c_max else (ref_val - x[i])
            if d > thresh:
                kept[0] = i
                kept_max[0] = c_max
                count = 1
            else:
                ref_val = x[i]
            continue
        last = x[kept[count - 1]]
        if c_max == kept_max[count - 1]:
            if (x[i] > last) if c_max else (x[i] < last):
                kept[count - 1] = i  # the same turn, further on
        elif ((x[i] - last) if c_max else (last - x[i])) > thresh:
            kept[count] = i
            kept_max[count] = c_max
            count += 1
    return kept, kept_max, count


def _slopes(x: np.ndarray, hop_s: float) -> tuple[float, float, float, float, int]:
    """Mean/SD of rising and falling slopes (units per second) and the number of maxima.

    As openSMILE's ``Peaks2`` reports them on contours run through it as a black box (a probe
    configuration with its options from eGeMAPS, the contour given as a signal): the segments
    between the extrema of :func:`_peaks2_extrema`, plus the segment from the contour's start
    to the first extremum and from the last extremum to the contour's end, whose slope is
    signed (end minus extremum: negative after a maximum) and joins the falling slopes after
    a maximum, the rising ones after a minimum. The SD's squared deviations leave that end
    segment out but its count in: e.g. falling slopes 20 (inside) and -10 (end) read mean 5,
    SD 10.61 = sqrt(15^2 / 2).
    """
    idx, is_max = _peaks2_extrema(x)
    if len(idx) == 0:
        return 0.0, 0.0, 0.0, 0.0, 0
    rising, falling = [], []
    points = [0, *idx.tolist()]
    for k in range(len(idx)):
        a, b = points[k], points[k + 1]
        slope = abs(x[b] - x[a]) / ((b - a) * hop_s)
        (rising if is_max[k] else falling).append(slope)
    last = int(idx[-1])
    end = (x[-1] - x[last]) / ((len(x) - 1 - last) * hop_s)
    end_list = falling if is_max[-1] else rising
    end_list.append(end)

    def ms(values, has_end):
        if not values:
            return 0.0, 0.0
        v = np.asarray(values, dtype=float)
        mean = float(v.mean())
        inner = v[:-1] if has_end else v
        return mean, float(np.sqrt(np.sum((inner - mean) ** 2) / len(v)))

    return (
        *ms(rising, end_list is rising),
        *ms(falling, end_list is falling),
        int(np.sum(is_max)),
    )


def _contour_functionals(prefix: str, x: np.ndarray, hop_s: float) -> dict[str, float]:
    out = dict.fromkeys([f"{prefix}_{f}" for f in _CONTOUR_FUNCS], np.nan)
    if len(x) == 0:
        return out
    mean, sdn = _mean_sdnorm(x)
    p20, p50, p80 = percentile(x, [20, 50, 80])
    rise_m, rise_s, fall_m, fall_s, _ = _slopes(x, hop_s)
    values = [mean, sdn, p20, p50, p80, p80 - p20, rise_m, rise_s, fall_m, fall_s]
    return {f"{prefix}_{f}": float(v) for f, v in zip(_CONTOUR_FUNCS, values, strict=True)}


def _full_frames(n: int, n_samples: int, length: int, hop: int) -> np.ndarray:
    """Grid frames whose ``length``-sample window lies entirely inside the signal."""
    k = np.arange(n)
    start = k * hop - length // 2
    return (start >= 0) & (start + length <= n_samples)


def _runs(mask: np.ndarray) -> np.ndarray:
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    return np.flatnonzero(np.diff(padded)).reshape(-1, 2)


# --- spectral LLDs ------------------------------------------------------------------------


def _band_slope_weights(freqs: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Weights w such that ``log10(P) @ w`` is eGeMAPS' slope (dB/Hz) of P over [lo, hi] Hz.

    openSMILE's band slope, found by probing it as a black box (its LLD is exactly linear in
    the log10 power spectrum; ``benchmarks/egemaps_slope_probe.py`` solves for its weights on
    random frames at 8-48 kHz and matches this to float precision): bin k counts with the
    fraction c_k of [k, k+1) bin widths inside the band, [lo, hi] in bin units (the first bin
    ``1 - frac(lo)``, the last ``frac(hi)`` or all of it when hi falls on it; 1 in between:
    at 16 kHz every bin counts fully, at 22.05 kHz the bin at 473.7 Hz counts 0.61 in 0-500
    and 0.39 in 500-1500). With L_k = 10 log10(P_k), the slope is
    ``(n S_fL - S_f S_L) / (n S_ff - S_f^2)``, where S_fL, S_f and S_L sum c_k f_k L_k,
    c_k f_k and c_k L_k, S_ff sums (c_k f_k)^2 (not c_k f_k^2) and n is one less than the
    band's bins (so the weights do not sum to 0 and the slope moves with the power scale: P
    must be on openSMILE's, the frame's own rate's). Being linear in log10(P), it is a fixed
    weight vector.
    """
    w = np.zeros(len(freqs))
    if len(freqs) < 2:
        return w
    df = float(freqs[1] - freqs[0])
    u_lo, u_hi = lo / df, hi / df
    i0, i1 = int(np.floor(u_lo)), min(int(np.floor(u_hi)), len(freqs) - 1)
    if i1 - i0 < 2:
        return w
    c = np.zeros(len(freqs))
    c[i0 : i1 + 1] = 1.0
    c[i0] = 1.0 - (u_lo - i0)
    if u_hi - i1 > 0.0 and i1 == int(np.floor(u_hi)):
        c[i1] = u_hi - i1
    n_ind = float(i1 - i0)
    x = c * freqs
    s_x, s_xx = x.sum(), np.sum(x * x)
    w = 10.0 * c * (n_ind * freqs - s_x) / (n_ind * s_xx - s_x * s_x)
    return w


# Unit convention: openSMILE's loudness is this factor times ours (median ratio 0.064-0.069 on
# LibriSpeech, PC-GITA and FSDD frames); applied so that values read on openSMILE's scale.
_LOUDNESS_SCALE = 0.066


def _equal_loudness(freqs: np.ndarray) -> np.ndarray:
    """Hermansky's (1990) PLP equal-loudness weighting."""
    w2 = (2.0 * np.pi * freqs) ** 2
    return (w2 + 56.8e6) * w2 * w2 / ((w2 + 6.3e6) ** 2 * (w2 + 0.38e9))


def _band_slopes(power: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """eGeMAPS' 0-500 and 500-1500 Hz spectral slopes (dB/Hz) per frame, ``(n_frames, 2)``."""
    # The slopes use bins up to 1.5 kHz only (their weights are 0 above); openSMILE floors
    # the power at 1e-14 before the log (a silent frame's slopes read 0.112 and 0.0764 at
    # 16 kHz, -14 times the weights' sums).
    b15 = np.searchsorted(freqs, 1500.0, side="right")
    logp = np.log10(np.maximum(power[:, :b15], _SLOPE_POWER_FLOOR))
    weights = np.column_stack(
        [_band_slope_weights(freqs, 0.0, 500.0), _band_slope_weights(freqs, 500.0, 1500.0)]
    )
    return logp @ weights[:b15]


_SLOPE_POWER_FLOOR = 1e-14


def _native_spectrum(y_native: np.ndarray, native_sr: int) -> tuple[np.ndarray, np.ndarray, int]:
    """eGeMAPS' 20 ms power spectra of a file on openSMILE's own frames at the file's rate.

    A file above the analysis rate is analysed at that rate, but openSMILE frames it at its
    own: 20 ms Hamming frames zero-padded to a power of two (441 samples in 512 at 22.05 kHz:
    43.07 Hz bins, not the 31.25 Hz of 16 kHz), with power on that rate's scale, starting every
    10 ms rounded half up (221 samples at 22.05 kHz: 10.023 ms), as many as fit in the signal.
    Taken from the signal before resampling, the spectra are openSMILE's (the resampler also
    removes the top mel band's 7.6-8 kHz: MFCC 1-4 of espeak-ng's 22.05 kHz voices were
    about 0.2-0.4 off frame by frame at 16 kHz, 0.002-0.005 here), and on its frames the
    MFCC means follow its own (a 10 ms grid samples a contour that swings by +-15 elsewhere:
    0.45 apart on one file). Bins above the first at or above 8 kHz (the highest frequency
    any eGeMAPS LLD reads) are not kept.

    Returns
    -------
    power : numpy.ndarray
        ``(n_frames, n_bins)`` power (|X|^2) at the native rate's bins.
    freqs : numpy.ndarray
        Their frequencies, Hz.
    step : int
        Frame step, samples at ``native_sr``.
    """
    length, n_fft, n_bins = _native_frame_layout(native_sr)
    step = int(0.010 * native_sr + 0.5)
    y32 = np.zeros(max(len(y_native), length), dtype=np.float32)
    y32[: len(y_native)] = y_native
    windows = np.lib.stride_tricks.sliding_window_view(y32, length)[::step]
    return _hamming_power(windows, n_fft, n_bins), np.arange(n_bins) * (native_sr / n_fft), step


def _native_frame_layout(native_sr: int) -> tuple[int, int, int]:
    """openSMILE's 20 ms frame at ``native_sr``: its length, its FFT size and the bins kept
    (up to the first at or above 8 kHz)."""
    length = int(round(0.020 * native_sr))
    n_fft = fft_length(length)
    return length, n_fft, min(int(np.ceil(8000.0 * n_fft / native_sr)) + 1, n_fft // 2 + 1)


def _hamming_power(windows: np.ndarray, n_fft: int, n_bins: int) -> np.ndarray:
    """Power (|X|^2) of the first ``n_bins`` bins of each row of ``windows``, Hamming-windowed
    and zero-padded to ``n_fft`` (single-precision FFT)."""
    length = windows.shape[1]
    frames = np.zeros((len(windows), n_fft), dtype=np.float32)
    np.multiply(windows, _hamming(length), out=frames[:, :length], casting="same_kind")
    return _power_of(scipy.fft.rfft(frames, axis=1).view(np.float32), n_bins)


def _native_grid_spectrum(
    y_native: np.ndarray, native_sr: int, sr: int, hop: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_native_spectrum`'s frames centred on the grid's ``n`` frames instead.

    Frame ``k`` is centred on the grid's time ``k hop / sr``, as the analysis-rate frames
    are, so that it meets the grid's voicing (for the V/UV functionals) where openSMILE's
    step is not the grid's (221 samples at 22.05 kHz: its frames drift 2.3 ms a second).

    Returns
    -------
    power : numpy.ndarray
        ``(n, n_bins)`` power (|X|^2) at the native rate's bins.
    freqs : numpy.ndarray
        Their frequencies, Hz.
    """
    length, n_fft, n_bins = _native_frame_layout(native_sr)
    centres = np.round(np.arange(n) * (hop * native_sr / sr)).astype(np.int64)
    starts = centres - length // 2 + length
    padded = np.zeros(len(y_native) + 2 * length + n_fft, dtype=np.float32)
    padded[length : length + len(y_native)] = y_native
    windows = np.lib.stride_tricks.sliding_window_view(padded, length)
    power = _hamming_power(windows[np.clip(starts, 0, len(windows) - 1)], n_fft, n_bins)
    return power, np.arange(n_bins) * (native_sr / n_fft)


def _spectral_llds(
    power: np.ndarray, freqs: np.ndarray, sr: int, loudness: bool = True
) -> dict[str, np.ndarray]:
    """The 20 ms spectral LLDs of each frame of ``power``; without the loudness when the caller
    does not use it (a file above 16 kHz reads its loudness from openSMILE's frames, not from
    the grid's)."""
    eps = 1e-12
    # freqs ascend, so every band is a contiguous slice of bins (no copies by masks).
    b1k, b2k = np.searchsorted(freqs, [1000.0, 2000.0])
    b5k = np.searchsorted(freqs, 5000.0, side="right")
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 10 * np.log10((power[:, b1k:b5k].sum(1) + eps) / (power[:, :b1k].sum(1) + eps))
        hamm = 10 * np.log10((power[:, :b2k].max(1) + eps) / (power[:, b2k:b5k].max(1) + eps))
    mag = np.sqrt(power[:, : np.searchsorted(freqs, 5000.0)])
    flux = np.zeros(len(power))
    if len(power) > 1:
        flux[1:] = np.sqrt(np.mean(np.diff(mag, axis=0) ** 2, axis=1))
    out = {"alphaRatio": alpha, "hammarbergIndex": hamm}
    slopes = _band_slopes(power, freqs)
    out["slope0-500"], out["slope500-1500"] = slopes[:, 0], slopes[:, 1]
    out["spectralFlux"] = flux
    if not loudness:
        return out
    # Loudness: mel band powers, equal-loudness weighted, cube-root compressed, summed
    # (openSMILE's cPlp with doAud=1, compression 0.33, then the L1 sum of the bands).
    fmax = min(8000.0, sr / 2.0)
    bank = _shared_filterbank(freqs, 26, 20.0, fmax)
    edges = np.linspace(hz_to_mel(20.0), hz_to_mel(fmax), 28)
    centres = 700.0 * np.expm1(edges[1:-1] / 1127.0)
    bands = np.maximum(power @ bank.T, 1e-8) * _equal_loudness(centres)
    out["loudness"] = _LOUDNESS_SCALE * np.sum(bands**0.33, axis=1)
    return out


# --- voice quality LLDs -------------------------------------------------------------------


def _period_marks(y: np.ndarray, sr: int, f0_frames: np.ndarray, hop: int, rel: float):
    """Glottal period marks (sub-sample positions) and peak-to-peak period amplitudes.

    Within each voiced run the first mark is the waveform maximum of the first period; each
    next mark is found by waveform matching: the lag within ``(1 +- rel)`` of the local
    period that maximises the normalised cross-correlation of the next period with the
    current one, refined by parabolic interpolation. Matching whole periods is insensitive to
    where within a period the maximum falls, which peak-picking is not (formant ringing from
    the previous pulse moves the maximum and inflates jitter).
    """
    marks_all, amps_all = [], []
    y = np.ascontiguousarray(y, dtype=np.float64)
    voiced = np.isfinite(f0_frames)
    for start, stop in _runs(voiced):
        a = max(int((start - 0.5) * hop), 0)
        b = min(int((stop - 0.5) * hop), len(y) - 1)
        if b - a < 3:
            continue
        f0_run = np.ascontiguousarray(f0_frames[start:stop], dtype=np.float64)
        frame_pos = (np.arange(start, stop) * hop).astype(np.float64)
        marks, amps, n = _run_marks(y, float(sr), a, b, frame_pos, f0_run, float(rel))
        if n >= 2:
            marks_all.append(marks[: n + 1])
            amps_all.append(amps[:n])
    return marks_all, amps_all


@numba.njit(cache=True)
def _run_marks(y, sr, a, b, frame_pos, f0_run, rel):  # pragma: no cover - JIT
    """Period marks of one voiced run (see :func:`_period_marks`); returns their count."""
    t0 = sr / np.interp(float(a), frame_pos, f0_run)
    end = min(a + int(t0) + 1, b)
    pos = a + int(np.argmax(y[a:end]))
    capacity = (b - a) // 2 + 2
    marks = np.empty(capacity)
    amps = np.empty(capacity)
    marks[0] = pos
    n = 0
    while n + 1 < capacity:
        t = sr / np.interp(float(pos), frame_pos, f0_run)
        length = int(round(t))
        lo = int(np.floor((1 - rel) * t))
        hi = int(np.ceil((1 + rel) * t))
        if pos + hi + length + 1 >= b or length < 4:
            break
        template = y[pos : pos + length]
        t_energy = 0.0
        for i in range(length):
            t_energy += template[i] * template[i]
        n_lags = hi - lo + 2
        cc = np.empty(n_lags)
        # Four lags at a time: eight independent sums (each still added in sample order, so
        # the same values as one lag at a time) keep the CPU's adders busy.
        blocked = n_lags - n_lags % 4
        for j in range(0, blocked, 4):
            s = pos + lo + j
            n0 = n1 = n2 = n3 = 0.0
            e0 = e1 = e2 = e3 = 0.0
            for i in range(length):
                t = template[i]
                v0, v1, v2, v3 = y[s + i], y[s + i + 1], y[s + i + 2], y[s + i + 3]
                n0 += v0 * t
                e0 += v0 * v0
                n1 += v1 * t
                e1 += v1 * v1
                n2 += v2 * t
                e2 += v2 * v2
                n3 += v3 * t
                e3 += v3 * v3
            cc[j] = _normalised(n0, e0, t_energy)
            cc[j + 1] = _normalised(n1, e1, t_energy)
            cc[j + 2] = _normalised(n2, e2, t_energy)
            cc[j + 3] = _normalised(n3, e3, t_energy)
        for j in range(blocked, n_lags):
            s = pos + lo + j
            num = 0.0
            energy = 0.0
            for i in range(length):
                num += y[s + i] * template[i]
                energy += y[s + i] * y[s + i]
            cc[j] = _normalised(num, energy, t_energy)
        k = int(np.argmax(cc))
        shift = 0.0
        if 0 < k < n_lags - 1:
            curve = cc[k - 1] - 2 * cc[k] + cc[k + 1]
            if curve < 0:
                shift = min(max(0.5 * (cc[k - 1] - cc[k + 1]) / curve, -0.5), 0.5)
        nxt = pos + lo + k
        seg = y[pos:nxt]
        amps[n] = seg.max() - seg.min()
        n += 1
        marks[n] = nxt + shift
        pos = nxt
    return marks, amps, n


@numba.njit(cache=True, inline="always")
def _normalised(num, energy, t_energy):  # pragma: no cover - JIT
    """Normalised cross-correlation from its sums (-1 where a window is silent)."""
    den = np.sqrt(energy * t_energy)
    return num / den if den > 0 else -1.0


# Praat's limits for period-perturbation measures: neighbouring periods differing by more
# than this factor (or amplitudes by more than _MAX_AMPLITUDE_FACTOR) are mark errors or
# voice breaks, not jitter or shimmer, and are left out.
_MAX_PERIOD_FACTOR = 1.3
_MAX_AMPLITUDE_FACTOR = 1.6


def _jitter_shimmer(
    marks_all, amps_all, n: int, hop: int, sr: int, window_s: float = 0.06
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame local jitter and shimmer (dB) from the periods in a window around the frame.

    Jitter = mean |T_i - T_i-1| / mean T; shimmer = mean |20 log10(A_i / A_i-1)|, over the
    valid neighbouring pairs of the periods starting within ``window_s`` around the frame
    (at least two pairs).
    """
    if not marks_all:
        return np.full(n, np.nan), np.full(n, np.nan)
    lengths = np.array([len(m) for m in marks_all], dtype=np.int64)
    return _jitter_shimmer_runs(
        np.concatenate(marks_all),
        np.concatenate(amps_all),
        np.concatenate([[0], np.cumsum(lengths)]),
        n,
        hop,
        0.5 * window_s * sr,
        _MAX_PERIOD_FACTOR,
        _MAX_AMPLITUDE_FACTOR,
    )


@numba.njit(cache=True, error_model="numpy")
def _jitter_shimmer_runs(
    marks, amps, offsets, n, hop, half, max_period_factor, max_amplitude_factor
):  # pragma: no cover - JIT
    """:func:`_jitter_shimmer` over runs stored end to end (run ``r``: marks
    ``offsets[r]:offsets[r + 1]``, amplitudes ``offsets[r] - r`` onwards, one fewer).

    Running sums (as ``numpy.cumsum``) give each window's totals; a later run overwrites the
    frames it shares with an earlier one.
    """
    jitter = np.full(n, np.nan)
    shimmer = np.full(n, np.nan)
    for r in range(len(offsets) - 1):
        mk = marks[offsets[r] : offsets[r + 1]]
        am = amps[offsets[r] - r : offsets[r + 1] - r - 1]
        n_per = len(mk) - 1
        c_per = np.zeros(n_per + 1)
        c_dper = np.zeros(n_per)
        c_damp = np.zeros(n_per)
        c_nt = np.zeros(n_per, dtype=np.int64)
        c_na = np.zeros(n_per, dtype=np.int64)
        for i in range(n_per):
            c_per[i + 1] = c_per[i] + (mk[i + 1] - mk[i])
        for i in range(n_per - 1):
            p0 = mk[i + 1] - mk[i]
            p1 = mk[i + 2] - mk[i + 1]
            ratio_t = max(p1, p0) / min(p1, p0)
            ratio_a = max(am[i + 1], am[i]) / min(am[i + 1], am[i])
            ok_t = ratio_t <= max_period_factor
            ok_a = ok_t and ratio_a <= max_amplitude_factor
            c_dper[i + 1] = c_dper[i] + (abs(p1 - p0) if ok_t else 0.0)
            c_damp[i + 1] = c_damp[i] + (20.0 * np.log10(ratio_a) if ok_a else 0.0)
            c_nt[i + 1] = c_nt[i] + ok_t
            c_na[i + 1] = c_na[i] + ok_a
        first, last = mk[0] - half, mk[n_per] + half
        lo = 0
        hi = 0
        for f in range(n):
            centre = f * hop
            if centre < first or centre > last:
                continue
            # Periods lo..hi-1 start within the window (numpy.searchsorted, side left).
            while lo < n_per and mk[lo] < centre - half:
                lo += 1
            while hi < n_per and mk[hi] < centre + half:
                hi += 1
            if hi - lo < 3:
                continue
            # Pairs (i-1, i) for i in lo+1..hi-1 are entries lo..hi-2 of the pair sums.
            n_t = c_nt[hi - 1] - c_nt[lo]
            n_a = c_na[hi - 1] - c_na[lo]
            mean_t = (c_per[hi] - c_per[lo]) / (hi - lo)
            jitter[f] = (c_dper[hi - 1] - c_dper[lo]) / n_t / mean_t if n_t >= 2 else np.nan
            shimmer[f] = (c_damp[hi - 1] - c_damp[lo]) / n_a if n_a >= 2 else np.nan
    return jitter, shimmer


_MAX_BANDWIDTH_HZ = 700.0


def resonance_formants(y: np.ndarray, sr: int, hop: int, frames_idx: np.ndarray):
    """F1-F3 frequency and bandwidth (Hz) that follow a vowel's resonances.

    Order-11 autocorrelation LPC of 20 ms Hamming frames of the signal resampled to 11 kHz
    and pre-emphasised from 50 Hz, roots 50-5450 Hz narrower than 700 Hz: synthetic vowels'
    F1-F3 within 10 %. Not what eGeMAPS' formant columns hold (those reproduce openSMILE's
    formant LLD, which does not follow the resonances: :func:`_opensmile_formants`); kept
    for analyses that need the vowel's formants.

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal.
    sr : int
        Its rate, Hz.
    hop : int
        Grid hop, samples.
    frames_idx : numpy.ndarray of int
        Grid frames to analyse (frame ``i`` centred on sample ``i * hop``).

    Returns
    -------
    freqs, bandwidths : numpy.ndarray, shape (len(frames_idx), 3)
        NaN where a frame has no energy or fewer than three such roots.
    """
    n_out = len(frames_idx)
    freqs = np.full((n_out, 3), np.nan)
    bws = np.full((n_out, 3), np.nan)
    if n_out == 0:
        return freqs, bws
    lpc_sr = 11000
    y11 = resample(y, sr, lpc_sr)
    # Pre-emphasis from 50 Hz (as Praat): flattens the glottal tilt that otherwise pulls a
    # spurious wide root below F2.
    y11 = np.append(y11[0], y11[1:] - np.exp(-2 * np.pi * 50.0 / lpc_sr) * y11[:-1])
    hop11 = hop * lpc_sr / sr
    length = int(round(0.020 * lpc_sr))
    win = np.hamming(length)
    # Frames centred on the same times as the grid frames.
    half = length // 2
    padded = np.pad(y11, (half, length))
    starts = np.round(frames_idx * hop11).astype(np.int64)
    order = 11
    a, good = _lpc_by_frame(padded, starts, win, order)
    # The eigenvalues of the companion matrices, as numpy.roots, by a batched kernel. Roots
    # wider than _MAX_BANDWIDTH_HZ model spectral tilt, not resonances.
    freqs[good], bws[good] = _lowest_three_roots(
        monic_roots(a[good, 1:]), lpc_sr, _MAX_BANDWIDTH_HZ
    )
    return freqs, bws


def _lowest_three_roots(roots: np.ndarray, rate: float, max_bandwidth: float = np.inf):
    """Frequencies and bandwidths (Hz) of each row's three lowest roots in the upper half
    plane between 50 and 5450 Hz (and narrower than ``max_bandwidth``), NaN where a row has
    fewer."""
    ang = np.angle(roots)
    f = ang * rate / (2 * np.pi)
    bw = -np.log(np.maximum(np.abs(roots), 1e-12)) * rate / np.pi
    keep = (ang > 0) & (f > 50.0) & (f < 5450.0) & (bw < max_bandwidth)
    f = np.where(keep, f, np.inf)
    order_idx = np.argsort(f, axis=1)[:, :3]
    f_sorted = np.take_along_axis(f, order_idx, axis=1)
    bw_sorted = np.take_along_axis(bw, order_idx, axis=1)
    f_sorted[~np.isfinite(f_sorted)] = np.nan
    bw_sorted[np.isnan(f_sorted)] = np.nan
    return f_sorted.real, bw_sorted.real


# openSMILE's eGeMAPS formant LLD, measured as a black box on its intermediate levels
# (benchmarks/egemaps_formant_probe.py; frame-level r >= 0.99 on real speech). Its spectral
# resampling of the 20 ms Hamming frame to 11 kHz keeps only the first N'/2 = 110 bins of
# the zero-padded power-of-two FFT (3.4 kHz at 16 kHz input, not 5.5 kHz), synthesises the
# 220 output samples from (n_fft - length) // 2 input samples before the frame's start, and
# counts the DC bin twice; the formants are then the roots of 1 - sum a_k z^-k, where cLpc's
# coefficients a_k belong to 1 + sum a_k z^-k. psymodal computes the same frame, LPC and roots.
_OS_LPC_RATE = 11000
_OS_LPC_LENGTH = 220  # samples of the resampled frame (20 ms at 11 kHz)


@functools.lru_cache(maxsize=8)
def _opensmile_lpc_frame_matrix(length: int, sr: int, native_sr: int) -> np.ndarray:
    """Matrix taking a raw ``length``-sample frame to openSMILE's resampled LPC input frame.

    Hamming window, zero-padded FFT, the kept bins and the synthesis at 11 kHz are all
    linear, so one ``(length, 220)`` product does them (read-only, made once per rate).
    openSMILE analyses a file at its own rate ``native_sr``: the kept bins and the time
    offset are those of its frame at that rate (exactly its computation when ``sr`` is
    ``native_sr``; for a file resampled to ``sr``, the same frequencies read from the
    resampled frame).
    """
    native_length = int(round(0.020 * native_sr))
    n_fft = fft_length(native_length)
    hz = np.arange(min(_OS_LPC_LENGTH // 2, n_fft // 2 + 1)) * native_sr / n_fft
    hz = hz[hz < sr / 2.0]
    t = np.arange(_OS_LPC_LENGTH) / _OS_LPC_RATE - (n_fft - native_length) // 2 / native_sr
    m = np.arange(length) / sr
    # 2 / n_fft * Re(sum_k X_k exp(2 pi i f_k t)), X_k = sum_m w_m exp(-2 pi i f_k m); the
    # overall scale (native_sr / sr) leaves the LPC unchanged.
    analysis = np.exp(-2j * np.pi * np.outer(m, hz))
    synthesis = np.exp(2j * np.pi * np.outer(hz, t))
    matrix = 2.0 / n_fft * (analysis @ synthesis).real
    matrix *= np.hamming(length)[:, None]
    matrix.flags.writeable = False
    return matrix


# Harmonics within these multiples of a formant's frequency give its amplitude.
_AMPLITUDE_SPAN = (0.8, 1.2)

# openSMILE's formant amplitude (dB re H1) in frames without F0.
_UNVOICED_AMPLITUDE_DB = -201.0


def _opensmile_formants(
    y: np.ndarray, sr: int, hop: int, frames_idx: np.ndarray, native_sr: int | None = None
):
    """F1-F3 frequency and bandwidth (Hz) as openSMILE's eGeMAPS LLD computes them.

    20 ms frames on the grid (the frames of the spectral LLDs), resampled as openSMILE's
    ``cSpecResample`` does, order-11 autocorrelation LPC (``cLpc``), then the roots that
    ``cFormantLpc`` reports: those of the sign-flipped predictor, 50-5450 Hz, upper half plane,
    by frequency, no bandwidth limit (bandwidths of roots outside the unit circle are
    negative, as openSMILE's). These do not follow a vowel's resonances (see
    ``docs/egemaps_fidelity.md``); they reproduce openSMILE's values.
    """
    n_out = len(frames_idx)
    freqs = np.full((n_out, 3), np.nan)
    bws = np.full((n_out, 3), np.nan)
    if n_out == 0:
        return freqs, bws
    length = int(round(0.020 * sr))
    frames = frame_signal(y, length, hop)[frames_idx]
    lpc_in = frames @ _opensmile_lpc_frame_matrix(length, sr, int(native_sr or sr))
    order = 11
    starts = np.arange(n_out, dtype=np.int64) * _OS_LPC_LENGTH
    a, good = _lpc_by_frame(lpc_in.ravel(), starts, np.ones(_OS_LPC_LENGTH), order)
    freqs[good], bws[good] = _lowest_three_roots(monic_roots(-a[good, 1:]), _OS_LPC_RATE)
    return freqs, bws


@numba.njit(cache=True)
def _lpc_by_frame(padded, starts, win, order):  # pragma: no cover - JIT
    """Autocorrelation LPC of each windowed frame (Levinson-Durbin), one pass per frame.

    Returns the predictor polynomials ``a`` (rows ``1, a_1 .. a_order``) and whether the
    frame has energy (rows without it are left at ``1, 0, ..``).
    """
    n = len(starts)
    length = len(win)
    a = np.zeros((n, order + 1))
    good = np.zeros(n, dtype=np.bool_)
    frame = np.empty(length)
    r = np.empty(order + 1)
    prev = np.empty(order + 1)
    for i in range(n):
        for j in range(length):
            frame[j] = padded[starts[i] + j] * win[j]
        # Autocorrelation at lags 0..order only: direct sums, four lags at a time.
        blocked = (order + 1) - (order + 1) % 4
        for k in range(0, blocked, 4):
            _four_lags(frame, k, r)
        for k in range(blocked, order + 1):
            acc = 0.0
            for j in range(length - k):
                acc += frame[j] * frame[j + k]
            r[k] = acc
        a[i, 0] = 1.0
        err = r[0]
        good[i] = err > 1e-12
        if not good[i]:
            continue
        for m in range(1, order + 1):
            acc = r[m]
            for j in range(1, m):
                acc += a[i, j] * r[m - j]
            k = -acc / err
            for j in range(1, m):
                prev[j] = a[i, j]
            for j in range(1, m):
                a[i, j] = prev[j] + k * prev[m - j]
            a[i, m] = k
            err = err * (1.0 - k * k)
            if not err > 1e-15:
                err = 1e-15
    return a, good


@numba.njit(cache=True, inline="always")
def _four_lags(frame, k, r):  # pragma: no cover - JIT
    """``r[k + m] = sum_j frame[j] frame[j + k + m]``, m = 0..3: four independent sums in
    one pass (each added in the order of its own loop, so the values of four loops)."""
    common = max(len(frame) - k - 3, 0)
    a0 = a1 = a2 = a3 = 0.0
    for j in range(common):
        x = frame[j]
        a0 += x * frame[j + k]
        a1 += x * frame[j + k + 1]
        a2 += x * frame[j + k + 2]
        a3 += x * frame[j + k + 3]
    for j in range(common, len(frame) - k):
        a0 += frame[j] * frame[j + k]
    for j in range(common, len(frame) - k - 1):
        a1 += frame[j] * frame[j + k + 1]
    for j in range(common, len(frame) - k - 2):
        a2 += frame[j] * frame[j + k + 2]
    r[k], r[k + 1], r[k + 2], r[k + 3] = a0, a1, a2, a3


@numba.njit(cache=True)
def _acf_at_lags(frames, lags):  # pragma: no cover - JIT
    """Linear autocorrelation of each frame (row) at its 5 lags, and at lag 0 (energy)."""
    n = frames.shape[0]
    out = np.empty((n, 5))
    energy = np.empty(n)
    for i in range(n):
        energy[i] = _acf_of_row(frames[i], lags[i], out[i])
    return out, energy


@numba.njit(cache=True)
def _windowed_acf_at_lags(centred, starts, window, lags):  # pragma: no cover - JIT
    """:func:`_acf_at_lags` of the frames ``centred[start:start + len(window)] * window``,
    windowed one at a time into a buffer (the same products as forming all the frames)."""
    n = len(starts)
    out = np.empty((n, 5))
    energy = np.empty(n)
    frame = np.empty(len(window))
    for i in range(n):
        s = starts[i]
        for j in range(len(window)):
            frame[j] = centred[s + j] * window[j]
        energy[i] = _acf_of_row(frame, lags[i], out[i])
    return out, energy


@numba.njit(cache=True, inline="always")
def _acf_of_row(frame, lags, out):  # pragma: no cover - JIT
    """Autocorrelation of one frame at its 5 ``lags`` into ``out``; returns its energy.

    One pass over the frame feeds the six sums as independent scalars (the CPU overlaps
    them), each summing its own terms in order, as six separate passes would; then each
    sum takes its remaining terms.
    """
    length = len(frame)
    k0, k1, k2, k3, k4 = lags[0], lags[1], lags[2], lags[3], lags[4]
    shortest = length - max(max(max(k0, k1), max(k2, k3)), k4)
    e = a0 = a1 = a2 = a3 = a4 = 0.0
    for j in range(shortest):
        x = frame[j]
        e += x * x
        a0 += x * frame[j + k0]
        a1 += x * frame[j + k1]
        a2 += x * frame[j + k2]
        a3 += x * frame[j + k3]
        a4 += x * frame[j + k4]
    for j in range(shortest, length):
        e += frame[j] * frame[j]
    for j in range(shortest, length - k0):
        a0 += frame[j] * frame[j + k0]
    for j in range(shortest, length - k1):
        a1 += frame[j] * frame[j + k1]
    for j in range(shortest, length - k2):
        a2 += frame[j] * frame[j + k2]
    for j in range(shortest, length - k3):
        a3 += frame[j] * frame[j + k3]
    for j in range(shortest, length - k4):
        a4 += frame[j] * frame[j + k4]
    out[0], out[1], out[2], out[3], out[4] = a0, a1, a2, a3, a4
    return e


@numba.njit(cache=True)
def _max_magnitude_in_bins(spec, lo, hi):  # pragma: no cover - JIT
    """Per row ``i``, the largest ``|spec[i, j]|`` for ``j`` in ``lo[i]..hi[i]``.

    Only the bins searched get a magnitude: the square root of the largest power, which is
    the largest of the square roots.
    """
    out = np.empty(len(lo))
    for i in range(len(lo)):
        z = spec[i, lo[i]]
        best = z.real * z.real + z.imag * z.imag
        for j in range(lo[i] + 1, hi[i] + 1):
            z = spec[i, j]
            power = z.real * z.real + z.imag * z.imag
            if power > best:
                best = power
        out[i] = np.sqrt(best)
    return out


@functools.lru_cache(maxsize=8)
def _gaussian_window(length: int) -> np.ndarray:
    """openSMILE's Gaussian window of the 60 ms frames: sigma = 0.4 of the half-length
    (read-only, made once per length)."""
    t = (np.arange(length) - (length - 1) / 2) / (0.4 * (length - 1) / 2)
    window = np.exp(-0.5 * t * t)
    window.flags.writeable = False
    return window


def _harmonic_llds(
    y: np.ndarray,
    sr: int,
    hop: int,
    f0: np.ndarray,
    idx: np.ndarray,
    formants: np.ndarray,
    spectra: tuple | None = None,
) -> dict[str, np.ndarray]:
    """HNR (ACF, dB), H1-H2, H1-A3 and formant amplitudes relative to H1, per voiced frame
    (``spectra``: ``(frames, complex spectra)`` of frames already transformed, reused where
    they hold all of ``idx``)."""
    n = len(idx)
    keys = ["hnr", "h1h2", "h1a3", "a1", "a2", "a3", "h1h2_paper", "h1a3_paper"]
    out = {k: np.full(n, np.nan) for k in keys}
    if n == 0:
        return out
    length = int(round(0.060 * sr))
    n_fft = fft_length(length)
    window = _gaussian_window(length)
    centred = centred_padding(y, length)  # frame k starts k hops into it
    starts = np.asarray(idx, dtype=np.int64) * int(hop)
    f0v = f0[idx]
    lag = sr / f0v
    lags = np.clip(np.round(lag).astype(int)[:, None] + np.arange(-2, 3)[None, :], 1, length - 1)
    # The linear autocorrelation at the 5 lags around the period, summed directly: 6 dot
    # products per frame instead of a 2 n_fft-point FFT pair, on frames windowed one at a
    # time (no array of all the windowed frames).
    acf, energy = _windowed_acf_at_lags(centred, starts, window, np.ascontiguousarray(lags))
    r = acf.max(axis=1) / np.maximum(energy, 1e-20)
    r = np.clip(r, 1e-4, 1 - 1e-4)
    out["hnr"] = 10.0 * np.log10(r / (1.0 - r))
    # Harmonic magnitudes: spectral maximum within +-0.5 F0 of k F0 on an n_fft-point grid.
    # Single precision (half the FFT's cost): the levels are read in dB, to about 1e-6 dB.
    spec = None
    if spectra is not None and len(spectra[0]) and spectra[1].shape[1] == n_fft // 2 + 1:
        rows = np.minimum(np.searchsorted(spectra[0], idx), len(spectra[0]) - 1)
        if np.array_equal(spectra[0][rows], idx):
            spec = spectra[1][rows]  # the same float32 frames' FFT, computed for SHS
    if spec is None:
        # The same float32 frames (framed, windowed and padded in one pass, as SHS frames them).
        spec = scipy.fft.rfft(_windowed_frames(centred, starts, window, n_fft), axis=1)
    bin_hz = sr / n_fft
    n_bins = spec.shape[1]

    def harmonic_amp(centre_hz, width_hz):
        lo = np.clip(np.floor((centre_hz - width_hz) / bin_hz).astype(int), 0, n_bins - 1)
        hi = np.clip(np.ceil((centre_hz + width_hz) / bin_hz).astype(int), 0, n_bins - 1)
        return _max_magnitude_in_bins(spec, lo, hi)

    with np.errstate(divide="ignore", invalid="ignore"):
        h1 = harmonic_amp(f0v, 0.5 * f0v)
        # openSMILE's "H1-H2" and "H1-A3" read the 2nd and 3rd harmonics and the 2nd, not the
        # 1st and 2nd and the 1st: on harmonic complexes (amplitudes a1, a2, a3, ...) its
        # H1-H2 is 20 log10(a2 / a3) whatever a1, and its H1-A3 follows 20 log10(a2) - A3
        # (benchmarks/egemaps_harmonics_probe.py). The columns named after them follow it.
        h2 = harmonic_amp(2 * f0v, 0.5 * f0v)
        h3 = harmonic_amp(3 * f0v, 0.5 * f0v)
        out["h1h2"] = 20 * np.log10(h2 / h3)
        out["h1h2_paper"] = 20 * np.log10(h1 / h2)
        for k in range(3):
            fk = formants[:, k]
            f = np.where(np.isfinite(fk), fk, f0v)
            # The strongest harmonic within +-20 % of the formant, relative to H1: openSMILE's
            # amplitude, measured as a black box (frame r 0.99 / 0.98 / 1.00 for F1-F3 given
            # its F0, formants and spectrum; the nearest harmonic gave 0.97 / 0.91 / 0.88).
            # The harmonics' +-F0/2 windows tile, so their maximum is one spectral maximum.
            first = np.maximum(np.ceil(_AMPLITUDE_SPAN[0] * f / f0v), 1)
            last = np.floor(_AMPLITUDE_SPAN[1] * f / f0v)
            nearest = np.maximum(np.round(f / f0v), 1)
            empty = last < first  # no harmonic in the span: the nearest one
            first, last = np.where(empty, nearest, first), np.where(empty, nearest, last)
            ak = harmonic_amp(0.5 * (first + last) * f0v, (0.5 * (last - first) + 0.5) * f0v)
            rel = 20 * np.log10(ak / h1)
            out[f"a{k + 1}"] = np.where(np.isfinite(fk), rel, np.nan)
        out["h1a3"] = 20 * np.log10(h2 / h1) - out["a3"]
        out["h1a3_paper"] = -out["a3"]
    return out


# --- main ---------------------------------------------------------------------------------


def _energy_gate(y: np.ndarray, sr: int, hop: int, n: int, floor: float) -> np.ndarray:
    """Frames whose Gaussian-windowed 60 ms RMS reaches ``floor`` (all frames if 0)."""
    if floor <= 0:
        return np.ones(n, dtype=bool)
    length = int(round(0.060 * sr))
    energy = _windowed_energy(frame_signal(y, length, hop)[:n], _gaussian_window(length))
    return np.sqrt(energy / length) >= floor


@numba.njit(cache=True)
def _windowed_energy(frames, window):  # pragma: no cover - JIT
    """Energy of each frame times ``window`` (without forming the windowed frames)."""
    n, length = frames.shape
    out = np.empty(n)
    # Four frames at a time: four independent sums, each in sample order (the same values).
    blocked = n - n % 4
    for i in range(0, blocked, 4):
        a0 = a1 = a2 = a3 = 0.0
        for j in range(length):
            w = window[j]
            x0 = frames[i, j] * w
            x1 = frames[i + 1, j] * w
            x2 = frames[i + 2, j] * w
            x3 = frames[i + 3, j] * w
            a0 += x0 * x0
            a1 += x1 * x1
            a2 += x2 * x2
            a3 += x3 * x3
        out[i], out[i + 1], out[i + 2], out[i + 3] = a0, a1, a2, a3
    for i in range(blocked, n):
        acc = 0.0
        for j in range(length):
            x = frames[i, j] * window[j]
            acc += x * x
        out[i] = acc
    return out


def _egemaps_f0(
    y: np.ndarray,
    sr: float,
    hop: int,
    pitch: PitchTrack | None,
    n: int,
    cfg: dict,
    native_sr=None,
    shs_source: tuple[np.ndarray, int] | None = None,
):
    """F0 (Hz, NaN = unvoiced) for the eGeMAPS functionals, voiced as openSMILE voices.

    openSMILE's eGeMAPS takes its pitch tracker's voicing and zeroes F0 only where the
    Gaussian-windowed 60 ms RMS is below 0.001 (``energy_floor_rms``); it applies no
    speech-activity gate. The tracker's own voicing (``pitch.periodic_f0``) is therefore used,
    not the voicing of the prosody features, which is gated by the VAD and cleaned up.

    With ``pitch_method`` ``opensmile_shs`` (the default) both returned arrays are
    openSMILE's SHS F0 (:func:`_opensmile_f0`). With ``yin``: the tracker's F0 so gated and
    bridged (for the voice-quality LLDs), and the same with the frames that
    :func:`_voice_periodic_frames` adds (the two are the same array when it adds none). The
    third value is the SHS frames' spectra for :func:`_harmonic_llds` (or ``None``).
    """
    loud = _energy_gate(y, sr, hop, n, float(cfg.get("energy_floor_rms") or 0.0))
    if cfg["pitch_method"] == "opensmile_shs":
        # openSMILE's F0 for every eGeMAPS LLD, the voice-quality ones included (tuning
        # half: median r 0.969 with those on the YIN tracker's voicing, 0.983 on this).
        cutoff = float(cfg["shs_voicing_cutoff"])
        shs_f0, spectra = _opensmile_f0(y, sr, hop, loud, cutoff, native_sr, shs_source)
        return shs_f0, shs_f0, spectra
    f0 = pitch.periodic_f0 if pitch.periodic_f0 is not None else pitch.f0
    f0 = np.asarray(f0[:n], dtype=float)
    bridge = int(cfg["voicing_bridge_frames"])
    tracked = _bridge_voicing_gaps(np.where(loud & np.isfinite(f0), f0, np.nan), bridge)
    extended = _voice_periodic_frames(
        f0,
        pitch,
        n,
        float(cfg["voicing_aperiodicity"]),
        _shs_gate(y, sr, hop, loud, float(cfg["shs_harmonicity"])),
    )
    if extended is f0:
        return tracked, tracked, None
    extended = np.where(loud & np.isfinite(extended), extended, np.nan)
    return tracked, _bridge_voicing_gaps(extended, bridge), None


# openSMILE's Viterbi smoother (cPitchSmootherViterbi), as measured on its exported levels
# (benchmarks/egemaps_pitch_probe.py): after it, no voiced run of 1 frame and few of 2 are
# left (of the best candidate's voicing >= the cutoff), and most 1-frame gaps between voiced
# runs are voiced; otherwise it keeps the best candidate's voicing and pitch (99 % of frames).
# Dropping runs of <= 2 frames and then voicing 1-frame gaps reproduces its voiced frames in
# 99.4 % of frames (median over the probe's files) and its number of voiced runs (261 vs 263;
# the best candidate's voicing alone: 98.0 % and 380 runs).
_SHS_MAX_BLIP = 2
_SHS_MAX_GAP = 1


def _opensmile_f0(
    y: np.ndarray,
    sr: float,
    hop: int,
    loud: np.ndarray,
    cutoff: float,
    native_sr=None,
    shs_source: tuple[np.ndarray, int] | None = None,
):
    """openSMILE's SHS F0 (Hz, NaN = unvoiced) on the grid.

    Its best candidate (:func:`psymodal.speech.shs.opensmile_pitch` on the 60 ms Gaussian
    frames; frame k of the grid is centred where openSMILE's frame k - 3, which starts k - 3
    hops in, is) where the voicing probability reaches ``cutoff``; voiced runs of at most
    ``_SHS_MAX_BLIP`` frames unvoiced and gaps of at most ``_SHS_MAX_GAP`` voiced, as
    openSMILE's Viterbi smoother leaves them; then only ``loud`` frames keep their F0
    (openSMILE zeroes F0 below its energy floor after smoothing). The frames within 3 of a
    loud one are analysed, all the smoother model reads.

    ``shs_source`` (``(signal, rate)``): the SHS reads openSMILE's own frames of that signal,
    grid frame ``k`` its frame ``k - 3`` (a grid on openSMILE's steps: :func:`_on_opensmile_steps`).

    Returns that F0 and ``(frames, complex spectra)`` of the analysed frames, for the harmonic
    levels to reuse (``None`` when their FFT size differs: a file resampled down).
    """
    n = len(loud)
    f0 = np.full(n, np.nan)
    voicing = np.zeros(n)
    # openSMILE's smoother reads every frame and its energy gate comes after it: a quiet frame
    # inside a voiced run keeps the run's loud frames voiced (LibriSpeech 1089-134691-0001:
    # 3 of its 4 frames psymodal left unvoiced). The model reaches 3 frames (a run of <= 2
    # dropped, then a 1-frame gap), so the frames within 3 of a loud one decide it exactly.
    reach = _SHS_MAX_BLIP + _SHS_MAX_GAP
    near = loud.copy()
    for shift in range(1, reach + 1):
        near[shift:] |= loud[:-shift]
        near[:-shift] |= loud[shift:]
    idx = np.flatnonzero(near)
    if shs_source is not None:
        # A 60 ms frame spans 6 steps: openSMILE's frame k - 3 is centred on grid frame k.
        f0[idx], voicing[idx] = opensmile_pitch_on_steps(*shs_source, idx - 3)
        spec = None
    else:
        f0[idx], voicing[idx], spec = opensmile_pitch_of_signal(y, sr, hop, idx, native_sr)
    voiced = voicing >= cutoff
    for a, b in _runs(voiced):
        if b - a <= _SHS_MAX_BLIP:
            voiced[a:b] = False
    for a, b in _runs(~voiced):
        if 0 < a and b < n and b - a <= _SHS_MAX_GAP:
            voiced[a:b] = True
    voiced &= loud
    out = np.where(voiced, f0, np.nan)
    # A bridged frame without a pitch candidate takes its neighbours' (log-interpolated).
    missing = voiced & ~np.isfinite(out)
    if missing.any():
        known = np.flatnonzero(np.isfinite(out))
        if len(known):
            out[missing] = np.exp(np.interp(np.flatnonzero(missing), known, np.log(out[known])))
    return out, (None if spec is None else (idx, spec))


_MIN_EXTRA_RUN = 3


def _shs_gate(y: np.ndarray, sr: int, hop: int, loud: np.ndarray, threshold: float):
    """A function marking the frames (of those given) whose SHS harmonicity exceeds
    ``threshold`` (:func:`psymodal.speech.shs.shs_pitch` on eGeMAPS' 60 ms Gaussian frames)
    and returning SHS's pitch there, or None when ``threshold`` is 0. Only ``loud`` frames
    are analysed (the others stay unvoiced anyway), and only the candidate frames asked for.
    """
    if threshold <= 0:
        return None
    length = int(round(0.060 * sr))

    def gate(frames_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        frames_idx = frames_idx[loud[frames_idx]]
        out = np.zeros(len(loud), dtype=bool)
        f0 = np.full(len(loud), np.nan)
        if len(frames_idx):
            frames = frame_signal(y, length, hop)[frames_idx] * _gaussian_window(length)
            f0[frames_idx], harmonicity = shs_pitch(frames, sr)
            out[frames_idx] = harmonicity > threshold
        return out, f0

    return gate


def _voice_periodic_frames(
    f0: np.ndarray, pitch: PitchTrack, n: int, threshold: float, shs_gate=None
):
    """``f0`` with the tracker's unvoiced frames voiced where YIN's aperiodicity < threshold
    (and, with ``shs_gate``, where subharmonic summation finds a clear pitch).

    openSMILE's subharmonic-summation tracker voices frames that YIN finds only moderately
    periodic (creaky, breathy and low voices); those frames take SHS's pitch (YIN's first F0
    candidate without ``shs_gate``).
    """
    if threshold <= 0 or pitch.candidate is None:
        return f0
    candidate = np.asarray(pitch.candidate[:n], dtype=float)
    voiced = np.isfinite(f0)
    extra = ~voiced & np.isfinite(candidate) & (pitch.aperiodicity[:n] < threshold)
    _drop_blips(extra, voiced)
    shs_f0 = None
    if shs_gate is not None and extra.any():
        ok, shs_f0 = shs_gate(np.flatnonzero(extra))
        extra &= ok
        _drop_blips(extra, voiced)
    if not extra.any():
        return f0
    if shs_f0 is not None:
        # SHS's own pitch: YIN's first candidate in frames YIN rejects is often an octave
        # off (tuning half, F0 percentile 20: r 0.92 with it, 0.94 with SHS's; median r
        # over all 88: 0.833 with it, 0.854 with SHS's).
        candidate = shs_f0
        _drop_pitch_jumps(extra, voiced, f0, candidate)
        _drop_blips(extra, voiced)
        if not extra.any():
            return f0
    out = np.where(extra, candidate, f0)
    return out


# An added frame whose pitch is this far (octaves) from the tracked F0 next to it is a
# harmonic or subharmonic picked by SHS's argmax (e.g. the 4th harmonic in a decaying vowel
# tail); openSMILE's Viterbi smoother, whose transitions cost pitch jumps, does not make it.
_MAX_JUMP_OCTAVES = 0.5


def _drop_pitch_jumps(extra, voiced, f0, candidate) -> None:
    """Unmark (in place) the ``extra`` frames of a voiced stretch whose ``candidate`` pitch
    lies more than ``_MAX_JUMP_OCTAVES`` from the ``f0`` of the nearest tracked frame of that
    stretch (stretches without tracked frames are left as they are)."""
    for a, b in _runs(voiced | extra):
        tracked = np.flatnonzero(voiced[a:b]) + a
        added = np.flatnonzero(extra[a:b]) + a
        if len(tracked) == 0 or len(added) == 0:
            continue
        pos = np.searchsorted(tracked, added)
        left = tracked[np.maximum(pos - 1, 0)]
        right = tracked[np.minimum(pos, len(tracked) - 1)]
        nearest = np.where(np.abs(added - left) <= np.abs(right - added), left, right)
        with np.errstate(invalid="ignore", divide="ignore"):
            jump = np.abs(np.log2(candidate[added] / f0[nearest]))
        extra[added[~(jump <= _MAX_JUMP_OCTAVES)]] = False


def _drop_blips(extra: np.ndarray, voiced: np.ndarray) -> None:
    """Unmark (in place) the ``extra`` frames in runs shorter than ``_MIN_EXTRA_RUN`` that touch
    no ``voiced`` frame: a tracker with transition costs, as openSMILE's, does not voice such
    a blip. Dropping frames only shortens runs, so applying it before a further selection
    (the SHS gate, which then analyses fewer frames) and after gives the same frames."""
    for a, b in _runs(voiced | extra):
        if b - a < _MIN_EXTRA_RUN and not voiced[a:b].any():
            extra[a:b] = False


def _bridge_voicing_gaps(f0: np.ndarray, max_gap: int) -> np.ndarray:
    """Voice unvoiced gaps of at most ``max_gap`` frames between two voiced runs.

    openSMILE's Viterbi-smoothed subharmonic-summation tracker rarely breaks a voiced stretch
    for a frame or two; YIN does (creaky or breathy periods), which splits one voiced segment
    into several. The bridged frames take F0 interpolated in log frequency.
    """
    voiced = np.isfinite(f0)
    if max_gap <= 0 or voiced.sum() < 2:
        return f0
    f0 = f0.copy()
    idx = np.flatnonzero(voiced)
    log_f0 = np.log(f0[idx])
    for a, b in _runs(~voiced):
        if a > 0 and b < len(f0) and b - a <= max_gap:
            f0[a:b] = np.exp(np.interp(np.arange(a, b), idx, log_f0))
    return f0


def _same_step(step: int, native_sr: int, hop: int, sr: float) -> bool:
    """Whether ``step`` samples at ``native_sr`` last as long as ``hop`` at ``sr``."""
    return abs(step * sr - hop * native_sr) <= 1e-9 * hop * native_sr


def _on_opensmile_steps(
    native_y: np.ndarray, native_sr: int, sr: int, hop: int, cfg: dict
) -> tuple[np.ndarray, float] | None:
    """The recording at the rate where ``hop`` samples last one openSMILE frame step at
    ``native_sr``, and that rate; None where the grid already steps as openSMILE does.

    openSMILE steps its frames by 10 ms rounded half up at the file's rate: 221 samples at
    22.05 kHz, 10.023 ms, so its frames drift 2.3 ms a second from a 10 ms grid and no grid
    frame meets its frame of the same index for long. At ``native_sr * hop / step`` (15,963.8 Hz
    from 22.05 kHz) the grid's frame ``k`` is centred where openSMILE's frame ``k - 3`` is,
    for every eGeMAPS LLD (F0, voicing, formants, HNR, jitter, shimmer and harmonics; the 20 ms
    spectra are read on openSMILE's frames of ``native_y`` as they are everywhere, and so are
    the 60 ms spectra of the SHS pitch: :func:`psymodal.speech.shs.opensmile_pitch_on_steps`).
    Frequencies stay true: the analysis takes that rate as it is. ``pitch_method: yin`` stays
    on the grid, which its tracker shares with the other speech features.
    """
    step = int(0.010 * native_sr + 0.5)
    if cfg["pitch_method"] != "opensmile_shs" or _same_step(step, native_sr, hop, sr):
        return None
    rate = native_sr * hop / step
    return resample(native_y, native_sr, rate), rate


def extract_egemaps(
    y: np.ndarray,
    sr: int,
    hop: int,
    pitch: PitchTrack,
    settings: dict | None = None,
    native_sr: int | None = None,
    spectrum: tuple[np.ndarray, ...] | None = None,
    native_y: np.ndarray | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """The 88 eGeMAPS v02 functionals of one recording.

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal.
    sr : int
        Its rate, Hz.
    hop : int
        Grid hop, samples (10 ms recommended, as eGeMAPS).
    pitch : PitchTrack
        F0/voicing on the same grid (:func:`psymodal.speech.prosody.track_pitch`).
    settings : dict, optional
        Overrides of :data:`EGEMAPS_DEFAULTS`.
    native_sr : int, optional
        The file's own rate; bands above ``min(sr, native_sr) / 2`` are missing.
    spectrum : tuple of ndarray, optional
        ``(power, freqs)`` of :func:`psymodal.speech.spectral.power_spectrogram` with 20 ms
        frames on the same grid, when the caller has it already (computed otherwise),
        optionally followed by the MFCCs of those frames under the default
        ``speech.spectral`` filterbank and lifter (at least 4 coefficients).
    native_y : numpy.ndarray, optional
        The recording at ``native_sr`` when ``y`` was resampled down from it: the 20 ms
        spectra (loudness, MFCC, alpha ratio, Hammarberg index, slopes, flux) are then taken
        from it, on openSMILE's frames at that rate (``spectrum`` is not used). Where
        openSMILE's frame step at that rate is not ``hop`` (22.05 kHz), every LLD is analysed
        from it on openSMILE's steps instead of from ``y`` (:func:`_on_opensmile_steps`);
        so is ``y`` itself when it is at its own rate and ``hop`` is not openSMILE's step
        there (220 samples at 22.05 kHz, ``speech.sample_rate: null``).

    Returns
    -------
    features : dict
        :func:`egemaps_names` then :data:`HARMONIC_NAMES` -> value (NaN where undefined).
    qc : dict
        ``nyquist_limited_features``: how many features were set to NaN for lack of bandwidth.
    """
    cfg = {**EGEMAPS_DEFAULTS, **(settings or {})}
    nyquist = min(sr, native_sr or sr) / 2.0
    n = len(pitch.f0)
    shs_source = None
    # The file's own samples: those it was resampled from, or ``y`` itself (a file kept at
    # its rate, whose grid may still not step as openSMILE does: 220 samples at 22.05 kHz).
    resampled = native_y is not None and native_sr and int(native_sr) > sr
    own_y, own_sr = (native_y, int(native_sr)) if resampled else (y, int(sr))
    stepped = _on_opensmile_steps(np.asarray(own_y), own_sr, sr, hop, cfg)
    if stepped is not None:
        y, sr = stepped
        n, pitch, spectrum = n_frames(len(y), hop), None, None
        native_y, native_sr = own_y, own_sr
        # The SHS reads openSMILE's own 60 ms spectra, up to the file's Nyquist frequency.
        shs_source = (np.asarray(own_y, dtype=np.float64), own_sr)
    hop_s = hop / sr
    # Only frames whose analysis window lies inside the signal, as openSMILE frames it:
    # zero-padded edge frames would add log-floor outliers (they matter for short words).
    spec_ok = _full_frames(n, len(y), int(round(0.020 * sr)), hop)
    f0_ok = _full_frames(n, len(y), int(round(0.060 * sr)), hop)
    if not spec_ok.any():
        spec_ok[:] = True
    # The voice-quality LLDs (jitter, shimmer, HNR, harmonic levels, formants: all psymodal-
    # named) stay on the tracker's voicing; F0, the V/UV spectral functionals and the segment
    # statistics use the voicing extended towards openSMILE's (each added frame costs a full
    # voice-quality analysis: 26 % more frames, about 10 % more time, for pm_ columns only).
    f0_tracked, f0, spectra = _egemaps_f0(y, sr, hop, pitch, n, cfg, native_sr, shs_source)
    voiced = np.isfinite(f0) & f0_ok
    vq_voiced = np.isfinite(f0_tracked) & f0_ok
    out: dict[str, float] = {}

    # F0 (semitones re 27.5 Hz) over voiced frames.
    st = _sma3nz(hz_to_semitones(np.where(voiced, f0, 1.0)), voiced)
    out.update(_contour_functionals("F0semitoneFrom27.5Hz_sma3nz", st[voiced], hop_s))

    native = None
    if native_y is not None and native_sr and int(native_sr) > sr:
        power, freqs, step = _native_spectrum(np.asarray(native_y), int(native_sr))
        # each grid frame reads the openSMILE frame that starts nearest its own start
        starts = (np.arange(n) * hop_s - 0.010) * int(native_sr) / step
        rows = np.clip(np.round(starts), 0, len(power) - 1).astype(np.int64)
        if not _same_step(step, int(native_sr), hop, sr):
            # openSMILE's frames drift from the grid (22.05 kHz): the per-frame LLDs that
            # meet the voicing are read on frames centred on the grid's instead
            rows = _native_grid_spectrum(np.asarray(native_y), int(native_sr), sr, hop, n)
        native = (power, freqs, step / int(native_sr), rows)
    spectral, spec, ceps, loud, loud_hop_s = _spectral_functionals(
        y, sr, hop, n, spec_ok, hop_s, spectrum, native
    )
    out.update(spectral)
    out.update(
        _voice_quality_functionals(
            y,
            sr,
            hop,
            f0_tracked,
            vq_voiced,
            voiced,
            f0_ok,
            spec_ok,
            spec,
            ceps,
            cfg,
            native_sr=native_sr,
            extended_f0=f0,
            spectra=spectra,
        )
    )
    out.update(_temporal_functionals(y, sr, hop, n, loud, voiced, f0_ok, spec_ok, loud_hop_s))

    out = {
        **{psymodal_name(k): float(out[k]) for k in opensmile_names()},
        **{k: float(out[k]) for k in HARMONIC_NAMES},
    }
    limited = _limit_to_nyquist(out, nyquist, cfg["nyquist_policy"])
    return out, {"nyquist_limited_features": float(limited)}


def _spectral_functionals(
    y: np.ndarray,
    sr: int,
    hop: int,
    n: int,
    spec_ok: np.ndarray,
    hop_s: float,
    spectrum: tuple[np.ndarray, ...] | None = None,
    native: tuple | None = None,
) -> tuple[dict[str, float], dict[str, np.ndarray], np.ndarray, np.ndarray, float]:
    """Loudness contour, spectral flux and MFCC 1-4 functionals over every analysed frame.

    Parameters
    ----------
    y, sr, hop
        Signal, rate and grid hop (samples).
    n : int
        Frames on the grid (the pitch track's length).
    spec_ok : ndarray of bool
        Frames whose 20 ms window lies inside the signal.
    hop_s : float
        Hop, seconds.
    spectrum : tuple of ndarray, optional
        The 20 ms power spectrogram and its bin frequencies, when already computed, and
        optionally its MFCCs (default filterbank and lifter, at least 4 coefficients).
    native : tuple, optional
        For a file above ``sr``: the power and bin frequencies of :func:`_native_spectrum`,
        its frame step (s) and, per grid frame, the row read. Every spectral LLD is then
        read from it (``spectrum`` is not used): the loudness, flux and MFCC functionals
        over its own frames, the per-frame LLDs at the rows.

    Returns
    -------
    functionals : dict
        ``loudness_sma3_*``, ``spectralFlux_sma3_*`` and ``mfcc<k>_sma3_*``.
    spec : dict of ndarray
        The spectral LLDs of every frame (:func:`_spectral_llds`); the first analysed frame's
        flux is zero.
    ceps : ndarray, shape (n, 4)
        MFCC 1-4 of every frame.
    loud : ndarray
        The smoothed loudness contour over the analysed frames.
    loud_hop_s : float
        Its frame step, seconds.
    """
    out: dict[str, float] = {}
    if native is not None:
        return _native_functionals(sr, native)
    if spectrum is None:
        spectrum = power_spectrogram(y, sr, hop, 0.020)
    power, freqs = spectrum[0][:n], spectrum[1]
    spec = _spectral_llds(power, freqs, sr)
    # The first flux value compares with a padded frame: restart the difference inside.
    first = int(np.argmax(spec_ok))
    spec["spectralFlux"][first] = 0.0
    loud = _sma3(spec["loudness"][spec_ok])
    out.update(_contour_functionals("loudness_sma3", loud, hop_s))
    if len(spectrum) > 2:
        # The caller's MFCCs: the DCT's first coefficients do not depend on how many are kept.
        ceps = spectrum[2][:n, :4]
    else:
        ceps = mfcc(power, freqs, {"n_mfcc": 4, "window_s": 0.020})
    all_frames = {"spectralFlux": spec["spectralFlux"]}
    all_frames.update({f"mfcc{i + 1}": ceps[:, i] for i in range(4)})
    for name, x in all_frames.items():
        m, s = _mean_sdnorm(_sma3(x[spec_ok]))
        out[f"{name}_sma3_amean"], out[f"{name}_sma3_stddevNorm"] = m, s
    return out, spec, ceps, loud, hop_s


def _native_functionals(sr, native):
    """:func:`_spectral_functionals` for a file above ``sr``, from openSMILE's own frames
    (``native``: power, bin frequencies, step in seconds and the row of each grid frame)."""
    os_power, os_freqs, os_hop_s, rows = native
    os_spec = _spectral_llds(os_power, os_freqs, sr)
    os_spec["spectralFlux"][0] = 0.0
    os_ceps = mfcc(os_power, os_freqs, {"n_mfcc": 4, "window_s": 0.020})
    out: dict[str, float] = {}
    loud = _sma3(os_spec["loudness"])
    out.update(_contour_functionals("loudness_sma3", loud, os_hop_s))
    all_frames = {"spectralFlux": os_spec["spectralFlux"]}
    all_frames.update({f"mfcc{i + 1}": os_ceps[:, i] for i in range(4)})
    for name, x in all_frames.items():
        m, s = _mean_sdnorm(_sma3(x))
        out[f"{name}_sma3_amean"], out[f"{name}_sma3_stddevNorm"] = m, s
    if isinstance(rows, tuple):  # the grid's own frames (see extract_egemaps)
        spec = _spectral_llds(*rows, sr, loudness=False)
        spec["spectralFlux"][0] = 0.0
        ceps = mfcc(*rows, {"n_mfcc": 4, "window_s": 0.020})
    else:
        spec = {key: value[rows] for key, value in os_spec.items()}
        ceps = os_ceps[rows]
    return out, spec, ceps, loud, os_hop_s


def _voice_quality_functionals(
    y: np.ndarray,
    sr: int,
    hop: int,
    f0: np.ndarray,
    voiced: np.ndarray,
    spectral_voiced: np.ndarray,
    f0_ok: np.ndarray,
    spec_ok: np.ndarray,
    spec: dict[str, np.ndarray],
    ceps: np.ndarray,
    cfg: dict,
    native_sr: int | None = None,
    extended_f0: np.ndarray | None = None,
    spectra: tuple | None = None,
) -> dict[str, float]:
    """Voice-quality functionals and the spectral functionals of voiced and unvoiced frames.

    Jitter, shimmer, HNR, formants and harmonic levels are averaged over ``voiced`` frames;
    the spectral LLDs of voiced and of unvoiced frames use ``spectral_voiced``, lagged by
    ``spectral_voicing_lag`` frames.

    Parameters
    ----------
    y, sr, hop
        Signal, rate and grid hop (samples).
    f0 : ndarray
        F0 (Hz, NaN = unvoiced) on the grid, for the voice-quality LLDs.
    voiced, spectral_voiced, f0_ok, spec_ok : ndarray of bool
        Frames voiced for the voice-quality LLDs, frames voiced for the V/UV spectral
        functionals (openSMILE-like voicing), frames with a full 60 ms F0 window, frames with
        a full 20 ms window.
    spec, ceps
        Spectral LLDs and MFCC 1-4 of every frame (:func:`_spectral_functionals`).
    cfg : dict
        The filled eGeMAPS settings.
    native_sr : int, optional
        The file's own rate, at which openSMILE would compute the formants (default ``sr``).
    extended_f0 : ndarray, optional
        F0 (Hz, NaN = unvoiced) of ``spectral_voiced``, for the formant amplitudes of frames
        the tracker left unvoiced (default ``f0``).
    spectra : tuple, optional
        ``(frames, complex spectra)`` of 60 ms frames already transformed (:func:`_opensmile_f0`).

    Returns
    -------
    dict
        ``<lld>_sma3nz_amean`` / ``_stddevNorm`` of the voiced LLDs and
        ``<lld>_sma3nz_amean`` of the unvoiced ones.
    """
    out: dict[str, float] = {}
    n = len(f0)
    idx = np.flatnonzero(voiced)
    marks, amps = _period_marks(y, sr, np.where(voiced, f0, np.nan), hop, cfg["period_search_rel"])
    jitter, shimmer = _jitter_shimmer(marks, amps, n, hop, sr)
    # Formant frequencies and bandwidths follow openSMILE's formant LLD frame for frame
    # (:func:`_opensmile_formants`), so they take the voicing extended towards openSMILE's
    # too (tuning half: median r over the 88 0.908 -> 0.929); openSMILE pairs the n-th F0
    # frame with the n-th 20 ms frame (``spectral_voicing_lag``).
    formant_voiced = voiced | spectral_voiced
    formant_idx = np.flatnonzero(formant_voiced)
    lagged = np.maximum(formant_idx - int(cfg["spectral_voicing_lag"]), 0)
    formants = np.full((n, 3), np.nan)
    bandwidths = np.full((n, 3), np.nan)
    formants[formant_idx], bandwidths[formant_idx] = _opensmile_formants(
        y, sr, hop, lagged, native_sr
    )
    # Harmonic levels of every formant frame (the tracked F0 where there is one); HNR and
    # H1-H2/H1-A3 keep the tracker's frames, a subset.
    formant_f0 = f0 if extended_f0 is None else np.where(np.isfinite(f0), f0, extended_f0)
    harm_all = _harmonic_llds(y, sr, hop, formant_f0, formant_idx, formants[formant_idx], spectra)
    in_formant = np.searchsorted(formant_idx, idx)
    harm = {key: values[in_formant] for key, values in harm_all.items()}
    amplitudes = np.full((n, 3), np.nan)
    # openSMILE's formant amplitude LLD is -201 dB (its log floor) in frames without F0 and
    # its voiced-frame functionals take every non-zero value, so those frames count:
    # measured with benchmarks/egemaps_formant_probe.py's configuration on cHarmonics.
    amplitudes[f0_ok & ~formant_voiced] = _UNVOICED_AMPLITUDE_DB
    for k in range(3):
        amplitudes[formant_idx, k] = harm_all[f"a{k + 1}"]

    def voiced_lld(values_at_idx):
        full = np.full(n, np.nan)
        full[idx] = values_at_idx
        return full

    vq = {
        "jitterLocal": jitter,
        "shimmerLocaldB": shimmer,
        "HNRdBACF": voiced_lld(harm["hnr"]),
        "logRelF0-H1-H2": voiced_lld(harm["h1h2"]),
        "logRelF0-H1-A3": voiced_lld(harm["h1a3"]),
    }
    for k in range(3):
        vq[f"F{k + 1}frequency"] = formants[:, k]
        vq[f"F{k + 1}bandwidth"] = bandwidths[:, k]
        vq[f"F{k + 1}amplitudeLogRelF0"] = amplitudes[:, k]
    spectral_v = {
        "alphaRatioV": spec["alphaRatio"],
        "hammarbergIndexV": spec["hammarbergIndex"],
        "slopeV0-500": spec["slope0-500"],
        "slopeV500-1500": spec["slope500-1500"],
        "spectralFluxV": spec["spectralFlux"],
    }
    spectral_v.update({f"mfcc{i + 1}V": ceps[:, i] for i in range(4)})
    vq.update(spectral_v)
    shift = int(cfg["spectral_voicing_lag"])
    analysed = np.zeros(n, dtype=bool)
    spec_voiced = np.zeros(n, dtype=bool)
    analysed[: n - shift] = f0_ok[shift:]
    spec_voiced[: n - shift] = spectral_voiced[shift:]
    # openSMILE's V/UV functionals stop short of the last frames its F0 level holds (probed:
    # 1, 2, 2, 2, 2 and 3 frames in the 6 of 16 FSDD files voiced to their end; the others'
    # ends are unvoiced, where it does not matter): leave out the usual 2.
    tail = int(cfg["spectral_tail_frames"])
    if tail and analysed.any():
        end = int(np.flatnonzero(analysed)[-1]) + 1 - tail
        spec_voiced[max(end, 0) :] = False
        analysed[max(end, 0) :] = False
    for name in _VOICED_MS:
        x = vq[name]
        valid = voiced & np.isfinite(x)
        if name.startswith("F") and name.endswith(("frequency", "bandwidth")):
            valid = formant_voiced & np.isfinite(x)
        if name.endswith("amplitudeLogRelF0"):
            # openSMILE's "nz" functionals skip exact zeros: a formant nearest the first
            # harmonic (0 dB re H1).
            valid = f0_ok & np.isfinite(x) & (x != 0)
        if name in spectral_v:
            valid = spec_voiced & np.isfinite(x) & spec_ok
        m, s = _mean_sdnorm(_sma3nz(x, valid)[valid])
        out[f"{name}_sma3nz_amean"], out[f"{name}_sma3nz_stddevNorm"] = m, s
    for name, key in zip(HARMONIC_NAMES, ["h1h2_paper", "h1a3_paper"], strict=True):
        x = voiced_lld(harm[key])
        valid = voiced & np.isfinite(x)
        out[name] = _mean_sdnorm(_sma3nz(x, valid)[valid])[0]
    unvoiced = ~spec_voiced & analysed & spec_ok
    for name, key in zip(
        _UNVOICED,
        ["alphaRatio", "hammarbergIndex", "slope0-500", "slope500-1500", "spectralFlux"],
        strict=True,
    ):
        x = spec[key]
        valid = unvoiced & np.isfinite(x) & (x != 0)
        vals = _sma3nz(x, valid)[valid]
        out[f"{name}_sma3nz_amean"] = float(vals.mean()) if len(vals) else np.nan
    return out


def _count_peaks(x: np.ndarray) -> int:
    """The maxima of ``x`` that openSMILE's ``Peaks2`` counts (:func:`_peaks2_extrema`).

    On the tuning half this raised the r of ``loudnessPeaksPerSec`` from 0.982 (maxima whose
    prominence reaches a tenth of the range) to 0.995 (FSDD 0.984 to 1.000).
    """
    return int(np.sum(_peaks2_extrema(np.asarray(x, dtype=float))[1]))


def _temporal_functionals(
    y: np.ndarray,
    sr: int,
    hop: int,
    n: int,
    loud: np.ndarray,
    voiced: np.ndarray,
    f0_ok: np.ndarray,
    spec_ok: np.ndarray,
    loud_hop_s: float | None = None,
) -> dict[str, float]:
    """Loudness peaks, voiced/unvoiced segment statistics and the equivalent sound level.

    ``loud_hop_s`` is the loudness contour's frame step (s), when not the grid's.

    Segment statistics are taken over the F0-analysed frames, per second of that signal; the
    equivalent sound level over the frames with a full 20 ms window.
    """
    out: dict[str, float] = {}
    hop_s = hop / sr
    out["loudnessPeaksPerSec"] = _count_peaks(loud) / (len(loud) * (loud_hop_s or hop_s))
    # Segment statistics over the F0 frames, per second of F0-analysed signal.
    duration = max(int(f0_ok.sum()), 1) * hop_s
    v_runs = _runs(voiced[f0_ok])
    u_runs = _runs(~voiced[f0_ok])
    v_len = (v_runs[:, 1] - v_runs[:, 0]) * hop_s if len(v_runs) else np.empty(0)
    u_len = (u_runs[:, 1] - u_runs[:, 0]) * hop_s if len(u_runs) else np.empty(0)
    out["VoicedSegmentsPerSec"] = len(v_runs) / duration
    out["MeanVoicedSegmentLengthSec"] = float(v_len.mean()) if len(v_len) else 0.0
    out["StddevVoicedSegmentLengthSec"] = float(v_len.std()) if len(v_len) else 0.0
    out["MeanUnvoicedSegmentLength"] = float(u_len.mean()) if len(u_len) else 0.0
    out["StddevUnvoicedSegmentLength"] = float(u_len.std()) if len(u_len) else 0.0
    frames = frame_signal(y, int(round(0.020 * sr)), hop)[:n]
    rows = np.flatnonzero(spec_ok)
    # The full frames are one run (_full_frames): a view of them, not a copy of every frame.
    contiguous = len(rows) and rows[-1] - rows[0] + 1 == len(rows)
    frames = frames[rows[0] : rows[-1] + 1] if contiguous else frames[spec_ok]
    energy = np.mean(np.einsum("ij,ij->i", frames, frames) / frames.shape[1])
    out["equivalentSoundLevel_dBp"] = 10.0 * np.log10(energy) if energy > 0 else np.nan
    return out


def _limit_to_nyquist(out: dict[str, float], nyquist: float, policy: str) -> int:
    """Set (in place) the features whose band exceeds ``nyquist`` to NaN, with policy ``nan``.

    Returns the number of features set to NaN.
    """
    limited = 0
    if policy == "nan":
        for k in out:
            if band_limit_hz(k) > nyquist * 1.001:
                out[k] = np.nan
                limited += 1
    return limited
