"""openSMILE's eGeMAPS pitch chain, characterised frame by frame as a black box.

openSMILE's source is not read (non-commercial licence). openSMILE runs a probe configuration
that includes the shipped ``GeMAPSv01b_core.lld.conf.inc`` (the chain eGeMAPSv02 uses: 60 ms
Gaussian frames, ``cTransformFFT``, ``cFFTmagphase``, ``cSpecScale`` octave scale from 25 Hz
with spline interpolation, spectral enhancement, smoothing and auditory weighting,
``cPitchShs`` 15 harmonics, compression 0.85, 55-1000 Hz, 6 candidates, voicingCutoff 0.7,
``cPitchSmootherViterbi``, the 0.001 RMS energy gate) and exports its intermediate levels with
a ``cVectorConcat`` sink: per frame the SHS candidates (F0, voicing probability, score), F0raw,
the Viterbi-smoothed F0 and voicing, the energy-gated final F0 (the F0semitoneFrom27.5Hz LLD
before smoothing) and the frame RMS; for 16 kHz files also the 60 ms magnitude spectrum and
the octave-scale spectrum (the Python wrapper sizes those columns for 16 kHz only). Each level
is compared with psymodal's model of it:

1. ``cSpecScale``: the magnitude spectrum enhanced as measured (the bins between
   two successive local maxima more than two bins from both zeroed, the edge bins counted as
   maxima, the bins below the first maximum and above the last kept), 3-point smoothed,
   natural cubic spline onto as many octave-scale points (25 Hz to Nyquist) as the spectrum
   has bins, weighted by ``0.5 + atan(3 (log2 f - 5)) / pi`` (a knee at 32 Hz; Hermes' 65 Hz
   does not fit). Reported: the median over frames of
   max |model - openSMILE| / max |openSMILE|.
2. ``cPitchShs`` (:func:`psymodal.speech.shs.opensmile_pitch` on openSMILE's frames): the SHS
   spectrum is the mean over 15 harmonics of ``0.85^(n-1) P(s + k_n)``, with the whole
   number of points ``k_n = floor(log2 n * n_points / octaves spanned)``; the candidates are
   the 6 highest local maxima of the whole SHS spectrum, less those outside 55-1000 Hz (so
   a frame can have none); a candidate's voicing probability is
   ``1 - mean(SHS spectrum) / score``; F0raw is the best candidate where that reaches 0.7.
   (``shsSpectrumOutput = 1`` in the ``cPitchShs`` section makes openSMILE write its SHS
   spectrum to the level ``___shs__dummy__``, which a probe configuration can export: how
   these rules were measured.) Reported: the share of frames where both or neither have a
   candidate, median |voicing difference| of the best candidate, median |F0 difference|
   (semitones) and the share of frames more than 1 semitone apart.
3. ``cPitchSmootherViterbi``: how often its voicing equals "best candidate's voicing >=
   0.7", before and after psymodal's model of it (voiced runs of <= 2 frames dropped, then
   1-frame gaps voiced), and how many voiced runs each gives.
4. The eGeMAPS F0 as psymodal computes it on the library path (files above 16 kHz resampled
   to 16 kHz with openSMILE's spectrum at the file's rate emulated; at 22.05 kHz to the rate
   where a grid step is openSMILE's, the SHS on its own frames of the file; grid frame =
   openSMILE frame centre), against openSMILE's final F0: frame agreement of voicing and
   median |F0 difference| for ``pitch_method`` ``opensmile_shs`` (the default) and ``yin``
   (psymodal's YIN tracker, extended and bridged: the eGeMAPS voicing until this probe).

Signals: the tuning half of the eGeMAPS validation corpus (:mod:`egemaps_corpus`: FSDD,
LibriSpeech, PC-GITA, ARCTIC, espeak-ng and demo voices), up to ``--per-corpus`` files per
corpus, the first ``--seconds`` of each. Usage::

    python benchmarks/egemaps_pitch_probe.py [--per-corpus 6] [--seconds 8] [--out probe.tsv]

Exits cleanly (status 0, with a message) when openSMILE or the shared data is absent.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from egemaps_corpus import corpus  # noqa: E402
from speech_validate_opensmile import speech_and_reference  # noqa: E402

PROBE_CONF = """
[componentInstances:cComponentManager]
instance[dataMemory].type=cDataMemory
printLevelStats=0

\\{\\cm[source{?}:include external source]}
\\{CORE_LLD}

[componentInstances:cComponentManager]
instance[probe_concat].type=cVectorConcat

[probe_concat:cVectorConcat]
reader.dmLevel = LEVELS
writer.dmLevel = lld
includeSingleElementFields = 1

