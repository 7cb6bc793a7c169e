"""Voice anonymisers against the VoicePrivacy attackers on FSDD, and their utility cost.

Protocol (6 FSDD speakers, 3,000 digits): each speaker's model is the mean embedding of its
repetitions 0-9 (100 utterances); trials are repetitions 10-49 scored against every speaker
model (2,400 target and 12,000 non-target trials); cosine scores; equal error rate (EER) with a
95 % bootstrap interval over trials. Embeddings: z-normalised MFCC statistics (mean and SD of 20
MFCCs; z-scored with the enrolment set's statistics) and, when installed, Resemblyzer's
pretrained GE2E speaker encoder (``pip install --no-deps resemblyzer==0.1.4 webrtcvad-wheels``).

Attackers (the trials are always anonymised with the study's key):

- none: enrolment and trials original (the named baseline: how identifiable the speakers are);
- ignorant: enrols on original speech;
- lazy-informed: anonymises its enrolment with the public tool (its own key: it does not hold
  the study's);
- semi-informed: as lazy-informed, and trains an LDA on its anonymised enrolment utterances
  (speakers as classes) and scores in the LDA space.

Anonymisers: ``mcadams`` at alpha 0.8 for everyone (the published baseline; nothing secret),
``mcadams-keyed`` (alpha 0.8 +- 0.05 drawn per speaker from the key), ``world`` (a pseudo-speaker
per speaker: formant warp and F0 target drawn from the key, :mod:`psymodal.speech.anonymize`).

Utility on connected speech (the three LibriSpeech clips and PC-GITA's read text): median
relative change of psymodal's speech rate, mean F0 (Hz) and pause ratio.

Usage::

    python benchmarks/privacy_voice.py [--speech /work/shared/data/speech] [--bootstrap 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.privacy.pseudonyms import demo_key, speaker_uniform
from psymodal.speech import extract_features, load_audio
from psymodal.speech.anonymize import mcadams_anonymize, pseudo_speaker, world_anonymize
from psymodal.workflow.threads import limit_threads

STUDY_KEY, ATTACKER_KEY = demo_key(1), demo_key(2)
SPEAKERS = ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]


def _u(speaker: str, key: bytes, salt: str) -> float:
    return speaker_uniform(f"{speaker}:{salt}", key)


def anonymiser(name: str, speaker: str, key: bytes):
    """The function that anonymises one of ``speaker``'s recordings under ``key``."""
    if name == "mcadams":
        return lambda y, sr: mcadams_anonymize(y, sr, alpha=0.8)
    if name == "mcadams-keyed":
        alpha = 0.8 + 0.05 * (2 * _u(speaker, key, "alpha") - 1)
        return lambda y, sr: mcadams_anonymize(y, sr, alpha=alpha)
    if name == "world":
        p = pseudo_speaker(_u(speaker, key, "d"), _u(speaker, key, "s"), _u(speaker, key, "f"))
        return lambda y, sr: world_anonymize(y, sr, **p)
    raise ValueError(name)


