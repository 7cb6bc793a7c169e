"""openSMILE's eGeMAPS harmonic differences (``logRelF0-H1-H2``, ``logRelF0-H1-A3``), probed
as a black box.

openSMILE's source is not read (non-commercial licence). A probe configuration includes the
shipped ``GeMAPSv01b_core.lld.conf.inc`` (``cHarmonics`` with ``harmonicDifferences =
H1-H2;H1-A3``) and exports its F0, formant, harmonics and 60 ms magnitude-spectrum levels
(:data:`egemaps_formant_probe.HARMONICS_CONF`).

1. Harmonic complexes at 16 kHz (F0 200 Hz, 1 s): the amplitude of one harmonic varied with
   the others fixed. Reported: openSMILE's median H1-H2 and H1-A3 over voiced frames, and
   ``20 log10(a1 / a2)`` and ``20 log10(a2 / a3)`` beside them. (Measured: its H1-H2 follows
   ``20 log10(a2 / a3)`` and does not move with ``a1``; its H1-A3 moves with ``a2``, not
   ``a1``: it reads harmonics 2 and 3 where the names say 1 and 2.)
2. The tuning half's 16 kHz files (the Python wrapper sizes the spectrum's columns for that
   rate), frame by frame on openSMILE's own F0 and spectrum: its H1-H2 against the level
   difference (maximum magnitude within +-F0/2 of the harmonic, dB) of harmonics 1 and 2
   and of harmonics 2 and 3; its H1-A3 against ``H1 - A3`` and ``H2 - A3`` (A3 from its
   formant amplitude relative to H1). Frames where it writes about +-180 dB (a harmonic at
   its log floor, see below) are counted apart.

Usage::

    python benchmarks/egemaps_harmonics_probe.py [--per-corpus 4]

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
from egemaps_formant_probe import (  # noqa: E402
    harmonic_magnitude,
    harmonics_levels,
    harmonics_smile,
)
from speech_validate_opensmile import speech_and_reference  # noqa: E402

SR = 16000
# openSMILE writes about +-180 dB where one of the two harmonics has no spectral peak.
FLOORED_DB = 100.0


def complexes(smile) -> pd.DataFrame:
    """openSMILE's harmonic differences of harmonic complexes with one amplitude varied."""
    t = np.arange(SR) / SR
    rows = []
    cases = [("a2", [1.0, a, 0.1] + [0.3 / k for k in range(4, 20)]) for a in (0.1, 0.3, 1, 2)]
    cases += [("a3", [1.0, 0.5, a] + [0.02] * 16) for a in (0.05, 0.2, 0.5, 1.0)]
    cases += [("a1", [a, 0.5, 0.2] + [0.02] * 16) for a in (0.2, 1.0, 3.0)]
    for varied, amps in cases:
        y = sum(a * np.sin(2 * np.pi * (k + 1) * 200.0 * t) for k, a in enumerate(amps))
        y = 0.3 * y / np.abs(y).max()
        frame = smile.process_signal(y.astype(np.float32), SR)
        voiced = frame["F0final"].to_numpy() > 0
        rows.append(
            {
                "varied": varied,
                "a1": amps[0],
                "a2": amps[1],
                "a3": amps[2],
                "20log10(a1/a2)": 20 * np.log10(amps[0] / amps[1]),
                "20log10(a2/a3)": 20 * np.log10(amps[1] / amps[2]),
                "openSMILE H1-H2": float(
                    np.median(frame["HarmonicDifferenceLogRelH1-H2"].to_numpy()[voiced])
                ),
                "openSMILE H1-A3": float(
                    np.median(frame["HarmonicDifferenceLogRelH1-A3"].to_numpy()[voiced])
                ),
            }
        )
    return pd.DataFrame(rows)


def real_frames(smile, y: np.ndarray, sr: int) -> dict[str, float]:
    """Frame-level agreement of the two readings on openSMILE's own F0 and spectrum."""
    levels_of, spec, bin_hz = harmonics_levels(smile, y, sr)
    f0 = levels_of["F0final"]
    h1h2 = levels_of["HarmonicDifferenceLogRelH1-H2"]
    h1a3 = levels_of["HarmonicDifferenceLogRelH1-A3"]
    a3 = levels_of["FormantAmplitudeByMaxHarmonicLogRelF0[3]"]
    voiced = f0 > 0
    floored = voiced & ((np.abs(h1h2) >= FLOORED_DB) | (np.abs(h1a3) >= FLOORED_DB))
    use = np.flatnonzero(voiced & ~floored & np.isfinite(a3))

    def level(i: int, k: int) -> float:
        return 20 * np.log10(harmonic_magnitude(spec[i], bin_hz, f0[i], k * f0[i]))

    levels = np.array([[level(i, k) for k in (1, 2, 3)] for i in use]).reshape(-1, 3)
    a3_level = levels[:, 0] + a3[use]  # A3 relative to H1, made absolute
    models = {
        "H1-H2 = L1 - L2": (levels[:, 0] - levels[:, 1], h1h2[use]),
        "H1-H2 = L2 - L3": (levels[:, 1] - levels[:, 2], h1h2[use]),
        "H1-A3 = L1 - A3": (levels[:, 0] - a3_level, h1a3[use]),
        "H1-A3 = L2 - A3": (levels[:, 1] - a3_level, h1a3[use]),
    }
    row: dict[str, float] = {"voiced": int(voiced.sum()), "floored": int(floored.sum())}
    for name, (model, ref) in models.items():
        ok = np.isfinite(model)
        row[f"r {name}"] = float(np.corrcoef(model[ok], ref[ok])[0, 1]) if ok.sum() > 2 else np.nan
        row[f"|d| {name}"] = float(np.median(np.abs(model[ok] - ref[ok]))) if ok.any() else np.nan
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-corpus", type=int, default=4, help="tuning-half files per corpus")
    args = parser.parse_args(argv)
    found = speech_and_reference()
    if found is None:
        return 0
    speech, opensmile = found
    sys.path.insert(0, str(REPO / "src"))
    from psymodal.speech import load_audio

    pd.set_option("display.width", 200)
    with tempfile.TemporaryDirectory() as tmp:
        smile = harmonics_smile(opensmile, Path(tmp))
        print("1. Harmonic complexes (F0 200 Hz, 16 kHz); medians over voiced frames")
        print(complexes(smile).round(2).to_string(index=False))
        rows, counts = [], {}
        for item in corpus(speech, n_fsdd=40):
            if item.half != "tuning" or counts.get(item.corpus, 0) >= args.per_corpus:
                continue
            y, sr = load_audio(item.path, sample_rate=None)
            if sr != SR:
                continue
            counts[item.corpus] = counts.get(item.corpus, 0) + 1
            rows.append({"file": item.path.name, **real_frames(smile, y, sr)})
    table = pd.DataFrame(rows)
    print("\n2. Tuning-half 16 kHz files, frame by frame on openSMILE's F0 and spectrum")
    print(table.round(3).to_string(index=False))
    print("\nmedians over files:")
    print(table.drop(columns=["file"]).median().round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
