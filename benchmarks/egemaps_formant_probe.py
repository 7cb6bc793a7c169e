"""openSMILE's eGeMAPS formant LLD, characterised frame by frame as a black box.

openSMILE's source is not read (non-commercial licence). Instead, openSMILE runs a probe
configuration written here with the components and options of the shipped eGeMAPSv02
formant chain (``GeMAPSv01b_core.lld.conf.inc``: 20 ms Hamming frames, ``cTransformFFT``,
``cSpecResample`` to 11 kHz, ``cLpc`` p = 11 method acf, ``cFormantLpc`` 50-5450 Hz, 5
formants, no median filter, no octave correction) and exports every intermediate level: the
resampled frame, the LPC coefficients and the formants. Each stage is then compared with
candidate computations on the same frames:

1. ``cSpecResample``'s output against psymodal's model of it
   (:func:`psymodal.speech.egemaps._opensmile_lpc_frame_matrix`): the first N'/2 = 110 bins
   of the zero-padded power-of-two FFT (3.4 kHz at 16 kHz, 4.7 kHz at 22.05 kHz), synthesised
   at 11 kHz from ``(n_fft - length) // 2`` samples before the frame's start, DC counted
   twice (max |difference| relative to the frame's max).
2. ``cLpc``'s coefficients against autocorrelation LPC of that output.
3. ``cFormantLpc``'s F1-F3 frequency and bandwidth against five variants:

   - ``psymodal_resonances``: :func:`psymodal.speech.egemaps.resonance_formants` (psymodal's
     eGeMAPS formants until this probe: pre-emphasis from 50 Hz, roots < 700 Hz wide);
   - ``textbook``: the Hamming frame's spectrum cut at 5.5 kHz, LPC, roots of 1 + sum a z^-k
     in 50-5450 Hz by frequency, no bandwidth limit;
   - ``os_resampling``: openSMILE's resampling (model 1), roots of 1 + sum a z^-k;
   - ``textbook_flipped``: the textbook frame, roots of 1 - sum a z^-k;
   - ``os_recipe``: openSMILE's resampling and roots of 1 - sum a z^-k
     (:func:`psymodal.speech.egemaps._opensmile_formants`, eGeMAPS' formant LLD since).

   Per variant and formant: Pearson r and median |difference| over the frames where both
   report the formant.

4. ``cHarmonics`` (``--harmonics``): a second probe configuration includes the shipped
   ``GeMAPSv01b_core.lld.conf.inc`` and exports its F0, formant, harmonics and 60 ms magnitude
   spectrum levels. Reported: the formant amplitudes (``FormantAmplitudeByMaxHarmonicLogRelF0``)
   in frames without F0 (all -201 dB) and, in voiced frames, their agreement with the level
   (maximum within +-F0 / 2 of the harmonic) relative to H1 of the harmonic nearest the
   formant and of the strongest harmonic within +-20 % of the formant's frequency (the
   recipe kept), from openSMILE's own F0, formants and spectrum (16 kHz files:
   the Python wrapper sizes the spectrum's columns for that rate).

Signals: pulse-train vowels through known resonators (F0 100-250 Hz, with and without a
glottal tilt; at 8, 16, 22.05, 44.1 and 48 kHz) and the tuning half of the eGeMAPS
validation corpus (:mod:`egemaps_corpus`; real FSDD, LibriSpeech, PC-GITA, ARCTIC and
generated espeak-ng/demo speech), each file at its own rate. Usage::

    python benchmarks/egemaps_formant_probe.py [--per-corpus 6] [--harmonics] [--out probe.tsv]

Exits cleanly (status 0, with a message) when openSMILE or the shared data is absent.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.signal

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from egemaps_corpus import corpus  # noqa: E402
from speech_validate_opensmile import speech_and_reference  # noqa: E402

PROBE_CONF = """
[componentInstances:cComponentManager]
instance[dataMemory].type=cDataMemory
printLevelStats=0

\\{\\cm[source{?}:include external source]}

[componentInstances:cComponentManager]
instance[probe_frame].type=cFramer
instance[probe_win].type=cWindower
instance[probe_fft].type=cTransformFFT
instance[probe_resamp].type=cSpecResample
instance[probe_lpc].type=cLpc
instance[probe_formants].type=cFormantLpc
instance[probe_concat].type=cVectorConcat

