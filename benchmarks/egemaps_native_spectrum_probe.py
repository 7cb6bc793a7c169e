"""eGeMAPS' 20 ms spectral LLDs of files above 16 kHz, frame by frame against openSMILE.

openSMILE analyses a file at its own rate: 20 ms Hamming frames zero-padded to a power of two
(441 samples in a 512-point FFT at 22.05 kHz, 882 / 960 in 1024 at 44.1 / 48 kHz), so its
bins are 43.07 / 43.07 / 46.88 Hz apart, not the 31.25 Hz of 16 kHz. psymodal analyses such a
file at 16 kHz. This probe compares, per LLD (loudness, alpha ratio, Hammarberg index, the
0-500 / 500-1500 Hz slopes, spectral flux, MFCC 1-4; all smoothed by ``sma3`` as openSMILE's
LLD output is), three ways of taking the spectra against openSMILE's LLDs
(``opensmile.FeatureLevel.LowLevelDescriptors`` of eGeMAPSv02) on the same frames:

- ``16k``: the 16 kHz signal's 512-point FFT (psymodal before this probe);
- ``16k_native_bins``: the 16 kHz frames' DFT evaluated at the native rate's bin
  frequencies, power scaled by (native rate / 16 kHz)^2 (the bins and scale of openSMILE's
  frame, but the resampled signal);
- ``native``: :func:`psymodal.speech.egemaps._native_spectrum`, openSMILE's frames taken
  from the file at its own rate (eGeMAPS' spectra since).

Per LLD and variant: Pearson r, least-squares slope on openSMILE's values and median
|difference| over all frames (edge frames excluded). Signals: the espeak-ng voices of the
validation corpus' tuning half (22.05 kHz) and, with the shared data, LibriSpeech / PC-GITA
files resampled up to 44.1 and 48 kHz (soxr HQ).

Usage::

    python benchmarks/egemaps_native_spectrum_probe.py [--n-espeak 12] [--n-real 4]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from egemaps_corpus import corpus  # noqa: E402
from speech_validate_opensmile import shared_speech_dir  # noqa: E402

from psymodal.speech.audio import load_audio, resample  # noqa: E402
from psymodal.speech.egemaps import _native_spectrum, _sma3, _spectral_llds  # noqa: E402
from psymodal.speech.spectral import _hamming, mfcc  # noqa: E402

LLDS = {
    "loudness": "Loudness_sma3",
    "alphaRatio": "alphaRatio_sma3",
    "hammarbergIndex": "hammarbergIndex_sma3",
    "slope0-500": "slope0-500_sma3",
    "slope500-1500": "slope500-1500_sma3",
    "spectralFlux": "spectralFlux_sma3",
    "mfcc1": "mfcc1_sma3",
    "mfcc2": "mfcc2_sma3",
    "mfcc3": "mfcc3_sma3",
    "mfcc4": "mfcc4_sma3",
}
VARIANTS = ["16k", "16k_native_bins", "native"]


def _frames_16k(y16: np.ndarray, hop: float, n: int) -> np.ndarray:
    """20 ms Hamming frames of the 16 kHz signal centred on ``k hop`` (fractional hop)."""
    length = 320
    padded = np.concatenate([np.zeros(length), y16, np.zeros(2 * length)])
    starts = np.round(np.arange(n) * hop).astype(int) - length // 2 + length
    return padded[starts[:, None] + np.arange(length)[None]] * _hamming(length)


def _fft_16k(frames: np.ndarray):
    """The 16 kHz frames' 512-point power spectra (psymodal's grid before this probe)."""
    return np.abs(np.fft.rfft(frames, 512, axis=1)) ** 2, np.fft.rfftfreq(512, 1 / 16000)


def _native_bins_16k(frames: np.ndarray, native_sr: int):
    """The 16 kHz frames' DFT at the native rate's bin frequencies (up to 8 kHz), power on
    the native rate's scale."""
    n_fft = 1 << int(np.ceil(np.log2(round(0.020 * native_sr))))
    freqs = np.arange(int(np.ceil(8000.0 * n_fft / native_sr)) + 1) * native_sr / n_fft
    basis = np.exp(-2j * np.pi * np.outer(np.arange(frames.shape[1]), freqs) / 16000)
    return np.abs(frames @ basis) ** 2 * (native_sr / 16000) ** 2, freqs


