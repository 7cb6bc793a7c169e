"""Privacy and utility of McAdams voice anonymisation (psymodal.speech.anonymize).

Privacy: the equal error rate (EER) of speaker verification with a pretrained speaker encoder
(Resemblyzer's GE2E model, shipped in its wheel, offline) over every pair of FSDD utterances
(same speaker = target trial), in three conditions, the first being the named baseline:

- ``original``: both utterances original (how identifiable the speakers are to begin with);
- ``ignorant``: enrolment original, trial anonymised (an attacker with clean recordings);
- ``lazy-informed``: both anonymised with the same coefficient (an attacker who knows the
  method and anonymises the enrolment too).

Utility: how much psymodal's speech features move: per feature the Pearson r across files
between original and anonymised and the median absolute difference (the FSDD files plus the
longer LibriSpeech and PC-GITA recordings), and the median relative change on the longer
recordings alone (clinical recordings are long; FSDD digits last 0.3-0.8 s).

Resemblyzer is a benchmark-only dependency: ``pip install --no-deps resemblyzer==0.1.4
webrtcvad-wheels`` (its declared ``typing`` requirement is an outdated backport). The script
prints SKIP and exits 0 without it or without the shared data.

Usage::

    python benchmarks/speech_anonymization.py [--per-speaker 40] [--alpha 0.8 0.9]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from speech_validate_opensmile import shared_speech_dir  # noqa: E402

from psymodal.speech.egemaps import psymodal_name  # noqa: E402

# eGeMAPS names as psymodal's columns carry them (``pm_`` where renamed: docs/egemaps_fidelity.md)
UTILITY = [
    psymodal_name(name)
    for name in (
        "F0semitoneFrom27.5Hz_sma3nz_amean",
        "F0semitoneFrom27.5Hz_sma3nz_stddevNorm",
        "jitterLocal_sma3nz_amean",
        "HNRdBACF_sma3nz_amean",
        "loudness_sma3_amean",
        "VoicedSegmentsPerSec",
        "pause_ratio",
        "speech_rate_syll_per_s",
        "F1frequency_sma3nz_amean",
        "F2frequency_sma3nz_amean",
        "mfcc2_sma3_amean",
    )
]


def equal_error_rate(scores: np.ndarray, target: np.ndarray) -> float:
    """EER: the rate at which false acceptances equal false rejections (ROC interpolation)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(target.astype(int), scores)
    fnr = 1.0 - tpr
    i = int(np.nanargmin(np.abs(fnr - fpr)))
    return float((fpr[i] + fnr[i]) / 2.0)


def pair_scores(enrol: np.ndarray, trial: np.ndarray, speakers: np.ndarray):
    """Cosine scores and target flags of every pair i < j of utterances."""
    i, j = np.triu_indices(len(speakers), k=1)
    scores = np.einsum("ij,ij->i", enrol[i], trial[j])
    return scores, speakers[i] == speakers[j]


