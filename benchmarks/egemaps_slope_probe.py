"""openSMILE's 0-500 / 500-1500 Hz spectral slopes (eGeMAPS), probed as a black box.

openSMILE's source is not read (non-commercial licence). A probe configuration written here
runs the chain of eGeMAPSv02's ``gemapsv01b_logSpectral`` (20 ms frames every 10 ms,
Hamming window, FFT magnitude, then ``cSpectral`` with its options: ``slopes[0] = 0-500``,
``slopes[1] = 500-1500``, ``squareInput = 1``, ``useLogSpectrum = 1``,
``normBandEnergies = 1``, ``oldSlopeScale = 0``) and exports both the magnitude spectrum it
computes and the two slopes of every frame. Three checks:

1. **weights**: on 20 s of white noise per rate (8, 16, 22.05, 44.1, 48 kHz), each slope is
   regressed on log10 of openSMILE's own power spectrum (bins up to 1.5 kHz plus a
   constant). The fit is exact (residual ~1e-9, float32 output), so the slope is linear in
   log10(P); the solved weights are printed next to
   :func:`psymodal.speech.egemaps._band_slope_weights` (max relative difference).
2. **log floor**: digital silence with one short burst: a silent frame's slopes are the
   floor's log10 times the weights' sums; frames with tiny bins tell ``max(P, floor)`` from
   ``P + floor``.
3. **real files**: openSMILE's eGeMAPSv02 LLDs ``slope0-500_sma3`` / ``slope500-1500_sma3``
   against psymodal's slopes of the same frames (openSMILE's framing at the file's own rate,
   :func:`psymodal.speech.egemaps._native_spectrum`, smoothed by ``sma3``): Pearson r and
   the largest / median |difference| per file (the first and last two frames left out;
   LibriSpeech resampled to 22.05, 44.1 and 48 kHz too).

Usage::

    python benchmarks/egemaps_slope_probe.py [--n-real 6]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speech_validate_opensmile import shared_speech_dir  # noqa: E402

from psymodal.speech.audio import resample  # noqa: E402
from psymodal.speech.egemaps import (  # noqa: E402
    _band_slope_weights,
    _band_slopes,
    _native_spectrum,
    _sma3,
)

PROBE_CONF = """
[componentInstances:cComponentManager]
instance[dataMemory].type=cDataMemory
printLevelStats=0

\\{\\cm[source{?}:include external source]}

[componentInstances:cComponentManager]
instance[probe_frame].type=cFramer
instance[probe_win].type=cWindower
instance[probe_fft].type=cTransformFFT
instance[probe_mag].type=cFFTmagphase
instance[probe_spectral].type=cSpectral

[probe_frame:cFramer]
reader.dmLevel=wave
writer.dmLevel=frames
frameSize = 0.020
frameStep = 0.010
frameCenterSpecial = left

[probe_win:cWindower]
reader.dmLevel=frames
writer.dmLevel=winH
winFunc=hamming

[probe_fft:cTransformFFT]
reader.dmLevel=winH
writer.dmLevel=fftc

[probe_mag:cFFTmagphase]
reader.dmLevel=fftc
writer.dmLevel=mag

[probe_spectral:cSpectral]
reader.dmLevel=mag
writer.dmLevel=spec
flux = 0
centroid = 0
maxPos=0
minPos=0
entropy = 0
flatness = 0
harmonicity = 0
sharpness = 0
variance=0
skewness=0
kurtosis=0
alphaRatio = 0
hammarbergIndex = 0
slope = 0
slopes[0] = 0-500
slopes[1] = 500-1500
normBandEnergies = 1
squareInput = 1
useLogSpectrum = 1
freqRange = 0-5000
oldSlopeScale = 0

\\{\\cm[sink{?}:include external sink]}
"""

BANDS = ((0.0, 500.0), (500.0, 1500.0))
RATES = (8000, 16000, 22050, 44100, 48000)


class Probe:
    """openSMILE's magnitude spectrum (``level="mag"``) or slopes (``"spec"``) per frame."""

    def __init__(self, opensmile, workdir: Path):
        conf = workdir / "slope_probe.conf"
        conf.write_text(PROBE_CONF, encoding="utf-8")
        self.smiles = {
            level: opensmile.Smile(feature_set=str(conf), feature_level=level)
            for level in ("mag", "spec")
        }

    def __call__(self, y: np.ndarray, sr: int, level: str) -> np.ndarray:
        # the private extractor returns the raw rows: the public one names the columns after
        # the magnitude vector's length at 16 kHz, which differs at other rates
        return self.smiles[level]._extract(y.astype(np.float32)[None], sr)[2]