[probe_frame:cFramer]
reader.dmLevel=wave
writer.dmLevel=probe_frame
frameSize = 0.020
frameStep = 0.010
frameCenterSpecial = left

[probe_win:cWindower]
reader.dmLevel=probe_frame
writer.dmLevel=probe_win
winFunc=hamming

[probe_fft:cTransformFFT]
reader.dmLevel=probe_win
writer.dmLevel=probe_fftc

[probe_resamp:cSpecResample]
reader.dmLevel=probe_fftc
writer.dmLevel=probe_resampled
targetFs = 11000

[probe_lpc:cLpc]
reader.dmLevel=probe_resampled
writer.dmLevel=probe_lpc
p=11
method=acf
lpGain=0
saveLPCoeff=1
residual=0
forwardFilter=0
lpSpectrum=0

[probe_formants:cFormantLpc]
reader.dmLevel=probe_lpc
writer.dmLevel=probe_formants
saveIntensity=0
saveBandwidths=1
maxF=5450.0
minF=50.0
nFormants=5
useLpSpec=0
medianFilter=0
octaveCorrection=0

[probe_concat:cVectorConcat]
reader.dmLevel = probe_formants;probe_lpc;probe_resampled
writer.dmLevel = lld
includeSingleElementFields = 1

\\{\\cm[sink{?}:include external sink]}
"""

HARMONICS_CONF = """
[componentInstances:cComponentManager]
instance[dataMemory].type=cDataMemory
printLevelStats=0

\\{\\cm[source{?}:include external source]}
\\{CORE_LLD}

[componentInstances:cComponentManager]
instance[probe_concat].type=cVectorConcat

[probe_concat:cVectorConcat]
reader.dmLevel = gemapsv01b_logPitch;gemapsv01b_formants;gemapsv01b_harmonics;gemapsv01b_fftmagG60
writer.dmLevel = lld
includeSingleElementFields = 1

\\{\\cm[sink{?}:include external sink]}
"""

LPC_RATE = 11000
VARIANTS = ["psymodal_resonances", "textbook", "os_resampling", "textbook_flipped", "os_recipe"]


def opensmile_levels(opensmile, conf: Path, y: np.ndarray, sr: int) -> dict[str, np.ndarray]:
    """openSMILE's formants (Hz, 0 = none), bandwidths, LPC coefficients and resampled frames."""
    smile = opensmile.Smile(feature_set=str(conf), feature_level="lld")
    values = smile.process_signal(y.astype(np.float32), sr).to_numpy(dtype=float)
    return {
        "freqs": values[:, 0:3],
        "bws": values[:, 5:8],
        "lpc": values[:, 10:21],
        "resampled": values[:, 21:],
    }


def opensmile_grid(sr: int) -> tuple[int, int]:
    """openSMILE's frame length and step (samples) for 20 ms frames every 10 ms."""
    return int(round(0.020 * sr)), int(0.010 * sr + 0.5)


def lpc(x: np.ndarray, order: int = 11) -> np.ndarray:
    """Autocorrelation LPC ``a_1..a_order`` of 1 + sum a_k z^-k."""
    r = np.array([np.dot(x[: len(x) - k], x[k:]) for k in range(order + 1)])
    if r[0] <= 0:
        return np.zeros(order)
    return scipy.linalg.solve_toeplitz(r[:order], -r[1 : order + 1])


def formants_of(a: np.ndarray, flipped: bool) -> tuple[np.ndarray, np.ndarray]:
    """F1-F3 (Hz, NaN = none) and bandwidths of the roots in 50-5450 Hz, by frequency."""
    roots = np.roots(np.r_[1.0, -a if flipped else a])
    roots = roots[roots.imag > 0]
    f = np.angle(roots) * LPC_RATE / (2 * np.pi)
    bw = -np.log(np.abs(roots)) * LPC_RATE / np.pi
    keep = (f > 50) & (f < 5450)
    order = np.argsort(f[keep])[:3]
    freqs, bws = np.full(3, np.nan), np.full(3, np.nan)
    freqs[: len(order)] = f[keep][order]
    bws[: len(order)] = bw[keep][order]
    return freqs, bws


