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

``--utility-only`` skips the attacks and measures speech rate on connected speech (the three
LibriSpeech clips, the four LibriSpeech test-clean utterances and PC-GITA's read text) with de
Jong's voiced syllable nuclei (``speech.syllables.require_voicing: true``, the default) and with
intensity-only nuclei (``false``), on the original and the anonymised audio: the named baseline
of each setting is the same setting on the original audio.

Usage::

    python benchmarks/privacy_voice.py [--speech /work/shared/data/speech] [--bootstrap 200]
    python benchmarks/privacy_voice.py --utility-only [--anonymisers world mcadams]
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


#: Syllables of the LibriSpeech test-clean utterances' transcripts (``*.trans.txt``), counted
#: by hand: the reference for the number of syllable nuclei found on the original audio.
TRANSCRIPT_SYLLABLES = {
    "1089-134686-0000": 38,  # he hoped there would be stew for dinner turnips and carrots ...
    "1089-134686-0001": 11,  # stuff it into you his belly counselled him
    "1089-134691-0000": 6,  # he could wait no longer
    "1089-134691-0001": 19,  # for a full hour he had paced up and down waiting but he ...
}


def _speech_rate(y, sr, require_voicing: bool) -> tuple[float, float]:
    """Speech rate (syllables/s) and the number of syllable nuclei behind it."""
    settings = {"egemaps": {"enabled": False}, "syllables": {"require_voicing": require_voicing}}
    f = extract_features(y, sr, settings)
    nuclei = f["articulation_rate_syll_per_s"] * f["qc_speech_duration_s"]
    return f["speech_rate_syll_per_s"], nuclei


def speech_rate_by_nuclei(signals, names, anonymisers) -> pd.DataFrame:
    """Speech rate of every connected recording, original and anonymised, with voiced and with
    intensity-only syllable nuclei (one row per recording, anonymiser and setting)."""
    rows = []
    for index, ((y, sr), recording) in enumerate(zip(signals, names, strict=True)):
        versions = {"original": y}
        for name in anonymisers:
            versions[name] = anonymiser(name, f"connected{index}", STUDY_KEY)(y, sr)
        for voicing in (True, False):
            base = _speech_rate(y, sr, voicing)
            for name, z in versions.items():
                rate, nuclei = base if name == "original" else _speech_rate(z, sr, voicing)
                rows.append({"recording": recording, "audio": name, "require_voicing": voicing,
                             "rate": rate, "nuclei": nuclei})  # fmt: skip
        print(f"{recording}: done", flush=True)
    return pd.DataFrame(rows)


def speech_rate_table(rates: pd.DataFrame) -> pd.DataFrame:
    """Median (min-max) rate and relative change against the same setting on the original, and
    the intensity-only rate on anonymised audio against the default (voiced) on the original."""
    wide = rates.pivot_table(index="recording", columns=["audio", "require_voicing"],
                             values="rate")  # fmt: skip
    out = []
    for audio in [a for a in wide.columns.levels[0] if a != "original"]:
        for voicing in (True, False):
            change = wide[(audio, voicing)] / wide[("original", voicing)] - 1
            row = {"audio": audio, "require_voicing": voicing,
                   "rate original (median)": wide[("original", voicing)].median(),
                   "rate anonymised (median)": wide[(audio, voicing)].median(),
                   "change vs same setting on original (median)": change.median(),
                   "change (min)": change.min(), "change (max)": change.max()}  # fmt: skip
            if not voicing:
                cross = wide[(audio, False)] / wide[("original", True)] - 1
                row["change vs default (voiced) on original (median)"] = cross.median()
            out.append(row)
    return pd.DataFrame(out)


def utility_only(args) -> int:
    start = time.perf_counter()
    paths = (
        sorted((args.speech / "librispeech").glob("*.ogg"))
        + sorted((args.speech / "librispeech_testclean").glob("*.flac"))
        + [args.speech / "pcgita" / "001_readtext_PCGITA.wav"]
    )
    signals = [load_audio(p, sample_rate=16000) for p in paths]
    rates = speech_rate_by_nuclei(signals, [p.name for p in paths], args.anonymisers)
    print(rates.pivot_table(index="recording", columns=["require_voicing", "audio"],
                            values="rate").to_markdown(floatfmt=".2f"))  # fmt: skip
    print(f"\nspeech rate on {len(paths)} connected recordings (syllables/s; change = ratio - 1):")
    print(speech_rate_table(rates).to_markdown(index=False, floatfmt=".3f"))
    counted = rates[rates["recording"].str.split(".").str[0].isin(TRANSCRIPT_SYLLABLES)].copy()
    reference = counted["recording"].str.split(".").str[0].map(TRANSCRIPT_SYLLABLES)
    counted["nuclei / transcript syllables"] = counted["nuclei"] / reference
    total = sum(TRANSCRIPT_SYLLABLES.values())
    print(f"\nnuclei found against the transcripts' {total} syllables (4 test-clean utterances):")
    print(counted.groupby(["audio", "require_voicing"])["nuclei / transcript syllables"]
          .agg(["median", "min", "max"]).to_markdown(floatfmt=".2f"))  # fmt: skip
    print(f"wall time {time.perf_counter() - start:.0f} s")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speech", type=Path, default=Path("/work/shared/data/speech"))
    parser.add_argument("--anonymisers", nargs="+", default=["mcadams", "mcadams-keyed", "world"])
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument(
        "--utility-only", action="store_true", help="speech rate with voiced vs intensity nuclei"
    )
    args = parser.parse_args(argv)
    limit_threads(1)
    if args.utility_only:
        return utility_only(args)
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