def mfcc_stats(y: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    m = librosa.feature.mfcc(y=y.astype(np.float32), sr=sr, n_mfcc=20, n_mels=40, n_fft=256,
                             hop_length=80)  # fmt: skip
    return np.r_[m.mean(axis=1), m.std(axis=1)]


def equal_error_rate(scores: np.ndarray, target: np.ndarray) -> float:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(target.astype(int), scores)
    fnr = 1 - tpr
    i = int(np.nanargmin(np.abs(fnr - fpr)))
    return float((fpr[i] + fnr[i]) / 2)


def eer_ci(scores, target, n_boot: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    values = [
        equal_error_rate(scores[idx], target[idx])
        for idx in (rng.integers(0, len(scores), len(scores)) for _ in range(n_boot))
    ]
    return equal_error_rate(scores, target), *np.percentile(values, [2.5, 97.5])


def verification(enrol, enrol_spk, trial, trial_spk, lda: bool):
    """Scores of every trial against every speaker model, and which trials are targets."""
    mu, sd = enrol.mean(axis=0), enrol.std(axis=0) + 1e-9
    enrol, trial = (enrol - mu) / sd, (trial - mu) / sd
    if lda:
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

        model = LinearDiscriminantAnalysis().fit(enrol, enrol_spk)
        enrol, trial = model.transform(enrol), model.transform(trial)
    models = np.stack([enrol[enrol_spk == s].mean(axis=0) for s in SPEAKERS])
    models /= np.linalg.norm(models, axis=1, keepdims=True)
    trial = trial / np.linalg.norm(trial, axis=1, keepdims=True)
    scores = trial @ models.T
    target = trial_spk[:, None] == np.array(SPEAKERS)[None, :]
    return scores.ravel(), target.ravel()


def utility(signals, name) -> dict:
    settings = {"egemaps": {"enabled": False}}
    rows = []
    for index, (y, sr) in enumerate(signals):
        z = anonymiser(name, f"connected{index}", STUDY_KEY)(y, sr)
        a, b = extract_features(y, sr, settings), extract_features(z, sr, settings)
        row = {}
        for key in ("speech_rate_syll_per_s", "f0_mean_hz", "pause_ratio"):
            row[key] = b[key] / a[key] - 1
        rows.append(row)
    return pd.DataFrame(rows).median().to_dict()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speech", type=Path, default=Path("/work/shared/data/speech"))
    parser.add_argument("--anonymisers", nargs="+", default=["mcadams", "mcadams-keyed", "world"])
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args(argv)
    limit_threads(1)
    start = time.perf_counter()
    files = sorted((args.speech / "fsdd").glob("*.wav"))
    meta = pd.DataFrame([p.stem.split("_") for p in files], columns=["digit", "speaker", "rep"])
    meta["rep"] = meta["rep"].astype(int)
    audio = [load_audio(p, sample_rate=None) for p in files]
    enrol_rows = np.flatnonzero(meta["rep"] < 10)
    trial_rows = np.flatnonzero(meta["rep"] >= 10)
    spk = meta["speaker"].to_numpy()
    embedders = {"z-MFCC": mfcc_stats}
    try:
        from resemblyzer import VoiceEncoder, preprocess_wav

        encoder = VoiceEncoder("cpu", verbose=False)
        embedders["Resemblyzer"] = lambda y, sr: encoder.embed_utterance(
            preprocess_wav(y.astype(np.float32), source_sr=sr)
        )
    except ImportError:
        print("Resemblyzer not installed: z-MFCC only")

    def embed_all(signals, rows):
        return {n: np.stack([f(*signals[i]) for i in rows]) for n, f in embedders.items()}

    original = embed_all(audio, range(len(audio)))
    results = []
    for name, emb in original.items():
        for lda in (False, True):
            s, t = verification(emb[enrol_rows], spk[enrol_rows], emb[trial_rows],
                                spk[trial_rows], lda)  # fmt: skip
            eer, lo, hi = eer_ci(s, t, args.bootstrap)
            attacker = "none (original)" + (" + LDA" if lda else "")
            results.append({"anonymiser": "-", "attacker": attacker, "embedding": name,
                            "eer": eer, "ci_low": lo, "ci_high": hi})  # fmt: skip
    print(f"original embedded: {time.perf_counter() - start:.0f} s", flush=True)
    connected = [load_audio(p, sample_rate=16000) for p in
                 sorted((args.speech / "librispeech").glob("*.ogg"))
                 + [args.speech / "pcgita" / "001_readtext_PCGITA.wav"]]  # fmt: skip
    utilities = []
    for name in args.anonymisers:
        t0 = time.perf_counter()
        trials = {i: (anonymiser(name, spk[i], STUDY_KEY)(*audio[i]), audio[i][1])
                  for i in trial_rows}  # fmt: skip
        attacker_enrol = {i: (anonymiser(name, spk[i], ATTACKER_KEY)(*audio[i]), audio[i][1])
                          for i in enrol_rows}  # fmt: skip
        anon_trial = embed_all(trials, trial_rows)
        anon_enrol = embed_all(attacker_enrol, enrol_rows)
        for emb in embedders:
            cases = {
                "ignorant": (original[emb][enrol_rows], False),
                "lazy-informed": (anon_enrol[emb], False),
                "semi-informed": (anon_enrol[emb], True),
            }
            for attacker, (enrol, lda) in cases.items():
                s, t = verification(enrol, spk[enrol_rows], anon_trial[emb], spk[trial_rows], lda)
                eer, lo, hi = eer_ci(s, t, args.bootstrap)
                results.append({"anonymiser": name, "attacker": attacker, "embedding": emb,
                                "eer": eer, "ci_low": lo, "ci_high": hi})  # fmt: skip
        utilities.append({"anonymiser": name, **utility(connected, name),
                          "seconds": time.perf_counter() - t0})  # fmt: skip
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    table = pd.DataFrame(results)
    print(f"\n{len(trial_rows)} target and {5 * len(trial_rows)} non-target trials per row")
    print(table.to_markdown(index=False, floatfmt=".3f"))
    print("\nutility on connected speech (median relative change, 4 recordings):")
    print(pd.DataFrame(utilities).to_markdown(index=False, floatfmt=".3f"))
    print(f"wall time {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
