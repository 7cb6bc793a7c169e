"""Voice anonymisation by the McAdams coefficient, for sharing recordings.

The method (Patino et al., 2021, "Speaker anonymisation using the McAdams coefficient",
Interspeech; a baseline of the VoicePrivacy challenge) needs no training data and no model:
each short frame is split by linear prediction into a vocal-tract filter and its excitation
(the LPC residual); the angle ``phi`` (radians) of every complex pole of the filter becomes
``phi ** alpha``, its radius is kept, and the frame is re-synthesised from the unchanged
excitation through the warped filter, at the frame's original energy. With ``alpha < 1``
resonances below 1 rad (``sr / (2 pi)``: 2.5 kHz at 16 kHz) move up and those above move
down, which changes the formant pattern that speaker recognisers rely on, while the
excitation keeps F0, voicing, the energy contour and timing: the prosodic and pause measures
of the speech stage.

``benchmarks/speech_anonymization.py`` measures both sides: the equal error rate of a
pretrained speaker encoder before and after, and how much psymodal's features move.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
from scipy.signal import lfilter, lfiltic
from scipy.signal.windows import hann

from psymodal.settings import defaults

__all__ = [
    "MCADAMS_DEFAULTS",
    "WORLD_DEFAULTS",
    "anonymize_file",
    "mcadams_anonymize",
    "pseudo_speaker",
    "world_anonymize",
]

#: Defaults of :func:`mcadams_anonymize` (the published baseline's values), read from the
#: settings schema (``anonymize.speech.mcadams``); ``alpha_spread`` belongs to the shared copy.
MCADAMS_DEFAULTS = {
    key: value
    for key, value in defaults("anonymize.speech.mcadams").items()
    if key != "alpha_spread"
}

#: Defaults of the WORLD pseudo-speaker transform (``anonymize.speech.world``).
WORLD_DEFAULTS = defaults("anonymize.speech.world")

# Frames quieter than this (mean square) carry no resonances to move and make LPC ill-posed:
# they are passed through unchanged.
_SILENT = 1e-12


def _warp_poles(a: np.ndarray, alpha: float) -> np.ndarray:
    """LPC polynomial with every complex pole's angle raised to ``alpha``."""
    poles = np.roots(a)
    angle = np.angle(poles)
    complex_pole = np.abs(np.imag(poles)) > 1e-12
    new_angle = np.where(complex_pole, np.sign(angle) * np.abs(angle) ** alpha, angle)
    warped = np.abs(poles) * np.exp(1j * new_angle)
    # Conjugate pairs stay pairs (the map is odd in the angle), so the polynomial is real.
    return np.real(np.poly(warped))


def _segment(x: np.ndarray, start: int, length: int) -> np.ndarray:
    """``x[start : start + length]``, zero where the range leaves ``x``."""
    out = np.zeros(length)
    lo, hi = max(start, 0), min(start + length, len(x))
    if hi > lo:
        out[lo - start : hi - start] = x[lo:hi]
    return out


