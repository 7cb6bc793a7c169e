"""Energy-based speech/pause segmentation.

A frame is *sounding* when its level exceeds a threshold set relative to the recording's own
loud frames (99th percentile minus ``silence_db``, as in de Jong & Wempe 2009) and above the
estimated noise floor; sounding runs separated by less than ``min_pause_s`` are joined (such
gaps are stop closures, not pauses), and runs shorter than ``min_speech_s`` are dropped
(clicks). Pauses are the silent gaps between the first and the last speech segment; leading and
trailing silence is not a pause.

Segment boundaries have the resolution of one hop (10 ms by default): energy is measured on
non-overlapping frames of one hop, centred on the shared grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from psymodal.settings import defaults

from .audio import frame_signal
from .percentiles import percentile

__all__ = ["VAD_DEFAULTS", "Segmentation", "frame_level_db", "segment_speech"]

#: The defaults of ``speech.vad`` (from the settings schema, the one place they are written).
VAD_DEFAULTS = defaults("speech.vad")

_DB_FLOOR = -200.0


@dataclass(frozen=True)
class Segmentation:
    """Result of :func:`segment_speech`.

    Attributes
    ----------
    segments : numpy.ndarray
        ``(n, 2)`` speech segment start/end times in seconds.
    frame_mask : numpy.ndarray
        Boolean per grid frame: inside a speech segment.
    sounding : numpy.ndarray
        Boolean per grid frame: level above the threshold (before joining/dropping).
    level_db : numpy.ndarray
        Frame level, 20 log10 RMS (0 dB = RMS of 1.0).
    threshold_db : float
        Threshold used, dBFS (NaN for a silent recording).
    noise_db : float
        Noise-floor estimate, dBFS.
    """

    segments: np.ndarray
    frame_mask: np.ndarray
    sounding: np.ndarray
    level_db: np.ndarray
    threshold_db: float
    noise_db: float

    @property
    def pauses(self) -> np.ndarray:
        """``(n - 1, 2)`` start/end times of the gaps between speech segments, seconds."""
        if len(self.segments) < 2:
            return np.empty((0, 2))
        return np.column_stack([self.segments[:-1, 1], self.segments[1:, 0]])

    @property
    def speech_duration(self) -> float:
        """Total duration of the speech segments, seconds."""
        return (
            float(np.sum(self.segments[:, 1] - self.segments[:, 0])) if len(self.segments) else 0.0
        )


def frame_level_db(y: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """RMS level per grid frame in dBFS (rectangular window), floored at -200 dB."""
    frames = frame_signal(y, frame_length, hop_length)
    power = np.einsum("ij,ij->i", frames, frames) / frame_length
    with np.errstate(divide="ignore"):
        return np.maximum(10.0 * np.log10(power), _DB_FLOOR)


def _runs(mask: np.ndarray) -> np.ndarray:
    """``(n, 2)`` [start, stop) frame indices of the True runs in ``mask``."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return edges.reshape(-1, 2)


def segment_speech(
    y: np.ndarray, sr: int, hop_length: int, settings: dict | None = None
) -> Segmentation:
    """Split a recording into speech segments and pauses.

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal.
    sr : int
        Sampling rate, Hz.
    hop_length : int
        Grid hop in samples; also the energy frame length.
    settings : dict, optional
        Overrides of :data:`VAD_DEFAULTS`.

    Returns
    -------
    Segmentation
    """
    cfg = {**VAD_DEFAULTS, **(settings or {})}
    level = frame_level_db(y, hop_length, hop_length)
    n = len(level)
    loud = float(percentile(level, 99))
    noise = float(percentile(level, 10))
    if loud < cfg["abs_floor_dbfs"]:
        empty = np.zeros(n, dtype=bool)
        return Segmentation(np.empty((0, 2)), empty, empty, level, float("nan"), noise)
    threshold = max(loud - cfg["silence_db"], noise + cfg["noise_margin_db"])
    threshold = min(threshold, loud - cfg["min_dynamic_db"])
    sounding = level > threshold
    frame_s = hop_length / sr
    min_gap = int(round(cfg["min_pause_s"] / frame_s))
    min_run = int(round(cfg["min_speech_s"] / frame_s))
    mask = sounding.copy()
    # Join first (a plosive burst next to a vowel is one segment), then drop short runs, then
    # join again because dropping a click can leave two short gaps that form no real pause.
    for step in ("join", "drop", "join"):
        if step == "join":
            gaps = _runs(~mask)
            for start, stop in gaps:
                if start > 0 and stop < n and stop - start < min_gap:
                    mask[start:stop] = True
        else:
            for start, stop in _runs(mask):
                if stop - start < min_run:
                    mask[start:stop] = False
    runs = _runs(mask)
    # Frame i covers [(i - 0.5) hop, (i + 0.5) hop); clip to the signal.
    duration = len(y) / sr
    segments = np.clip((runs - 0.5) * frame_s, 0.0, duration) if len(runs) else np.empty((0, 2))
    return Segmentation(segments.astype(float), mask, sounding, level, float(threshold), noise)
