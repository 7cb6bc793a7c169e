"""Per-recording speech QC figure: what the features were measured on.

Three panels on one time axis: the waveform with the detected speech segments (shaded) and
syllable nuclei (ticks), the frame level with the speech/pause threshold, and the F0 track
(voiced frames). A reviewer sees at a glance whether pauses, speech rate and F0 describe the
speaker or an artefact (background noise taken as speech, a hum taken as voice, octave jumps).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..io.raster_figure import RasterFigure
from .features import RecordingAnalysis

__all__ = ["recording_qc_figure"]

# 880 x 480 pixels (the 11 x 6 inches at 80 dpi of the matplotlib version); panel rows
# (top, bottom) for the waveform, the level and F0, each with its title above
_WIDTH, _HEIGHT, _LEFT, _RIGHT = 880, 480, 64, 868
_ROWS = [(48, 178), (206, 294), (322, 432)]
# matplotlib's tab: colours; the speech span is tab:green at 15 % on white
_SPEECH_SPAN, _GREEN, _ORANGE, _BLUE = (
    (223, 241, 223),
    (44, 160, 44),
    (255, 127, 14),
    (31, 119, 180),
)
_WAVE, _LEVEL, _NOISE, _PERIODIC = (77, 77, 77), (51, 51, 51), (153, 153, 153), (179, 179, 179)


def _envelope(y: np.ndarray, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Minimum and maximum of ``y`` per hop (what a waveform plot can show)."""
    n = max(len(y) // hop, 1)
    blocks = y[: n * hop].reshape(n, -1) if len(y) >= hop else y.reshape(1, -1)
    return blocks.min(axis=1), blocks.max(axis=1)


def recording_qc_figure(
    path: str | os.PathLike,
    y: np.ndarray,
    sr: int,
    analysis: RecordingAnalysis,
    title: str,
) -> Path:
    """Write the QC figure of one recording.

    Parameters
    ----------
    path : path-like
        Output PNG.
    y : numpy.ndarray
        The analysed mono signal.
    sr : int
        Its rate, Hz.
    analysis : RecordingAnalysis
        From :func:`psymodal.speech.features.analyse_recording` on ``y``.
    title : str

    Returns
    -------
    Path
    """
    hop = analysis.hop_length
    seg = analysis.segmentation
    pitch = analysis.pitch
    feats = analysis.features
    duration = max(len(y) / sr, hop / sr)
    # drawn straight into pixels: the matplotlib version of this figure cost ~4x the
    # analysis it shows (benchmarks/qc_figure_speed.py)
    fig = RasterFigure(_WIDTH, _HEIGHT, title)
    boxes = [(_LEFT, top, _RIGHT, bottom) for top, bottom in _ROWS]

    # one waveform column per pixel: its minimum and maximum
    y = np.asarray(y, dtype=float)
    per_column = max(1, int(np.ceil(len(y) / (_RIGHT - _LEFT))))
    lo, hi = _envelope(y, per_column) if len(y) else (np.zeros(0), np.zeros(0))
    t = (np.arange(len(lo)) + 0.5) * per_column / sr
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    peak = peak or 1.0
    ax = fig.panel(boxes[0], (0, duration), (-1.05 * peak, 1.05 * peak))
    for start, end in seg.segments:
        ax.span(start, end, _SPEECH_SPAN)
    if len(y):
        ax.envelope(t, lo, hi, _WAVE)
    nuclei_t = np.asarray(analysis.nuclei, dtype=float) * hop / sr
    ax.vlines(nuclei_t, 0.85 * peak, 1.0 * peak, _ORANGE)
    ax.title(
        "green: speech segments; orange ticks: syllable nuclei "
        f"({int(feats['qc_syllable_count'])}); pauses: {_fmt(feats['pause_count'], 0)}"
    )
    ax.axes("waveform", xticklabels=False)

    frame_t = np.arange(len(seg.level_db)) * hop / sr
    level = np.where(seg.level_db > -150, seg.level_db, np.nan)
    shown = np.r_[level, seg.threshold_db, seg.noise_db]
    shown = shown[np.isfinite(shown)]
    low, high = (float(shown.min()), float(shown.max())) if len(shown) else (-100.0, 0.0)
    margin = 0.05 * (high - low) or 1.0
    ax = fig.panel(boxes[1], (0, duration), (low - margin, high + margin))
    ax.line(frame_t, level, _LEVEL)
    ax.hline(seg.threshold_db, _GREEN, dash=5)
    ax.hline(seg.noise_db, _NOISE, dash=2)
    ax.title(f"dashed: speech threshold; dotted: noise floor; SNR {_fmt(feats['qc_snr_db'], 1)} dB")
    ax.axes("level (dBFS)", xticklabels=False)

    f0 = np.asarray(pitch.f0, dtype=float)
    f0_t = np.arange(len(f0)) * hop / sr
    finite = f0[np.isfinite(f0)]
    f0_range = (0.8 * np.min(finite), 1.2 * np.max(finite)) if len(finite) else (50.0, 400.0)
    ax = fig.panel(boxes[2], (0, duration), f0_range)
    entries = []
    if pitch.periodic_f0 is not None:
        ax.points(f0_t, pitch.periodic_f0, _PERIODIC, size=2)
        entries.append(("periodic (eGeMAPS)", _PERIODIC))
    ax.points(f0_t, f0, _BLUE, size=3)
    entries.append(("voiced speech (prosody)", _BLUE))
    ax.legend(entries)
    ax.title(
        f"F0 mean {_fmt(feats['f0_mean_hz'], 0)} Hz, SD {_fmt(feats['f0_semitone_sd'], 1)} st; "
        f"speech rate {_fmt(feats['speech_rate_syll_per_s'], 2)} syll/s"
    )
    ax.axes("F0 (Hz)", xlabel="time (s)")
    return fig.save(path)


def _fmt(value, digits: int) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"