def mcadams_anonymize(
    y: np.ndarray,
    sr: int,
    alpha: float = MCADAMS_DEFAULTS["alpha"],
    frame_s: float = MCADAMS_DEFAULTS["frame_s"],
    lpc_order: int = MCADAMS_DEFAULTS["lpc_order"],
) -> np.ndarray:
    """Anonymise a recording by warping its LPC pole angles (McAdams coefficient).

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal, finite values.
    sr : int
        Sampling rate, Hz.
    alpha : float, default 0.8
        McAdams coefficient in (0, 2); 1 leaves the signal unchanged (up to rounding). The
        published baseline uses 0.8; values further from 1 hide the speaker better and cost
        more naturalness.
    frame_s : float, default 0.02
        Frame length in seconds; frames overlap by half (periodic Hann window, whose shifted
        copies sum to one, so ``alpha = 1`` reconstructs the input).
    lpc_order : int, default 20
        Order of the linear prediction (Burg's method, ``librosa.lpc``).

    Returns
    -------
    numpy.ndarray
        The anonymised signal, float64, same length and rate as ``y``.

    Raises
    ------
    ValueError
        Not a non-empty 1-D finite signal, or a parameter out of range.
    """
    import librosa

    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"expected a non-empty mono (1-D) signal, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("the signal contains NaN or infinite samples; repair or drop the file")
    if not 0.0 < alpha < 2.0:
        raise ValueError(f"alpha must lie in (0, 2) (1 = unchanged, 0.8 = usual), got {alpha}")
    frame = int(round(frame_s * sr))
    if frame < 2 * (lpc_order + 1):
        raise ValueError(
            f"frame of {frame} samples ({frame_s} s at {sr} Hz) is too short for LPC order "
            f"{lpc_order}; use a longer frame_s or a lower lpc_order"
        )
    frame += frame % 2
    hop = frame // 2
    window = hann(frame, sym=False)
    n = len(y)
    n_segments = -(-n // hop)
    # Zeros around the signal: analysis frames at the edges and the filters' past.
    padded = np.zeros(frame + n_segments * hop + frame)
    padded[frame : frame + n] = y
    identity = np.r_[1.0, np.zeros(lpc_order)]
    synthesised = np.zeros(n_segments * hop)
    gains = np.ones(n_segments)
    energies = np.zeros(n_segments)
    for k in range(n_segments):
        begin = frame + k * hop
        # The filter of hop k is estimated on a Hann frame centred on that hop.
        centre = begin + hop // 2
        x = padded[centre - frame // 2 : centre + frame // 2] * window
        a = warped = identity
        if np.mean(x * x) >= _SILENT:
            try:
                lpc = librosa.lpc(x, order=lpc_order)
                a, warped = lpc, _warp_poles(lpc, alpha)
            except FloatingPointError:
                # Ill-conditioned (e.g. a pure tone): nothing safe to warp, pass it through.
                pass
        # Time-varying filtering sample-exact across hops: the residual reads the signal's
        # past, the synthesis filter starts from its own past outputs, so hop boundaries add
        # no clicks (a 100 Hz click train would be heard as pitch).
        residual = np.convolve(padded[begin - lpc_order : begin + hop], a, mode="valid")
        past = synthesised[max(k * hop - lpc_order, 0) : k * hop][::-1]
        state = lfiltic([1.0], warped, past)
        synthesised[k * hop : (k + 1) * hop] = lfilter([1.0], warped, residual, zi=state)[0]
        energies[k] = float(np.sum(x * x))
    # Moving resonances changes the filter's gain: a smooth gain restores the energy contour
    # (loudness is itself a clinical measure), measured on the same frames as the analysis.
    for k in np.flatnonzero(energies >= _SILENT * frame):
        start = k * hop + hop // 2 - frame // 2
        s_frame = _segment(synthesised, start, frame) * window
        gains[k] = np.sqrt(energies[k] / max(float(np.sum(s_frame * s_frame)), _SILENT))
    centres = np.arange(n_segments) * hop + hop / 2
    out = synthesised[:n] * np.interp(np.arange(n), centres, gains)
    return out


@functools.cache
def _world():
    """pyworld's compiled module, loaded without its package ``__init__`` (pyworld 0.3.5 reads
    its version through ``pkg_resources``, which setuptools 81+ no longer ships)."""
    import importlib.machinery
    import importlib.util

    spec = importlib.util.find_spec("pyworld")
    if spec is None:
        raise ImportError("the WORLD anonymiser needs pyworld (pip install pyworld==0.3.5)")
    folder = Path(spec.submodule_search_locations[0])
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    library = next(p for p in sorted(folder.iterdir()) if p.name.endswith(suffixes))
    ext = importlib.util.spec_from_file_location("pyworld", library)
    module = importlib.util.module_from_spec(ext)
    ext.loader.exec_module(module)
    return module


def pseudo_speaker(u_direction: float, u_size: float, u_f0: float, **settings) -> dict:
    """The transform of one speaker, from three numbers in [0, 1) (drawn from the key).

    The spectral envelope is warped by ``exp(+-size)`` along frequency (formants up or down
    together: a longer or shorter vocal tract), ``size`` uniform in ``warp_min..warp_max``;
    the F0 contour is moved so that its mean is a target drawn log-uniformly from
    ``f0_min_hz..f0_max_hz`` (the speaker's own mean is not kept).
    """
    p = {**WORLD_DEFAULTS, **settings}
    size = p["warp_min"] + (p["warp_max"] - p["warp_min"]) * u_size
    warp = float(np.exp(size if u_direction >= 0.5 else -size))
    low, high = np.log(p["f0_min_hz"]), np.log(p["f0_max_hz"])
    return {"warp": warp, "f0_target_hz": float(np.exp(low + (high - low) * u_f0))}


def world_anonymize(
    y: np.ndarray,
    sr: int,
    warp: float,
    f0_target_hz: float,
    frame_period_ms: float = WORLD_DEFAULTS["frame_period_ms"],
) -> np.ndarray:
    """Pseudo-speaker voice conversion with the WORLD vocoder (Morise et al. 2016).

    The recording is analysed into F0 (DIO + StoneMask), spectral envelope (CheapTrick) and
    aperiodicity (D4C). The envelope and aperiodicity are warped along frequency
    (``E'(f) = E(f / warp)``: every formant times ``warp``), the voiced F0 contour is scaled so
    that its geometric mean becomes ``f0_target_hz`` (its shape, hence intonation and jitter
    relative to the mean, is kept), and the signal is re-synthesised at the original length and
    RMS. Voicing decisions, timing and pauses are those of the analysis.

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal, finite values.
    sr : int
        Sampling rate, Hz.
    warp : float
        Formant scaling in (0.5, 2); 1 keeps the envelope.
    f0_target_hz : float
        Mean F0 of the output's voiced frames.
    frame_period_ms : float
        WORLD's analysis hop.

    Returns
    -------
    numpy.ndarray
        float64, same length as ``y``.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"expected a non-empty mono (1-D) signal, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("the signal contains NaN or infinite samples; repair or drop the file")
    if not 0.5 < warp < 2.0:
        raise ValueError(f"warp must lie in (0.5, 2), got {warp}")
    rms = float(np.sqrt(np.mean(y * y)))
    if rms == 0.0:
        return y.copy()
    pw = _world()
    f0, t = pw.dio(y, sr, f0_floor=50.0, f0_ceil=500.0, frame_period=frame_period_ms)
    f0 = pw.stonemask(y, f0, t, sr)
    envelope = pw.cheaptrick(y, f0, t, sr)
    aperiodicity = pw.d4c(y, f0, t, sr)
    bins = np.arange(envelope.shape[1], dtype=np.float64)
    source = np.clip(bins / warp, 0, bins[-1])
    envelope = np.stack([np.interp(source, bins, row) for row in envelope])
    aperiodicity = np.stack([np.interp(source, bins, row) for row in aperiodicity])
    voiced = f0 > 0
    if np.any(voiced):
        f0 = np.where(voiced, f0 * f0_target_hz / np.exp(np.mean(np.log(f0[voiced]))), 0.0)
    z = pw.synthesize(
        np.ascontiguousarray(f0),
        np.ascontiguousarray(envelope),
        np.ascontiguousarray(aperiodicity),
        sr,
        frame_period_ms,
    )
    z = np.resize(z, len(y)) if len(z) >= len(y) else np.r_[z, np.zeros(len(y) - len(z))]
    out_rms = float(np.sqrt(np.mean(z * z)))
    return z * (rms / out_rms) if out_rms > 0 else z


def anonymize_file(
    source: str | os.PathLike, target: str | os.PathLike, method: str = "mcadams", **settings
) -> tuple[Path, int]:
    """Anonymise one recording into a new file (written under a temporary name, then renamed).

    Parameters
    ----------
    source : path
        Audio file (any format :func:`psymodal.speech.read_audio` accepts); it is analysed at
        its own rate, as one channel (channels averaged, DC removed).
    target : path
        ``.wav`` (32-bit float, so nothing clips) or ``.flac`` (24-bit; refused if the
        anonymised peak exceeds full scale).
    method : {"mcadams", "world"}
        :func:`mcadams_anonymize` or :func:`world_anonymize`.
    **settings
        Parameters of the chosen method.

    Returns
    -------
    (pathlib.Path, int)
        The target and its sampling rate.
    """
    import soundfile as sf
    from scipy.io import wavfile

    from psymodal.io.tables import atomic_path
    from psymodal.speech.audio import read_audio

    target = Path(target)
    subtype = {".wav": "FLOAT", ".flac": "PCM_24"}.get(target.suffix.lower())
    if subtype is None:
        raise ValueError(f"{target}: write anonymised audio as .wav or .flac")
    if Path(source).resolve() == target.resolve():
        raise ValueError(f"{target}: refusing to overwrite the original recording")
    audio = read_audio(source, sample_rate=None)
    anonymiser = {"mcadams": mcadams_anonymize, "world": world_anonymize}[method]
    z = anonymiser(audio.y, audio.sr, **settings)
    if subtype == "PCM_24" and np.max(np.abs(z)) > 1.0:
        raise ValueError(
            f"{source}: the anonymised signal peaks at {np.max(np.abs(z)):.2f} > full scale; "
            "write it as .wav (float) instead of .flac"
        )
    with atomic_path(target) as tmp:
        if subtype == "FLOAT":
            # libsndfile stamps float WAVs with the time of writing (PEAK chunk); scipy's
            # writer does not, so reruns give identical bytes.
            wavfile.write(tmp, audio.sr, z.astype(np.float32))
        else:
            sf.write(tmp, z, audio.sr, subtype=subtype)
    return target, audio.sr
