"""Speech-feature linkage on FSDD: are the released speech features a voiceprint?

The released table holds psymodal's speech features (``psymodal.speech.extract_features`` at
the recordings' own 8 kHz rate, as the speech stage computes them; QC columns left out), one row
per speaker; the attacker holds another recording of every speaker with a name and links it to
the released row it correlates with most (:func:`psymodal.privacy.attacks.linkage_rate`). Top-1
identification rate over many draws; chance (1/6, six speakers) is the named baseline.

Protocols (repetitions 0 to ``--reps``-1 of every digit):

- same text: released row = one recording of digit d, known = another repetition of d;
- other text: released row = digit d1, known = a repetition of another digit d2;
- session: released row = the mean features of a random half of a speaker's recordings (a
  session of ~50 digits), known = the mean of the other half (100 random splits).

Conditions: both sides original; released features computed on voice-anonymised audio (the
shareable copy's ``world`` pseudo-speaker, study key) with the attacker's recording original
(ignorant) or anonymised with the public tool and its own key (lazy-informed).

Usage::

    python benchmarks/privacy_linkage_speech.py [--speech /work/shared/data/speech] [--reps 10]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from itertools import permutations
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.privacy.attacks import linkage_rate
from psymodal.privacy.pseudonyms import demo_key, speaker_uniform
from psymodal.speech import extract_features, load_audio
from psymodal.speech.anonymize import pseudo_speaker, world_anonymize
from psymodal.workflow.threads import limit_threads

STUDY_KEY, ATTACKER_KEY = demo_key(1), demo_key(2)


def world(y, sr, speaker: str, key: bytes):
    p = pseudo_speaker(*(speaker_uniform(f"{speaker}:{part}", key) for part in "dsf"))
    return world_anonymize(y, sr, **p)


def features(signals) -> np.ndarray:
    rows = [extract_features(y, sr) for y, sr in signals]
    names = [k for k in rows[0] if not k.startswith("qc_")]
    return np.array([[row[k] for k in names] for row in rows], dtype=np.float64)


def draws(meta: pd.DataFrame, reps: int, splits: int, seed: int = 0):
    """(protocol, released rows, known rows, released is a mean) for every draw; rows are
    indices into ``meta`` (one per speaker, speakers in the same order)."""
    speakers = sorted(meta["speaker"].unique())
    where = {(r.digit, r.speaker, r.rep): i for i, r in enumerate(meta.itertuples())}

    def rows(digit, rep):
        return [where[(digit, s, rep)] for s in speakers]

    digits = sorted(meta["digit"].unique())
    for d in digits:
        for r1, r2 in permutations(range(reps), 2):
            yield "same text", rows(d, r1), rows(d, r2)
    for d1, d2 in permutations(digits, 2):
        for r in range(reps):
            yield "other text", rows(d1, r), rows(d2, r)
    rng = np.random.default_rng(seed)
    own = [
        meta.index[meta["speaker"] == s][np.lexsort((meta["rep"][meta["speaker"] == s],
                                                     meta["digit"][meta["speaker"] == s]))]
        for s in speakers
    ]  # fmt: skip
    n = len(own[0])
    for _ in range(splits):
        order = rng.permutation(n)
        first, second = order[: n // 2], order[n // 2 :]
        yield "session", [list(o[first]) for o in own], [list(o[second]) for o in own]


def mean_ci(values: np.ndarray, n_boot: int = 200, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of the mean over draws."""
    rng = np.random.default_rng(seed)
    means = [values[rng.integers(0, len(values), len(values))].mean() for _ in range(n_boot)]
    return tuple(np.percentile(means, [2.5, 97.5]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speech", type=Path, default=Path("/work/shared/data/speech"))
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--splits", type=int, default=100)
    args = parser.parse_args(argv)
    limit_threads(1)
    warnings.filterwarnings("ignore", message="Mean of empty slice")  # a feature no one has
    start = time.perf_counter()
    files = sorted((args.speech / "fsdd").glob("*.wav"))
    meta = pd.DataFrame([p.stem.split("_") for p in files], columns=["digit", "speaker", "rep"])
    meta["rep"] = meta["rep"].astype(int)
    keep = (meta["rep"] < args.reps).to_numpy()
    files, meta = (
        [f for f, k in zip(files, keep, strict=True) if k],
        meta[keep].reset_index(drop=True),
    )
    audio = [load_audio(p, sample_rate=None) for p in files]
    spk = meta["speaker"].to_numpy()
    original = features(audio)
    t_features = time.perf_counter() - start
    released_anon = features(
        [(world(y, sr, s, STUDY_KEY), sr) for (y, sr), s in zip(audio, spk, strict=True)]
    )
    attacker_anon = features(
        [(world(y, sr, s, ATTACKER_KEY), sr) for (y, sr), s in zip(audio, spk, strict=True)]
    )
    took = time.perf_counter() - start
    print(f"{len(files)} recordings, {original.shape[1]} features: {t_features:.0f} s originals, "
          f"{took:.0f} s with anonymised")  # fmt: skip
    conditions = {
        "original features": (original, original),
        "world-anonymised, ignorant attacker": (released_anon, original),
        "world-anonymised, lazy-informed attacker": (released_anon, attacker_anon),
    }
    results = []
    for condition, (released_table, known_table) in conditions.items():
        per_protocol: dict[str, list] = {}
        for protocol, released_rows, known_rows in draws(meta, args.reps, args.splits):
            if protocol == "session":
                released = np.stack([np.nanmean(released_table[r], axis=0) for r in released_rows])
                known = np.stack([np.nanmean(known_table[r], axis=0) for r in known_rows])
            else:
                released, known = released_table[released_rows], known_table[known_rows]
            people = np.arange(len(released_rows))
            out = linkage_rate(released, people, known, people)
            per_protocol.setdefault(protocol, []).append(out)
        for protocol, outs in per_protocol.items():
            top1 = np.array([o["top1"] for o in outs])
            chance = float(np.mean([o["chance"] for o in outs]))
            low, high = mean_ci(top1)
            results.append({
                "released": condition, "protocol": protocol, "draws": len(outs),
                "top1": top1.mean(), "ci_low": low, "ci_high": high,
                "chance": chance, "ratio_to_chance": top1.mean() / chance,
            })  # fmt: skip
    table = pd.DataFrame(results)
    print(table.to_markdown(index=False, floatfmt=".3f"))
    print(f"wall time {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
