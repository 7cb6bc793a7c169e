"""Per-recording feature extraction: F0, pauses and rates, MFCC statistics and QC fields."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from psymodal.settings import defaults, resolve_section

from .audio import resample
from .egemaps import HARMONIC_NAMES, band_limit_hz, egemaps_names, extract_egemaps
from .percentiles import percentile
from .prosody import PitchTrack, hz_to_semitones, track_pitch
from .spectral import SPECTRAL_DEFAULTS, mfcc, power_spectrogram
from .timing import pause_features, syllable_nuclei
from .vad import Segmentation, segment_speech

__all__ = [
    "DEFAULT_SETTINGS",
    "resolve_settings",
    "feature_names",
    "qc_names",
    "extract_features",
    "analyse_recording",
    "RecordingAnalysis",
]

#: Every default of the ``speech`` section (from the settings schema).
DEFAULT_SETTINGS = defaults("speech")

# Minimum voiced frames for F0 statistics: fewer give unstable means and SDs.
_MIN_VOICED_FRAMES = 5

_N_MFCC = DEFAULT_SETTINGS["spectral"]["n_mfcc"]

_F0_NAMES = [
    "f0_mean_hz",
    "f0_median_hz",
    "f0_semitone_mean",
    "f0_semitone_sd",
    "f0_semitone_range_p20_p80",
    "voiced_fraction",
]
_TIMING_NAMES = [
    "speech_rate_syll_per_s",
    "articulation_rate_syll_per_s",
    "pause_count",
    "pause_rate_per_min",
    "pause_duration_mean_s",
    "pause_duration_median_s",
    "pause_duration_sd_s",
    "pause_ratio",
]
_QC_NAMES = [
    "duration_s",
    "speech_duration_s",
    "voiced_duration_s",
    "speech_segment_count",
    "syllable_count",
    "snr_db",
    "peak_dbfs",
    "clipping_fraction",
    "nyquist_limited_features",
    "pause_free_recordings",
]


def resolve_settings(settings: dict | None, sr: int | None = None) -> dict:
    """Check a speech ``settings`` dict against the schema and fill its defaults.

    Parameters
    ----------
    settings : dict or None
        The ``speech`` section of the configuration.
    sr : int, optional
        Rate of the signal to analyse; sets ``frame_length``/``hop_length`` when they are None.
        Without it, ``sample_rate`` does; when that is None too (keep each file's rate), the
        frame sizes stay None until a signal's rate is known.
    """
    return _with_frame_sizes(resolve_section("speech", settings), sr)


def _with_frame_sizes(cfg: dict, sr: int | None) -> dict:
    """``cfg`` (resolved) with ``frame_length``/``hop_length`` set for rate ``sr``."""
    if not (sr or cfg["sample_rate"]):
        return cfg
    cfg = dict(cfg)
    rate = int(sr or cfg["sample_rate"])
    if cfg["hop_length"] is None:
        cfg["hop_length"] = int(round(0.010 * rate))
    if cfg["frame_length"] is None:
        # 40 ms holds two periods at 50 Hz and is short enough for YIN to follow a fast
        # F0 fall (64 ms windows lost voicing there); longer when fmin needs it.
        need = max(0.040 * rate, 2.0 * rate / float(cfg["pitch"]["fmin"]))
        cfg["frame_length"] = int(np.ceil(need))
    return cfg


def feature_names(settings: dict | None = None) -> list[str]:
    """Feature names in output order (the same for every recording and subject)."""
    return _feature_names(resolve_settings(settings))


def _feature_names(cfg: dict) -> list[str]:
    """:func:`feature_names` of resolved settings."""
    n_mfcc = int(cfg["spectral"]["n_mfcc"])
    mfcc_names = [f"mfcc{i}_mean" for i in range(1, n_mfcc + 1)]
    mfcc_names += [f"mfcc{i}_sd" for i in range(1, n_mfcc + 1)]
    names = _F0_NAMES + _TIMING_NAMES + mfcc_names
    if cfg["egemaps"]["enabled"]:
        names += egemaps_names() + HARMONIC_NAMES
    return names


def qc_names() -> list[str]:
    """QC field names (prefixed ``qc_`` in :func:`extract_features` output)."""
    return list(_QC_NAMES)


def _f0_features(f0: np.ndarray, voiced: np.ndarray, speech_mask: np.ndarray) -> dict:
    nan = float("nan")
    out = dict.fromkeys(_F0_NAMES, nan)
    n_speech = int(speech_mask.sum())
    if n_speech:
        out["voiced_fraction"] = float(np.sum(voiced & speech_mask) / n_speech)
    hz = f0[voiced]
    if len(hz) < _MIN_VOICED_FRAMES:
        return out
    st = hz_to_semitones(hz)
    p20, p80 = percentile(st, [20, 80])
    out.update(
        f0_mean_hz=float(hz.mean()),
        f0_median_hz=float(np.median(hz)),
        f0_semitone_mean=float(st.mean()),
        f0_semitone_sd=float(st.std()),
        f0_semitone_range_p20_p80=float(p80 - p20),
    )
    return out


@dataclass(frozen=True)
class RecordingAnalysis:
    """Features of one recording and the analyses behind them (for QC figures).

    Attributes
    ----------
    features : dict
        What :func:`extract_features` returns.
    segmentation : Segmentation
        Speech segments and pauses (:func:`psymodal.speech.vad.segment_speech`).
    pitch : PitchTrack
        F0 and voicing per grid frame.
    nuclei : numpy.ndarray
        Grid frames of the syllable nuclei.
    hop_length : int
        Grid hop, samples at ``sample_rate``.
    sample_rate : int
        Rate of the analysis (``speech.sample_rate``, or the signal's own when that is None).
    """

    features: dict
    segmentation: Segmentation
    pitch: PitchTrack
    nuclei: np.ndarray
    hop_length: int
    sample_rate: int = 0


def extract_features(
    y: np.ndarray,
    sr: int,
    settings: dict | None = None,
    native_sr: int | None = None,
    native_y: np.ndarray | None = None,
) -> dict[str, float]:
    """Speech features of one recording (see :func:`analyse_recording`)."""
    return analyse_recording(y, sr, settings, native_sr, native_y).features


def _default_cepstrum(spectral: dict) -> bool:
    """Whether MFCCs under these settings start with eGeMAPS' MFCC 1-4 (same filterbank and
    lifter, at least 4 coefficients): then eGeMAPS reuses them."""
    same = ("n_mels", "fmin", "fmax", "lifter")
    return all(spectral[k] == SPECTRAL_DEFAULTS[k] for k in same) and spectral["n_mfcc"] >= 4


def analyse_recording(
    y: np.ndarray,
    sr: int,
    settings: dict | None = None,
    native_sr: int | None = None,
    native_y: np.ndarray | None = None,
) -> RecordingAnalysis:
    """Speech features of one recording, with the segmentation and pitch track behind them.

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal (e.g. from :func:`psymodal.speech.load_audio`).
    sr : int
        Its sampling rate, Hz. A signal at a higher rate than ``speech.sample_rate`` (16 kHz
        by default; None keeps the signal's rate) is resampled down to it once (soxr HQ, as
        :func:`psymodal.speech.load_audio` does), so the features and their cost do not
        depend on the recording's rate above it (eGeMAPS analyses nothing above 8 kHz). A
        signal at a lower rate is analysed as it is: upsampling adds no content, but moves
        the spectral features of band-limited (e.g. 8 kHz telephone) recordings away from
        openSMILE's values at their own rate.
    settings : dict, optional
        Speech settings (see :data:`DEFAULT_SETTINGS`; missing keys take the defaults).
    native_sr : int, optional
        Rate of the original file when ``y`` was resampled: features analysing frequencies
        above ``native_sr / 2`` (which the file cannot contain) are NaN under the eGeMAPS
        ``nyquist_policy`` ``"nan"``, and counted in ``qc_nyquist_limited_features``.
    native_y : numpy.ndarray, optional
        That file's signal at ``native_sr`` (e.g. :attr:`psymodal.speech.audio.Audio.native_y`),
        when ``y`` was resampled down from it: eGeMAPS reads its 20 ms spectra (loudness,
        MFCC, alpha ratio, Hammarberg index, flux) from it, as openSMILE frames the file at
        its own rate. A signal that this function resamples is used so itself.

    Returns
    -------
    RecordingAnalysis
        ``features``: :func:`feature_names` in order, then ``qc_`` + :func:`qc_names`.
        Features that cannot be computed (no speech, too few voiced frames, no pause) are NaN;
        the keys never change.

    Raises
    ------
    ValueError
        Empty or multi-channel input, NaN/inf samples, or a signal shorter than one pitch
        analysis frame.
    """
    y = np.asarray(y, dtype=np.float64)
    cfg = resolve_section("speech", settings)  # checked once per recording
    rate = cfg["sample_rate"]
    if native_y is not None and not (native_sr and int(native_sr) > int(sr)):
        native_y = None
    if rate and int(sr) > int(rate) and y.ndim == 1 and y.size and np.all(np.isfinite(y)):
        native_sr = min(int(native_sr or sr), int(sr))
        # eGeMAPS' 20 ms spectra are read from the signal at its own rate, as openSMILE
        # frames it (see psymodal.speech.egemaps._native_spectrum).
        if native_y is None and native_sr == int(sr):
            native_y = y
        y = resample(y, int(sr), int(rate))
        sr = int(rate)
    cfg = _with_frame_sizes(cfg, sr)
    hop, frame_length = int(cfg["hop_length"]), int(cfg["frame_length"])
    if y.ndim != 1:
        raise ValueError(f"expected a mono 1-D signal, got shape {y.shape}; average the channels")
    if y.size == 0:
        raise ValueError("empty signal: the recording holds no samples")
    if not np.all(np.isfinite(y)):
        raise ValueError("signal contains NaN or infinite samples; the recording is damaged")
    if y.size < frame_length:
        raise ValueError(
            f"signal of {y.size / sr:.3f} s is shorter than one analysis frame "
            f"({frame_length / sr:.3f} s); the recording is too short to analyse"
        )

    seg = segment_speech(y, sr, hop, cfg["vad"])
    pitch = track_pitch(y, sr, frame_length, hop, cfg["pitch"], sounding=seg.sounding)
    nuclei = syllable_nuclei(y, sr, hop, pitch.voiced, seg.frame_mask, cfg["syllables"])

    feats = _f0_features(pitch.f0, pitch.voiced, seg.frame_mask)
    feats.update(pause_features(seg, len(nuclei)))
    power, freqs = power_spectrogram(y, sr, hop, cfg["spectral"]["window_s"])
    all_ceps = mfcc(power, freqs, cfg["spectral"])
    ceps = all_ceps[seg.frame_mask[: len(power)]]
    n_mfcc = ceps.shape[1]
    means = ceps.mean(axis=0) if len(ceps) else np.full(n_mfcc, np.nan)
    sds = ceps.std(axis=0) if len(ceps) else np.full(n_mfcc, np.nan)
    for i in range(n_mfcc):
        feats[f"mfcc{i + 1}_mean"] = float(means[i])
    for i in range(n_mfcc):
        feats[f"mfcc{i + 1}_sd"] = float(sds[i])
    limited = 0
    nyquist = min(sr, native_sr or sr) / 2.0
    if cfg["egemaps"]["nyquist_policy"] == "nan":
        for name in list(feats):
            if band_limit_hz(name) > nyquist * 1.001:
                feats[name] = float("nan")
                limited += 1
    if cfg["egemaps"]["enabled"]:
        # eGeMAPS' spectra are 20 ms Hamming frames: share them when ours are the same.
        shared = (power, freqs) if cfg["spectral"]["window_s"] == 0.020 else None
        if shared is not None and _default_cepstrum(cfg["spectral"]):
            shared += (all_ceps,)
        ege, ege_qc = extract_egemaps(
            y, sr, hop, pitch, cfg["egemaps"], native_sr, shared, native_y=native_y
        )
        feats.update(ege)
        limited += int(ege_qc["nyquist_limited_features"])
    out = {name: feats[name] for name in _feature_names(cfg)}
    if len(seg.segments) == 0:
        # Without speech every feature describes noise or silence: report none of them.
        out = dict.fromkeys(out, float("nan"))

    hop_s = hop / sr
    peak = float(np.max(np.abs(y)))
    speech_level = seg.level_db[seg.sounding]
    qc = {
        "duration_s": y.size / sr,
        "speech_duration_s": seg.speech_duration,
        "voiced_duration_s": float(np.sum(pitch.voiced)) * hop_s,
        "speech_segment_count": float(len(seg.segments)),
        "syllable_count": float(len(nuclei)),
        "snr_db": float(np.median(speech_level) - seg.noise_db) if speech_level.size else np.nan,
        "peak_dbfs": 20.0 * np.log10(peak) if peak > 0 else float("nan"),
        "clipping_fraction": float(np.mean(np.abs(y) >= 0.999)),
        "nyquist_limited_features": float(limited),
        # Speech without a pause: pause_count is 0, the duration statistics are undefined
        # (NaN, not 0); counted so that a learner's imputation of them is visible.
        "pause_free_recordings": float(len(seg.segments) > 0 and len(seg.pauses) == 0),
    }
    out.update({f"qc_{k}": float(v) for k, v in qc.items()})
    return RecordingAnalysis(out, seg, pitch, nuclei, hop, int(sr))
