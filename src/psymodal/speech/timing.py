"""Temporal features: pauses, speech rate and articulation rate from syllable nuclei.

Syllable nuclei follow de Jong & Wempe (2009, Behavior Research Methods 41:385): peaks of the
intensity contour that rise above a threshold, are separated from the previous peak by a dip
of at least ``min_dip_db`` and fall on voiced frames inside speech segments. With
``require_voicing: false`` the voicing condition is dropped (intensity peaks inside speech
segments only), so that the rate survives a transform that destroys voicing.
"""

from __future__ import annotations

import numba
import numpy as np

from psymodal.settings import defaults

from .audio import frame_signal
from .peaks import find_peaks
from .percentiles import percentile
from .vad import Segmentation

__all__ = ["SYLLABLE_DEFAULTS", "intensity_db", "syllable_nuclei", "pause_features"]

#: The defaults of ``speech.syllables`` (from the settings schema, the one place they are written).
SYLLABLE_DEFAULTS = defaults("speech.syllables")


def intensity_db(y: np.ndarray, sr: int, hop_length: int, window_s: float) -> np.ndarray:
    """Hann-weighted mean-square level per grid frame, dB (floored at -200 dB)."""
    length = max(int(round(window_s * sr)), hop_length)
    window = np.hanning(length + 2)[1:-1]
    window /= window.sum()
    power = _weighted_energy(frame_signal(y, length, hop_length), window)
    with np.errstate(divide="ignore"):
        return np.maximum(10.0 * np.log10(power), -200.0)


@numba.njit(cache=True)
def _weighted_energy(frames, window):  # pragma: no cover - JIT
    """``(frames * frames) @ window`` without forming the squared frames."""
    n, length = frames.shape
    out = np.empty(n)
    # Four frames at a time: four independent sums, each in sample order (the same values).
    blocked = n - n % 4
    for i in range(0, blocked, 4):
        a0 = a1 = a2 = a3 = 0.0
        for j in range(length):
            w = window[j]
            a0 += frames[i, j] * frames[i, j] * w
            a1 += frames[i + 1, j] * frames[i + 1, j] * w
            a2 += frames[i + 2, j] * frames[i + 2, j] * w
            a3 += frames[i + 3, j] * frames[i + 3, j] * w
        out[i], out[i + 1], out[i + 2], out[i + 3] = a0, a1, a2, a3
    for i in range(blocked, n):
        acc = 0.0
        for j in range(length):
            acc += frames[i, j] * frames[i, j] * window[j]
        out[i] = acc
    return out


def syllable_nuclei(
    y: np.ndarray,
    sr: int,
    hop_length: int,
    voiced: np.ndarray,
    speech_mask: np.ndarray,
    settings: dict | None = None,
) -> np.ndarray:
    """Grid frame indices of syllable nuclei.

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal.
    sr : int
        Sampling rate, Hz.
    hop_length : int
        Grid hop, samples.
    voiced, speech_mask : numpy.ndarray
        Boolean per grid frame: voiced (ignored when ``require_voicing`` is false), inside a
        speech segment.
    settings : dict, optional
        Overrides of :data:`SYLLABLE_DEFAULTS`.

    Returns
    -------
    numpy.ndarray
        Sorted frame indices.
    """
    cfg = {**SYLLABLE_DEFAULTS, **(settings or {})}
    level = intensity_db(y, sr, hop_length, cfg["window_s"])
    if not np.any(speech_mask):
        return np.empty(0, dtype=int)
    threshold = percentile(level, 99) - cfg["silence_db"]
    peaks = find_peaks(level, height=threshold, prominence=cfg["min_dip_db"])
    n = min(len(voiced), len(speech_mask))
    peaks = peaks[peaks < n]
    keep = speech_mask[peaks]
    if cfg["require_voicing"]:
        keep &= voiced[peaks]
    return peaks[keep]


def pause_features(seg: Segmentation, n_syllables: int) -> dict[str, float]:
    """Pause and rate features from a segmentation and a syllable count.

    Rates are syllables per second over the speaking span (first speech onset to last offset,
    pauses included: ``speech_rate``) and over speech segments only (``articulation_rate``).
    Pause statistics use population SD (``ddof=0``). A recording with speech but no pause
    (common in clips of a few seconds) has ``pause_count`` 0, ``pause_rate_per_min`` 0 and
    ``pause_ratio`` 0, and NaN duration statistics (``pause_duration_mean_s``, ``_median_s``,
    ``_sd_s``): a duration of no pause is undefined, not 0 s. The QC field
    ``pause_free_recordings`` counts such recordings, so that any imputation of the NaNs
    downstream can be traced to them.
    """
    nan = float("nan")
    out = {
        "speech_rate_syll_per_s": nan,
        "articulation_rate_syll_per_s": nan,
        "pause_count": nan,
        "pause_rate_per_min": nan,
        "pause_duration_mean_s": nan,
        "pause_duration_median_s": nan,
        "pause_duration_sd_s": nan,
        "pause_ratio": nan,
    }
    if len(seg.segments) == 0:
        return out
    span = float(seg.segments[-1, 1] - seg.segments[0, 0])
    speech = seg.speech_duration
    pauses = np.diff(seg.pauses, axis=1)[:, 0] if len(seg.pauses) else np.empty(0)
    out["speech_rate_syll_per_s"] = n_syllables / span if span > 0 else nan
    out["articulation_rate_syll_per_s"] = n_syllables / speech if speech > 0 else nan
    out["pause_count"] = float(len(pauses))
    out["pause_rate_per_min"] = 60.0 * len(pauses) / span if span > 0 else nan
    out["pause_ratio"] = float(pauses.sum() / span) if span > 0 else nan
    if len(pauses):
        out["pause_duration_mean_s"] = float(pauses.mean())
        out["pause_duration_median_s"] = float(np.median(pauses))
        out["pause_duration_sd_s"] = float(pauses.std())
    return out