def fsdd_sample(speech: Path, per_speaker: int) -> list[Path]:
    """The first ``per_speaker`` recordings of every FSDD speaker, all digits mixed."""
    files = sorted((speech / "fsdd").glob("*.wav"))
    by_speaker: dict[str, list[Path]] = {}
    for path in files:
        # <digit>_<speaker>_<repetition>.wav; repetitions cycle through the digits.
        by_speaker.setdefault(path.stem.split("_")[1], []).append(path)
    out = []
    for speaker in sorted(by_speaker):
        ordered = sorted(by_speaker[speaker], key=lambda p: (int(p.stem.split("_")[2]), p.name))
        out += ordered[:per_speaker]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-speaker", type=int, default=40, help="FSDD files per speaker")
    parser.add_argument(
        "--alpha", type=float, nargs="+", default=[0.8, 0.9], help="McAdams coefficients"
    )
    args = parser.parse_args(argv)

    speech = shared_speech_dir()
    if speech is None:
        print("SKIP: shared speech data not found (/work/shared or ../shared)")
        return 0
    try:
        from resemblyzer import VoiceEncoder, preprocess_wav
    except ImportError:
        print("SKIP: resemblyzer not installed (pip install --no-deps resemblyzer==0.1.4 ...)")
        return 0
    sys.path.insert(0, str(REPO / "src"))
    from psymodal.speech import extract_features, load_audio
    from psymodal.speech.anonymize import mcadams_anonymize
    from psymodal.workflow.threads import limit_threads

    limit_threads(1)
    encoder = VoiceEncoder("cpu", verbose=False)

    def embed(y, sr):
        return encoder.embed_utterance(preprocess_wav(y.astype(np.float32), source_sr=sr))

    fsdd = fsdd_sample(speech, args.per_speaker)
    longer = sorted((speech / "librispeech").glob("*.ogg")) + sorted(
        (speech / "pcgita").glob("*.wav")
    )
    speakers = np.array([p.stem.split("_")[1] for p in fsdd])
    signals = [load_audio(p, sample_rate=None) for p in fsdd + longer]
    seconds = sum(len(y) / sr for y, sr in signals)
    print(
        f"{len(fsdd)} FSDD files ({len(set(speakers))} speakers) + {len(longer)} longer "
        f"recordings, {seconds:.0f} s of audio"
    )
    original = np.stack([embed(y, sr) for y, sr in signals[: len(fsdd)]])
    scores, target = pair_scores(original, original, speakers)
    eer_original = equal_error_rate(scores, target)
    print(
        f"\nbaseline, original vs original: EER {eer_original:.3f} ({int(target.sum())} "
        f"target and {int((~target).sum())} non-target trials)"
    )
    settings = {"egemaps": {"nyquist_policy": "keep"}}
    features_original = pd.DataFrame([extract_features(y, sr, settings) for y, sr in signals])

    rows, utility = [], []
    for alpha in args.alpha:
        t0 = time.perf_counter()
        anonymised = [(mcadams_anonymize(y, sr, alpha=alpha), sr) for y, sr in signals]
        speed = seconds / (time.perf_counter() - t0)
        anon = np.stack([embed(y, sr) for y, sr in anonymised[: len(fsdd)]])
        eer_ignorant = equal_error_rate(*pair_scores(original, anon, speakers))
        eer_lazy = equal_error_rate(*pair_scores(anon, anon, speakers))
        rows.append(
            {
                "alpha": alpha,
                "eer_original": eer_original,
                "eer_ignorant": eer_ignorant,
                "eer_lazy_informed": eer_lazy,
                "ratio_ignorant": eer_ignorant / eer_original,
                "ratio_lazy_informed": eer_lazy / eer_original,
                "x_real_time": speed,
            }
        )
        features_anon = pd.DataFrame([extract_features(y, sr, settings) for y, sr in anonymised])
        for name in UTILITY:
            a = features_original[name].to_numpy(float)
            b = features_anon[name].to_numpy(float)
            ok = np.isfinite(a) & np.isfinite(b)
            r = np.corrcoef(a[ok], b[ok])[0, 1] if ok.sum() > 2 else np.nan
            long_ok = ok & (np.arange(len(a)) >= len(fsdd))
            with np.errstate(divide="ignore", invalid="ignore"):
                change = (b[long_ok] - a[long_ok]) / np.abs(a[long_ok])
            change = change[np.isfinite(change)]
            utility.append(
                {
                    "alpha": alpha,
                    "feature": name,
                    "n": int(ok.sum()),
                    "pearson_r": r,
                    "median_abs_diff": float(np.median(np.abs(a[ok] - b[ok]))),
                    "median_original": float(np.median(a[ok])),
                    "median_rel_change_longer": float(np.median(change)) if len(change) else np.nan,
                }
            )
    pd.set_option("display.width", 200)
    fmt = {"float_format": lambda v: f"{v:.3f}", "index": False}
    print("\nprivacy (EER: higher hides the speaker better; 0.5 = chance):")
    print(pd.DataFrame(rows).to_string(**fmt))
    print("\nutility (original vs anonymised, same files):")
    print(pd.DataFrame(utility).to_string(**fmt))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