def _llds(power: np.ndarray, freqs: np.ndarray) -> dict[str, np.ndarray]:
    out = dict(_spectral_llds(power, freqs, 16000))
    ceps = mfcc(power, freqs, {"n_mfcc": 4, "window_s": 0.020})
    out.update({f"mfcc{i + 1}": ceps[:, i] for i in range(4)})
    return out


def compare_file(lld, y: np.ndarray, sr: int) -> dict[str, dict[str, tuple]]:
    """Per LLD and variant, psymodal's and openSMILE's smoothed values on the same frames."""
    ref = lld.process_signal(y.astype(np.float32), sr)
    starts = ref.index.get_level_values("start").total_seconds().to_numpy()
    # openSMILE's frame i starts at i x 10 ms (its LLD index). psymodal's frame k is centred
    # on k x hop, so the signal shifted by half a frame centres it on openSMILE's frame k.
    step = int(0.010 * sr + 0.5)  # 221 at 22.05 kHz (round half up)
    length = int(round(0.020 * sr))
    n = len(starts)
    shift = length // 2
    y_shift = y[shift:]
    y16 = resample(y_shift, sr, 16000)
    frames16 = _frames_16k(y16, step * 16000 / sr, n)
    variants = {
        "16k": _fft_16k(frames16),
        "16k_native_bins": _native_bins_16k(frames16, sr),
        "native": tuple(part[:n] for part in _native_spectrum(y, sr)[:1])
        + (_native_spectrum(y, sr)[1],),
    }
    out: dict[str, dict[str, tuple]] = {k: {} for k in LLDS}
    inside = (starts + 0.020 <= len(y) / sr) & (np.arange(n) >= 2)
    inside[-2:] = False
    for name, (power, freqs) in variants.items():
        values = _llds(power, freqs)
        values["spectralFlux"][0] = 0.0
        for key, col in LLDS.items():
            ours = _sma3(values[key])
            out[key][name] = (ours[inside], ref[col].to_numpy()[inside])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-espeak", type=int, default=12, help="espeak-ng files (tuning half)")
    parser.add_argument("--n-real", type=int, default=4, help="real files, upsampled")
    args = parser.parse_args(argv)
    try:
        import opensmile
    except ImportError:
        print("openSMILE is not installed (pip install opensmile==2.6.0): nothing to compare")
        return 0
    lld = opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02,
        feature_level=opensmile.FeatureLevel.LowLevelDescriptors,
    )
    speech = shared_speech_dir()
    items = [f for f in corpus(speech, n_fsdd=0, n_demo=0) if f.half == "tuning"]
    sets = {
        "espeak 22.05 kHz": [(f.path, None) for f in items if f.corpus == "espeak"][: args.n_espeak]
    }
    real = [f.path for f in items if f.corpus in ("librispeech", "pcgita")][: args.n_real]
    for rate in (44100, 48000):
        if real:
            sets[f"real speech up to {rate / 1000:g} kHz"] = [(p, rate) for p in real]
    for title, files in sets.items():
        pooled: dict[str, dict[str, list]] = {k: {v: [] for v in VARIANTS} for k in LLDS}
        for path, rate in files:
            y, sr = load_audio(path, sample_rate=None)
            if rate is not None:
                y, sr = resample(y, sr, rate), rate
            for key, by_variant in compare_file(lld, y, sr).items():
                for name, pair in by_variant.items():
                    pooled[key][name].append(pair)
        print(f"\n{title}: {len(files)} files")
        print(f"{'LLD':16s}" + "".join(f"{v:>30s}" for v in VARIANTS))
        for key in LLDS:
            line = f"{key:16s}"
            for name in VARIANTS:
                ours = np.concatenate([a for a, _ in pooled[key][name]])
                ref = np.concatenate([b for _, b in pooled[key][name]])
                ok = np.isfinite(ours) & np.isfinite(ref)
                ours, ref = ours[ok], ref[ok]
                r = np.corrcoef(ours, ref)[0, 1]
                slope = np.polyfit(ref, ours, 1)[0]
                line += f"  r {r:.4f} s {slope:5.2f} d {np.median(np.abs(ours - ref)):.4f}"
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