\\{\\cm[sink{?}:include external sink]}
"""
PITCH_LEVELS = "gemapsv01b_pitchShsG60;gemapsv01b_logPitchRaw;gemapsv01b_logPitch;gemapsv01b_e60"
SPECTRUM_LEVELS = "gemapsv01b_fftmagG60;gemapsv01b_hpsG60"
# Columns of the pitch levels: nCandidates, F0Cand[0-5], candVoicing[0-5], candScores[0-5],
# F0raw, voicingClip, (F0final, F0finalLog, voicingFinalUnclipped) x 2, pcm_RMSenergy.
CAND_F0, CAND_VOICING, VITERBI_F0, FINAL_F0, RMS = 1, 7, 21, 24, 27
CUTOFF = 0.7


def probe_conf(workdir: Path, opensmile, name: str, levels: str) -> Path:
    core = Path(opensmile.__file__).parent / "core" / "config" / "gemaps" / "v01b"
    conf = workdir / f"{name}.conf"
    text = PROBE_CONF.replace("CORE_LLD", str(core / "GeMAPSv01b_core.lld.conf.inc"))
    conf.write_text(text.replace("LEVELS", levels), encoding="utf-8")
    return conf


def opensmile_frames(y: np.ndarray, sr: int) -> tuple[np.ndarray, int, int]:
    """openSMILE's 60 ms Gaussian frames (frame k starts at k hops), length and hop."""
    from psymodal.speech.egemaps import _gaussian_window

    length, hop = int(round(0.060 * sr)), int(0.010 * sr + 0.5)
    n = max((len(y) - length) // hop + 1, 0)
    idx = np.arange(n)[:, None] * hop + np.arange(length)[None, :]
    return y[idx] * _gaussian_window(length), length, hop


def runs(mask: np.ndarray) -> np.ndarray:
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return np.c_[np.flatnonzero(d == 1), np.flatnonzero(d == -1)]


def viterbi_model(voiced: np.ndarray) -> np.ndarray:
    """psymodal's model of the smoother: runs of <= 2 frames dropped, 1-frame gaps voiced."""
    from psymodal.speech.egemaps import _SHS_MAX_BLIP, _SHS_MAX_GAP

    out = voiced.copy()
    for a, b in runs(out):
        if b - a <= _SHS_MAX_BLIP:
            out[a:b] = False
    for a, b in runs(~out):
        if 0 < a and b < len(out) and b - a <= _SHS_MAX_GAP:
            out[a:b] = True
    return out


def spectrum_error(opensmile, conf: Path, y: np.ndarray, sr: int) -> float:
    """Median over loud frames of max |model - openSMILE| / max of the octave spectrum."""
    import scipy.interpolate

    from psymodal.speech.shs import _OPENSMILE_KNEE_LOG2, _enhanced_magnitude

    smile = opensmile.Smile(feature_set=str(conf), feature_level="lld")
    values = smile.process_signal(y.astype(np.float32), sr).to_numpy(dtype=float)
    n_bins = values.shape[1] // 2
    mag, octave_spec = values[:, :n_bins], values[:, n_bins:]
    freqs = np.arange(n_bins) * sr / (2 * (n_bins - 1))
    octave = np.linspace(np.log2(25.0), np.log2(sr / 2), n_bins)
    # The enhancement kernel reads complex spectra: openSMILE's magnitudes as real parts.
    parts = np.zeros((len(mag), 2 * n_bins), dtype=np.float32)
    parts[:, 0::2] = mag
    enhanced = _enhanced_magnitude(parts, n_bins, True).astype(float)
    smoothed = enhanced.copy()
    smoothed[:, 1:-1] = 0.25 * enhanced[:, :-2] + 0.5 * enhanced[:, 1:-1] + 0.25 * enhanced[:, 2:]
    model = scipy.interpolate.CubicSpline(freqs, smoothed.T, bc_type="natural")(2**octave).T
    model *= 0.5 + np.arctan(3 * (octave - _OPENSMILE_KNEE_LOG2)) / np.pi
    peak = octave_spec.max(axis=1)
    loud = peak > 1e-3 * peak.max()
    err = np.abs(model - octave_spec).max(axis=1)[loud] / peak[loud]
    return float(np.median(err))


def library_f0(y: np.ndarray, sr: int, method: str) -> tuple[np.ndarray, float]:
    """psymodal's eGeMAPS F0 (Hz, NaN = unvoiced) on the library path, and its frame period
    (s): 10 ms, or openSMILE's step where a file's rate makes it drift (22.05 kHz)."""
    from psymodal.speech.audio import n_frames, resample
    from psymodal.speech.egemaps import EGEMAPS_DEFAULTS, _egemaps_f0, _on_opensmile_steps
    from psymodal.speech.features import resolve_settings
    from psymodal.speech.prosody import track_pitch

    native, y_native = sr, y
    if sr > 16000:
        y, sr = resample(y, sr, 16000), 16000
    cfg = resolve_settings({}, sr)
    hop = int(cfg["hop_length"])
    ege = {**EGEMAPS_DEFAULTS, **cfg["egemaps"], "pitch_method": method}
    stepped = _on_opensmile_steps(y_native, native, sr, hop, ege) if native > sr else None
    if stepped is not None:
        y, sr = stepped
        n = n_frames(len(y), hop)
        _, f0, _ = _egemaps_f0(y, sr, hop, None, n, ege, native, (y_native, native))
        return f0, hop / sr
    pitch = track_pitch(y, sr, int(cfg["frame_length"]), hop, cfg["pitch"])
    _, f0, _ = _egemaps_f0(y, sr, hop, pitch, len(pitch.f0), ege, native)
    return f0, hop / sr


def probe_file(opensmile, pitch_conf, spectrum_conf, y, sr) -> dict[str, float]:
    from psymodal.speech.shs import opensmile_pitch

    smile = opensmile.Smile(feature_set=str(pitch_conf), feature_level="lld")
    os_levels = smile.process_signal(y.astype(np.float32), sr).to_numpy(dtype=float)
    frames, length, hop = opensmile_frames(y, sr)
    n = min(len(frames), len(os_levels))
    os_levels, frames = os_levels[:n], frames[:n]
    row: dict[str, float] = {"frames": n}
    if spectrum_conf is not None and sr == 16000:
        row["spec_scale_err"] = spectrum_error(opensmile, spectrum_conf, y, sr)
    # 2. cPitchShs on openSMILE's own frames.
    f0, voicing = opensmile_pitch(frames, sr)
    c0, v0 = os_levels[:, CAND_F0], os_levels[:, CAND_VOICING]
    both = (c0 > 0) & np.isfinite(f0)
    row["shs_candidate_agreement"] = float(np.mean((os_levels[:, 0] > 0) == np.isfinite(f0)))
    st = np.abs(12 * np.log2(f0[both] / c0[both]))
    row["shs_voicing_absdiff"] = float(np.median(np.abs(voicing[both] - v0[both])))
    row["shs_f0_absdiff_st"] = float(np.median(st))
    row["shs_f0_over_1st"] = float(np.mean(st > 1))
    # 3. The smoother against the best candidate's voicing.
    viterbi = os_levels[:, VITERBI_F0] > 0
    raw = v0 >= CUTOFF
    row["viterbi_eq_cutoff"] = float(np.mean(viterbi == raw))
    row["viterbi_eq_model"] = float(np.mean(viterbi == viterbi_model(raw)))
    row["runs_viterbi"], row["runs_cutoff"] = len(runs(viterbi)), len(runs(raw))
    row["runs_model"] = len(runs(viterbi_model(raw)))
    # 4. The library's eGeMAPS F0 against openSMILE's final F0, frame centres matched.
    final = os_levels[:, FINAL_F0]
    for method in ("opensmile_shs", "yin"):
        ours, period = library_f0(y, sr, method)
        centre = (np.arange(n) * hop + length / 2) / sr
        grid = np.round(centre / period).astype(int)
        ok = grid < len(ours)
        mine, ref = ours[grid[ok]], final[ok]
        row[f"{method}_voicing_agreement"] = float(np.mean(np.isfinite(mine) == (ref > 0)))
        voiced = np.isfinite(mine) & (ref > 0)
        diff = np.abs(12 * np.log2(mine[voiced] / ref[voiced])) if voiced.any() else [np.nan]
        row[f"{method}_f0_absdiff_st"] = float(np.median(diff))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-corpus", type=int, default=6, help="tuning-half files per corpus")
    parser.add_argument("--seconds", type=float, default=8.0, help="first seconds of each file")
    parser.add_argument("--out", type=Path, help="write the per-file table (TSV)")
    args = parser.parse_args(argv)
    found = speech_and_reference()
    if found is None:
        return 0
    speech, opensmile = found
    sys.path.insert(0, str(REPO / "src"))
    import soundfile as sf

    workdir = Path(tempfile.mkdtemp(prefix="psymodal_pitch_probe_"))
    pitch_conf = probe_conf(workdir, opensmile, "pitch_probe", PITCH_LEVELS)
    spectrum_conf = probe_conf(workdir, opensmile, "spectrum_probe", SPECTRUM_LEVELS)
    rows, counts = [], {}
    for item in corpus(speech, n_fsdd=160):
        if item.half != "tuning" or counts.get(item.corpus, 0) >= args.per_corpus:
            continue
        counts[item.corpus] = counts.get(item.corpus, 0) + 1
        y, sr = sf.read(item.path, dtype="float32", always_2d=True)
        y = y.mean(axis=1)[: int(args.seconds * sr)].astype(float)
        row = {"corpus": item.corpus, "file": item.path.name, "sr": sr}
        row.update(probe_file(opensmile, pitch_conf, spectrum_conf, y, sr))
        rows.append(row)
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    metrics = [c for c in table.columns if c not in ("corpus", "file", "sr", "frames")]
    counts_cols = [c for c in metrics if c.startswith("runs_")]
    medians = table.groupby("corpus")[[m for m in metrics if m not in counts_cols]].median()
    medians.loc["all files"] = table[[m for m in metrics if m not in counts_cols]].median()
    print(f"{len(table)} files, {int(table.frames.sum())} openSMILE frames; medians over files")
    print(medians.T.to_string(float_format=lambda v: f"{v:.4f}"))
    print("\nvoiced runs (sums): ", table[counts_cols].sum().to_dict())
    if args.out:
        table.to_csv(args.out, sep="\t", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