def textbook_frame(frame: np.ndarray, sr: int) -> np.ndarray:
    """The Hamming frame's spectrum cut at 5.5 kHz, back to a 20 ms frame at 11 kHz."""
    spectrum = np.fft.rfft(frame * np.hamming(len(frame)))
    n_out = int(round(len(frame) * LPC_RATE / sr))
    return np.fft.irfft(spectrum[: n_out // 2 + 1], n_out)


def variants(y: np.ndarray, sr: int, n_frames: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """F1-F3 frequency and bandwidth per openSMILE frame, for each candidate."""
    from psymodal.speech.audio import frame_signal
    from psymodal.speech.egemaps import (
        _opensmile_formants,
        _opensmile_lpc_frame_matrix,
        resonance_formants,
    )

    length, hop = opensmile_grid(sr)
    # psymodal's frame i is centred on sample i * hop: shifted by half a frame, it is
    # openSMILE's frame i (which starts there).
    shifted = y[length // 2 :]
    idx = np.arange(n_frames)
    raw = frame_signal(shifted, length, hop)[:n_frames]
    os_frames = raw @ _opensmile_lpc_frame_matrix(length, sr, sr)
    out = {
        "psymodal_resonances": resonance_formants(shifted, sr, hop, idx),
        "os_recipe": _opensmile_formants(shifted, sr, hop, idx),
    }
    for name, frames, flipped in [
        ("textbook", [textbook_frame(f, sr) for f in raw], False),
        ("os_resampling", os_frames, False),
        ("textbook_flipped", [textbook_frame(f, sr) for f in raw], True),
    ]:
        pairs = [formants_of(lpc(f), flipped) for f in frames]
        out[name] = (np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]))
    return out


def resampling_error(levels: dict, y: np.ndarray, sr: int) -> tuple[float, float]:
    """Largest relative error of the resampling model and of LPC on openSMILE's frames."""
    from psymodal.speech.audio import frame_signal
    from psymodal.speech.egemaps import _opensmile_lpc_frame_matrix

    length, hop = opensmile_grid(sr)
    n = len(levels["resampled"])
    raw = frame_signal(y[length // 2 :], length, hop)[:n]
    model = raw @ _opensmile_lpc_frame_matrix(length, sr, sr)
    ref = levels["resampled"]
    scale = np.maximum(np.abs(ref).max(axis=1), 1e-9)
    loud = scale > 1e-3 * scale.max()
    err = (np.abs(model - ref).max(axis=1) / scale)[loud]
    lpc_err = [
        np.abs(lpc(r) - a).max() for r, a in zip(ref[loud], levels["lpc"][loud], strict=True)
    ]
    return float(np.median(err)), float(np.median(lpc_err))


def vowel(sr: int, f0: float, formants, tilt: bool, seconds: float = 1.0) -> np.ndarray:
    """A pulse train through resonators (bandwidths 80/100/120 Hz), optionally tilted."""
    n = int(seconds * sr)
    x = np.zeros(n)
    x[:: int(round(sr / f0))] = 1.0
    if tilt:  # -12 dB per octave glottal source, +6 dB lip radiation
        for _ in range(2):
            x = scipy.signal.lfilter([1.0], [1.0, -0.97], x)
    for f, bw in zip(formants, (80.0, 100.0, 120.0), strict=False):
        r = np.exp(-np.pi * bw / sr)
        theta = 2 * np.pi * f / sr
        x = scipy.signal.lfilter(
            [1 - 2 * r * np.cos(theta) + r * r], [1, -2 * r * np.cos(theta), r * r], x
        )
    if tilt:
        x = scipy.signal.lfilter([1.0, -1.0], [1.0], x)
    x = 0.3 * x / np.max(np.abs(x))
    return x + np.random.default_rng(0).normal(0, 1e-4, n)


def agreement(ref_f, ref_b, ours_f, ours_b) -> dict[str, float]:
    row = {}
    for k in range(3):
        ok = (ref_f[:, k] > 0) & np.isfinite(ours_f[:, k])
        for what, ref, ours in [("F", ref_f, ours_f), ("B", ref_b, ours_b)]:
            a, b = ref[ok, k], ours[ok, k]
            row[f"{what}{k + 1}_r"] = float(np.corrcoef(a, b)[0, 1]) if ok.sum() > 2 else np.nan
            row[f"{what}{k + 1}_mad_hz"] = float(np.median(np.abs(a - b))) if ok.any() else np.nan
    return row


def harmonics_smile(opensmile, workdir: Path):
    """openSMILE running :data:`HARMONICS_CONF` (the shipped eGeMAPS LLD chain, its F0,
    formant, harmonics and 60 ms spectrum levels exported)."""
    core = Path(opensmile.__file__).parent / "core" / "config" / "gemaps" / "v01b"
    conf = workdir / "harmonics_probe.conf"
    conf.write_text(
        HARMONICS_CONF.replace("CORE_LLD", str(core / "GeMAPSv01b_core.lld.conf.inc")),
        encoding="utf-8",
    )
    return opensmile.Smile(feature_set=str(conf), feature_level="lld")


def harmonics_levels(smile, y: np.ndarray, sr: int):
    """The exported levels of ``y`` by name, the 60 ms magnitude spectrum (frames x bins)
    apart, and that spectrum's bin spacing (Hz)."""
    frame = smile.process_signal(y.astype(np.float32), sr)
    values = frame.to_numpy(dtype=float)
    in_spectrum = np.array([c.startswith("pcm_fftMag") for c in frame.columns])
    spec = values[:, in_spectrum]
    levels = {c: values[:, i] for i, c in enumerate(frame.columns) if not in_spectrum[i]}
    return levels, spec, sr / (2 * (spec.shape[1] - 1))


def harmonic_magnitude(spec_row: np.ndarray, bin_hz: float, f0: float, hz: float) -> float:
    """The largest magnitude within +-F0/2 of ``hz``: a harmonic's level as psymodal reads it."""
    lo = max(int(np.floor((hz - 0.5 * f0) / bin_hz)), 0)
    hi = int(np.ceil((hz + 0.5 * f0) / bin_hz))
    return spec_row[lo : hi + 1].max()


def harmonics_check(smile, y: np.ndarray, sr: int) -> dict[str, float]:
    """openSMILE's formant amplitudes against two models: the harmonic nearest the formant
    (``nearest``) and the strongest harmonic within +-20 % of its frequency (``span20``)."""
    levels, spec, bin_hz = harmonics_levels(smile, y, sr)
    f0 = levels["F0final"]
    row = {"frames": len(f0), "frames_without_f0": int((f0 <= 0).sum())}

    def level(i, hz):
        return harmonic_magnitude(spec[i], bin_hz, f0[i], hz)

    for k in (1, 2, 3):
        amp = levels[f"FormantAmplitudeByMaxHarmonicLogRelF0[{k}]"]
        freq = levels[f"formantFreqLpc[{k}]"]
        without = amp[f0 <= 0]
        at_floor = float(np.mean(without == -201.0)) if len(without) else np.nan
        row[f"A{k}_at_-201_without_f0"] = at_floor
        voiced = np.flatnonzero((f0 > 0) & (freq > 0))
        for name, span in [("nearest", None), ("span20", (0.8, 1.2))]:
            model = []
            for i in voiced:
                nearest = max(np.round(freq[i] / f0[i]), 1)
                harmonics = [nearest]
                if span is not None:
                    first = max(np.ceil(span[0] * freq[i] / f0[i]), 1)
                    last = np.floor(span[1] * freq[i] / f0[i])
                    harmonics = np.arange(first, last + 1) if last >= first else harmonics
                strongest = max(level(i, h * f0[i]) for h in harmonics)
                model.append(20 * np.log10(strongest / level(i, f0[i])))
            ok = np.isfinite(model)
            model_ok, ref = np.asarray(model)[ok], amp[voiced][ok]
            r = float(np.corrcoef(model_ok, ref)[0, 1]) if len(ref) > 2 else np.nan
            row[f"A{k}_r_{name}"] = r
            mad = float(np.median(np.abs(model_ok - ref))) if len(ref) else np.nan
            row[f"A{k}_mad_db_{name}"] = mad
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-corpus", type=int, default=6, help="tuning-half files per corpus")
    parser.add_argument("--harmonics", action="store_true", help="also probe cHarmonics")
    parser.add_argument("--out", type=Path, help="write the per-variant table (TSV)")
    args = parser.parse_args(argv)
    found = speech_and_reference()
    if found is None:
        return 0
    speech, opensmile = found
    sys.path.insert(0, str(REPO / "src"))
    import soundfile as sf

    workdir = Path(tempfile.mkdtemp(prefix="psymodal_formant_probe_"))
    conf = workdir / "formant_probe.conf"
    conf.write_text(PROBE_CONF, encoding="utf-8")

    signals: list[tuple[str, str, np.ndarray, int]] = []
    for sr in (8000, 16000, 22050, 44100, 48000):
        for f0, formants, tilt in [
            (120.0, (300, 2200, 3000), True),
            (120.0, (700, 1100, 2600), True),
            (200.0, (500, 1500, 2500), False),
            (250.0, (800, 1300, 2700), False),
        ]:
            label = f"vowel {formants} F0 {f0:.0f}{' tilt' if tilt else ''}"
            signals.append(("synthetic", label, vowel(sr, f0, formants, tilt), sr))
    counts: dict[str, int] = {}
    for item in corpus(speech, n_fsdd=160):
        if item.half != "tuning" or counts.get(item.corpus, 0) >= args.per_corpus:
            continue
        counts[item.corpus] = counts.get(item.corpus, 0) + 1
        y, sr = sf.read(item.path, dtype="float32", always_2d=True)
        signals.append((item.corpus, item.path.name, y.mean(axis=1).astype(float)[: 6 * sr], sr))

    rows, resampling = [], []
    for group, label, y, sr in signals:
        y = y.astype(np.float32).astype(float)  # what openSMILE reads
        levels = opensmile_levels(opensmile, conf, y, sr)
        resampling.append((group, sr, *resampling_error(levels, y, sr)))
        n = len(levels["freqs"])
        for name, (freqs, bws) in variants(y, sr, n).items():
            n_ok = min(n, len(freqs))
            row = {"group": group, "signal": label, "sr": sr, "variant": name}
            row.update(
                agreement(levels["freqs"][:n_ok], levels["bws"][:n_ok], freqs[:n_ok], bws[:n_ok])
            )
            if group == "synthetic":
                row.update(
                    {f"os_F{k + 1}": float(np.median(levels["freqs"][:, k])) for k in range(3)}
                )
                row.update({f"F{k + 1}": float(np.nanmedian(freqs[:, k])) for k in range(3)})
            rows.append(row)
    table = pd.DataFrame(rows)
    res = pd.DataFrame(resampling, columns=["group", "sr", "resampling_rel_err", "lpc_abs_err"])
    pd.set_option("display.width", 220)
    print("cSpecResample model (median over loud frames of max |model - openSMILE| / max |frame|)")
    print("and cLpc (median max |a - openSMILE's a|), per signal group and rate:")
    print(res.groupby(["group", "sr"]).median().to_string(float_format=lambda v: f"{v:.2e}"))
    synth = table[(table.group == "synthetic") & (table.sr == 16000)]
    cols = ["signal", "variant", "F1", "F2", "F3", "os_F1", "os_F2", "os_F3"]
    print("\nSynthetic vowels at 16 kHz: median F1-F3 (Hz) per variant and openSMILE's")
    print(synth[cols].to_string(index=False, float_format=lambda v: f"{v:.0f}"))
    print("\nFrame agreement with cFormantLpc (median over signals of r and median |diff| Hz):")
    metric_cols = [c for c in table.columns if c.endswith(("_r", "_mad_hz"))]
    real = table[table.group != "synthetic"]
    for title, part in [
        ("all real/generated corpus files", real),
        ("synthetic vowels", table[table.group == "synthetic"]),
    ]:
        print(f"-- {title} ({len(part) // len(VARIANTS)} signals)")
        summary = part.groupby("variant")[metric_cols].median().loc[VARIANTS]
        print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    if args.harmonics:
        smile = harmonics_smile(opensmile, workdir)
        checks = [
            {"group": group, **harmonics_check(smile, y, sr)}
            for group, _, y, sr in signals
            # the python wrapper sizes the spectrum's columns for 16 kHz input
            if group != "synthetic" and sr == 16000
        ]
        print("\ncHarmonics: formant amplitudes (16 kHz files; per corpus, medians over files)")
        print(
            pd.DataFrame(checks).groupby("group").median().to_string(float_format="{:.3f}".format)
        )
    if args.out:
        table.to_csv(args.out, sep="\t", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