def check_weights(probe: Probe) -> None:
    print("1. slope weights solved on openSMILE's own spectra (20 s of white noise)")
    print(f"{'rate':>7s} {'band':>10s} {'bins':>7s} {'fit residual':>13s} {'vs psymodal':>12s}")
    for sr in RATES:
        y = np.random.default_rng(1).standard_normal(20 * sr) * 0.1
        mag, slopes = probe(y, sr, "mag"), probe(y, sr, "spec")
        df = sr / (2.0 * (mag.shape[1] - 1))
        logp = np.log10(mag.astype(np.float64) ** 2)
        for j, (lo, hi) in enumerate(BANDS):
            nb = int(hi / df) + 4
            design = np.column_stack([logp[:, :nb], np.ones(len(logp))])
            solved = np.linalg.lstsq(design, slopes[:, j], rcond=None)[0]
            resid = np.abs(design @ solved - slopes[:, j]).max()
            ours = _band_slope_weights(np.arange(nb) * df, lo, hi)
            rel = np.abs(ours - solved[:-1]).max() / np.abs(solved[:-1]).max()
            used = np.flatnonzero(np.abs(solved[:-1]) > 1e-9)
            band = f"{lo:g}-{hi:g}"
            print(f"{sr:7d} {band:>10s} {used[0]:3d}-{used[-1]:<3d} {resid:13.1e} {rel:12.1e}")


def check_floor(probe: Probe) -> None:
    sr = 16000
    y = np.zeros(sr)
    y[8000:8010] = np.array([1.0, -1.0] * 5) / 32768
    mag, slopes = probe(y, sr, "mag"), probe(y, sr, "spec")
    freqs = np.arange(mag.shape[1]) * sr / (2.0 * (mag.shape[1] - 1))
    weights = np.column_stack([_band_slope_weights(freqs, lo, hi) for lo, hi in BANDS])
    print("\n2. log floor (16 kHz, digital silence with a 10-sample burst of 1 LSB)")
    print(
        f"silent frame: {slopes[0, 0]:.4f} {slopes[0, 1]:.4f}; log10(floor) read from it: "
        f"{slopes[0, 0] / weights[:, 0].sum():.3f} {slopes[0, 1] / weights[:, 1].sum():.3f}"
    )
    burst = np.flatnonzero(np.abs(slopes[:, 0] - slopes[0, 0]) > 1e-6)
    power = mag[burst].astype(np.float64) ** 2
    for name, logp in (
        ("max(P, 1e-14)", np.log10(np.maximum(power, 1e-14))),
        ("P + 1e-14", np.log10(power + 1e-14)),
    ):
        err = np.abs(logp @ weights - slopes[burst]).max()
        print(f"burst frames {list(burst)}: {name:14s} max |diff| {err:.1e}")


def check_real(opensmile, n_real: int) -> None:
    speech = shared_speech_dir()
    if speech is None:
        print("\n3. real files: shared speech data not found, skipped")
        return
    import soundfile as sf

    lld = opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02,
        feature_level=opensmile.FeatureLevel.LowLevelDescriptors,
    )
    named = [
        speech / "librispeech_testclean" / "1089-134691-0001.flac",
        speech / "fsdd" / "6_george_25.wav",
    ]
    others = [
        p for p in sorted((speech / "librispeech_testclean").glob("*.flac")) if p not in named
    ][: n_real // 2]
    others += sorted((speech / "pcgita").glob("*.wav"))[: n_real - n_real // 2]
    files = [(p, None) for p in named + others if p.is_file()]
    files += [(p, rate) for p in named[:1] if p.is_file() for rate in (22050, 44100, 48000)]
    print("\n3. real files: openSMILE's slope LLDs (sma3) vs psymodal's on the same frames")
    print(f"{'file':34s} {'rate':>6s} {'band':>9s} {'r':>9s} {'max|d|':>9s} {'med|d|':>9s}")
    for path, rate in files:
        y, sr = sf.read(path, dtype="float32")
        if y.ndim > 1:
            y = y.mean(axis=1)
        if rate is not None:
            # on the 16-bit grid openSMILE's input is quantised to, as a file at that rate is
            y, sr = (np.round(resample(y, sr, rate) * 32768) / 32768).astype(np.float32), rate
        ref = lld.process_signal(y, sr)
        power, freqs, _ = _native_spectrum(y, sr)
        ours = _band_slopes(power[: len(ref)], freqs)
        for j, col in enumerate(("slope0-500_sma3", "slope500-1500_sma3")):
            a, b = _sma3(ours[:, j])[2:-2], ref[col].to_numpy()[2:-2]
            d = np.abs(a - b)
            band = f"{BANDS[j][0]:g}-{BANDS[j][1]:g}"
            r = np.corrcoef(a, b)[0, 1]
            print(
                f"{path.stem[:34]:34s} {sr:6d} {band:>9s} {r:9.6f} {d.max():9.2e} "
                f"{np.median(d):9.2e}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-real", type=int, default=6, help="real files besides the two named")
    args = parser.parse_args(argv)
    try:
        import opensmile
    except ImportError:
        print("openSMILE is not installed (pip install opensmile==2.6.0): nothing to compare")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        probe = Probe(opensmile, Path(tmp))
        check_weights(probe)
        check_floor(probe)
    check_real(opensmile, args.n_real)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
