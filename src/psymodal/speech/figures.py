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

from ..io.figures import save_png
from .features import RecordingAnalysis

__all__ = ["recording_qc_figure"]


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
    from matplotlib.figure import Figure

    hop = analysis.hop_length
    seg = analysis.segmentation
    pitch = analysis.pitch
    feats = analysis.features
    frame_t = np.arange(len(seg.level_db)) * hop / sr
    # fixed margins: a constrained layout measures every text and tick first, which cost
    # half of the figure's time (the figure was ~40 % of the speech stage's CPU)
    fig = Figure(figsize=(11, 6), dpi=80)
    fig.subplots_adjust(left=0.07, right=0.985, top=0.9, bottom=0.08, hspace=0.3)
    axes = fig.subplots(3, 1, sharex=True, height_ratios=[1.2, 0.8, 1.0])

    lo, hi = _envelope(np.asarray(y, dtype=float), hop)
    t = np.arange(len(lo)) * hop / sr
    ax = axes[0]
    ax.fill_between(t, lo, hi, color="0.3", lw=0)
    for start, end in seg.segments:
        ax.axvspan(start, end, color="tab:green", alpha=0.15, lw=0)
    peak = float(np.max(np.abs(y))) or 1.0
    nuclei_t = np.asarray(analysis.nuclei, dtype=float) * hop / sr
    ax.vlines(nuclei_t, 0.85 * peak, 1.0 * peak, color="tab:orange", lw=1)
    ax.set_ylim(-1.05 * peak, 1.05 * peak)
    ax.set_ylabel("waveform")
    ax.set_title(
        "green: speech segments; orange ticks: syllable nuclei "
        f"({int(feats['qc_syllable_count'])}); pauses: {_fmt(feats['pause_count'], 0)}",
        fontsize=9,
        loc="left",
        y=1.0,  # a fixed position: no tick-label measurement to place it
    )

    ax = axes[1]
    level = np.where(seg.level_db > -150, seg.level_db, np.nan)
    ax.plot(frame_t, level, color="0.2", lw=0.8)
    if np.isfinite(seg.threshold_db):
        ax.axhline(seg.threshold_db, color="tab:green", ls="--", lw=0.8)
    ax.axhline(seg.noise_db, color="0.6", ls=":", lw=0.8)
    ax.set_ylabel("level (dBFS)")
    ax.set_title(
        f"dashed: speech threshold; dotted: noise floor; SNR {_fmt(feats['qc_snr_db'], 1)} dB",
        fontsize=9,
        loc="left",
        y=1.0,  # a fixed position: no tick-label measurement to place it
    )

    ax = axes[2]
    f0 = np.asarray(pitch.f0, dtype=float)
    f0_t = np.arange(len(f0)) * hop / sr
    if pitch.periodic_f0 is not None:
        ax.plot(f0_t, pitch.periodic_f0, ".", ms=2, color="0.7", label="periodic (eGeMAPS)")
    ax.plot(f0_t, f0, ".", ms=3, color="tab:blue", label="voiced speech (prosody)")
    finite = f0[np.isfinite(f0)]
    if len(finite):
        ax.set_ylim(0.8 * np.min(finite), 1.2 * np.max(finite))
    ax.set_ylabel("F0 (Hz)")
    ax.set_xlabel("time (s)")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.set_title(
        f"F0 mean {_fmt(feats['f0_mean_hz'], 0)} Hz, SD {_fmt(feats['f0_semitone_sd'], 1)} st; "
        f"speech rate {_fmt(feats['speech_rate_syll_per_s'], 2)} syll/s",
        fontsize=9,
        loc="left",
        y=1.0,  # a fixed position: no tick-label measurement to place it
    )
    axes[-1].set_xlim(0, max(len(y) / sr, hop / sr))
    fig.suptitle(title, fontsize=11)
    return save_png(fig, path)


def _fmt(value, digits: int) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"
