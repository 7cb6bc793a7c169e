"""Validation and speed of psymodal's language stage.

Sections (each prints its figures; ``--only`` runs some of them):

- ``asr``: pocketsphinx word error rate (WER) on FSDD spoken digits (a stratified sample: the
  same number per digit and speaker, fixed seed) and on the LibriSpeech test-clean
  utterances with reference transcripts, in ../shared; ASR real-time factor (decode time /
  audio time; < 1 is faster than real time). Baseline in the same run: the WER of an empty
  hypothesis is 1.0.
- ``espeak``: WER on sentences synthesised by espeak-ng (Debian package) at several speaking
  rates, and a coarse onset check: espeak-ng gives no word alignment, so each recognised
  word's onset is compared with its character position in the sentence scaled to the
  recording's duration (an upper bound on the timing error, not a measurement of it).
- ``onsets``: the word-onset error of the recogniser against exactly known onsets: each word
  synthesised alone by espeak-ng, its silence cut, and the words concatenated with known
  gaps (:func:`bench_onsets`); median and 90th percentile of |recognised - true onset| over
  the correctly recognised words, against a character-position baseline in the same run.
- ``coherence``: first-order coherence of intact paragraphs versus the same paragraphs with
  their sentences shuffled, their words shuffled, or their sentences interleaved with another
  paragraph's (ROC AUC of intact vs altered; 0.5 = no separation). Text: the prose of
  Python's own reference documentation (``pydoc_data.topics``, shipped with Python, PSF
  licence).
- ``tangentiality``: each paragraph's first sentence as the prompt and the rest as the
  answer, against the same answer drifting into another paragraph half-way
  (``tangentiality_slope``) and another paragraph's answer (``prompt_similarity``); ROC AUC.
- ``lexical``: word counts against textstat's ``lexicon_count`` and MATTR against
  lexicalrichness's ``mattr`` on the same paragraphs (median absolute relative difference,
  Pearson r); speech-graph measures against networkx on random word walks.
- ``speed``: language-feature time per 1,000 words (median of repeats) and its parts.

Usage::

    python benchmarks/language_validate.py [--only asr onsets coherence ...] [--fsdd-per-digit 30]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED = Path("/work/shared/data/speech")
DIGITS = "zero one two three four five six seven eight nine".split()


def wer(reference: list[str], hypothesis: list[str]) -> tuple[int, int]:
    """(edit distance in words, reference length)."""
    d = np.arange(len(hypothesis) + 1)
    for i, ref in enumerate(reference, start=1):
        prev, d[0] = d.copy(), i
        for j, hyp in enumerate(hypothesis, start=1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (ref != hyp))
    return int(d[-1]), len(reference)


def _decode(path):
    import soundfile as sf

    from psymodal.language.asr import recognise_file

    duration = sf.info(str(path)).duration
    start = time.perf_counter()
    transcript = recognise_file(path)
    return transcript, time.perf_counter() - start, duration


def bench_asr(per_digit: int) -> None:
    fsdd = SHARED / "fsdd"
    if not fsdd.is_dir():
        print("asr: ../shared absent, skipped")
        return
    _decode(next(fsdd.glob("*.wav")))  # warm-up: model loading is not decoding
    rng = random.Random(0)
    files = []
    for digit in range(10):
        names = sorted(fsdd.glob(f"{digit}_*.wav"))
        files += rng.sample(names, min(per_digit, len(names)))
    errors = words = 0
    decode = audio = 0.0
    exact = 0
    for path in files:
        transcript, seconds, duration = _decode(path)
        e, n = wer([DIGITS[int(path.name[0])]], transcript.words)
        errors, words, decode, audio = errors + e, words + n, decode + seconds, audio + duration
        exact += transcript.words == [DIGITS[int(path.name[0])]]
    print(
        f"asr FSDD: {len(files)} clips ({per_digit} per digit), WER {errors / words:.3f} "
        f"(empty-hypothesis baseline 1.000), exactly right {exact / len(files):.1%}, "
        f"RTF {decode / audio:.3f}"
    )
    clean = SHARED / "librispeech_testclean"
    references = {}
    for trans in sorted(clean.glob("*.trans.txt")):
        for line in trans.read_text().splitlines():
            key, text = line.split(" ", 1)
            references[key] = text.lower().split()
    errors = words = 0
    decode = audio = 0.0
    for key, reference in sorted(references.items()):
        transcript, seconds, duration = _decode(clean / f"{key}.flac")
        e, n = wer(reference, transcript.words)
        print(
            f"  {key}: WER {e / n:.3f}  confidence {transcript.confidence:.2f}  "
            f"hyp: {' '.join(transcript.words)}"
        )
        errors, words, decode, audio = errors + e, words + n, decode + seconds, audio + duration
    print(
        f"asr LibriSpeech test-clean: {len(references)} utterances, {words} words, WER "
        f"{errors / words:.3f}, RTF {decode / audio:.3f}"
    )
    decode = audio = 0.0
    for path in sorted((SHARED / "librispeech").glob("*.ogg")):
        transcript, seconds, duration = _decode(path)
        decode, audio = decode + seconds, audio + duration
        print(
            f"  {path.name}: {len(transcript.words)} words, confidence "
            f"{transcript.confidence:.2f}, {duration:.1f} s"
        )
    print(f"asr LibriSpeech clips (no reference): RTF {decode / audio:.3f}")


SENTENCES = [
    "the farmer planted wheat in the field near the old barn",
    "we took the early train to the city and walked along the river",
    "my sister bought fresh bread and cheese at the market",
    "the children played football in the park until it started to rain",
    "he read the newspaper while the coffee was getting cold",
]


def bench_espeak(rates: list[int]) -> None:
    if shutil.which("espeak-ng") is None:
        print("espeak: espeak-ng absent, skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for rate in rates:
            errors = words = 0
            onset_errors = []
            decode = audio = 0.0
            for k, sentence in enumerate(SENTENCES):
                wav = Path(tmp) / f"{rate}_{k}.wav"
                subprocess.run(
                    ["espeak-ng", "-v", "en-us", "-s", str(rate), "-w", str(wav), sentence],
                    check=True,
                )
                transcript, seconds, duration = _decode(wav)
                decode, audio = decode + seconds, audio + duration
                e, n = wer(sentence.split(), transcript.words)
                errors, words = errors + e, words + n
                # word onsets vs the words' positions in the synthesis (characters as time)
                reference = sentence.split()
                starts = np.cumsum([0] + [len(w) + 1 for w in reference[:-1]]) / len(sentence)
                for word, onset in zip(transcript.words, transcript.onsets, strict=True):
                    if word in reference:
                        expected = starts[reference.index(word)] * duration
                        onset_errors.append(abs(onset - expected))
            print(
                f"espeak-ng {rate} wpm: WER {errors / words:.3f} over {words} words, "
                f"median |onset - proportional position| {np.median(onset_errors):.2f} s, "
                f"RTF {decode / audio:.3f}"
            )


#: read sentences for the onset check: no word twice in a sentence, so that a recognised
#: word is paired with one reference word only
ONSET_SENTENCES = [
    "the farmer planted wheat in a field near his old barn",
    "we took an early train to the city and walked along its river",
    "my sister bought fresh bread with cheese at the market",
    "children played football in the park until it started to rain",
    "he read a newspaper while the coffee was getting cold",
    "our neighbour painted his fence green last summer",
    "she plays piano every morning before breakfast",
    "they found seven shells on a quiet beach",
    "the doctor asked me about my sleep and appetite",
    "rain fell all night so streets were flooded by morning",
    "I visited grandmother at her small house in spring",
    "the teacher wrote long sentences on a blackboard",
    "a black dog chased two cats across our garden",
    "after dinner we watched an old film about sailors",
    "please open that window because this room is warm",
]


def _espeak_word(word: str, rate: int, path: Path) -> tuple[np.ndarray, int]:
    """One word synthesised alone, its leading and trailing silence cut."""
    import soundfile as sf

    subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(rate), "-w", str(path), word], check=True)
    audio, sr = sf.read(str(path), dtype="float64")
    # audible: above -40 dB re the word's peak; the first such sample is the word's onset
    audible = np.flatnonzero(np.abs(audio) > 0.01 * np.abs(audio).max())
    return audio[audible[0] : audible[-1] + 1], sr


def _matched(reference: list[str], hypothesis: list[str]) -> list[tuple[int, int]]:
    """(reference index, hypothesis index) of the words a minimum-edit alignment keeps."""
    n, m = len(reference), len(hypothesis)
    d = np.zeros((n + 1, m + 1), dtype=int)
    d[:, 0], d[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            same = reference[i - 1] == hypothesis[j - 1]
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (not same))
    pairs, i, j = [], n, m
    while i > 0 and j > 0:
        same = reference[i - 1] == hypothesis[j - 1]
        if d[i, j] == d[i - 1, j - 1] + (not same):
            if same:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif d[i, j] == d[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def bench_onsets(rates: list[int]) -> None:
    """Word-onset error of the recogniser against exactly known onsets.

    Each word of the sentences is synthesised alone by espeak-ng, its silence cut, and the
    words are concatenated with gaps drawn uniformly in [0.03, 0.25] s (fixed seed) after
    0.5 s of silence, so every word's onset is known to the sample. Only words the recogniser
    got right (kept by a minimum-edit alignment with the reference) are timed. Baseline in the
    same run: each of those words placed at its character position in the sentence scaled to
    the recording's duration (what a transcript without timings could give).
    """
    if shutil.which("espeak-ng") is None:
        print("onsets: espeak-ng absent, skipped")
        return
    import soxr

    from psymodal.language.asr import SAMPLE_RATE, recognise

    rng = np.random.default_rng(0)
    pooled, pooled_baseline = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rate in rates:
            errors, baseline, far = [], [], []
            n_words = 0
            for k, sentence in enumerate(ONSET_SENTENCES):
                reference = sentence.lower().split()
                pieces, onsets, position = [], [], 0
                for w, word in enumerate(reference):
                    audio, sr = _espeak_word(word, rate, Path(tmp) / f"{rate}_{k}_{w}.wav")
                    gap = 0.5 if w == 0 else float(rng.uniform(0.03, 0.25))
                    pieces += [
                        np.zeros(round(gap * SAMPLE_RATE)),
                        soxr.resample(audio, sr, SAMPLE_RATE),
                    ]
                    position += len(pieces[-2])
                    onsets.append(position / SAMPLE_RATE)
                    position += len(pieces[-1])
                pieces.append(np.zeros(round(0.5 * SAMPLE_RATE)))
                signal = np.concatenate(pieces)
                duration = len(signal) / SAMPLE_RATE
                transcript = recognise(signal)
                starts = np.cumsum([0] + [len(x) + 1 for x in reference[:-1]]) / len(sentence)
                n_words += len(reference)
                for i, j in _matched(reference, transcript.words):
                    errors.append(abs(transcript.onsets[j] - onsets[i]))
                    baseline.append(abs(starts[i] * duration - onsets[i]))
                    if errors[-1] > 0.1:
                        far.append(
                            f"{reference[i]!r} at {onsets[i]:.2f} s recognised at "
                            f"{transcript.onsets[j]:.2f} s in {' '.join(transcript.words)!r}"
                        )
            pooled += errors
            pooled_baseline += baseline
            errors, baseline = np.array(errors), np.array(baseline)
            print(
                f"onsets espeak-ng words {rate} wpm: {len(errors)}/{n_words} words recognised "
                f"and timed; |onset error| median {1000 * np.median(errors):.0f} ms, 90th "
                f"percentile {1000 * np.percentile(errors, 90):.0f} ms, max "
                f"{1000 * errors.max():.0f} ms; baseline (character position) median "
                f"{1000 * np.median(baseline):.0f} ms, 90th "
                f"{1000 * np.percentile(baseline, 90):.0f} ms; median ratio baseline/ASR "
                f"{np.median(baseline) / np.median(errors):.1f}"
            )
            for line in far:
                print(f"  error > 100 ms: {line}")
    errors, baseline = np.array(pooled), np.array(pooled_baseline)
    print(
        f"onsets all rates: {len(errors)} words; |onset error| median "
        f"{1000 * np.median(errors):.0f} ms, 90th percentile {1000 * np.percentile(errors, 90):.0f}"
        f" ms; baseline median {1000 * np.median(baseline):.0f} ms, 90th "
        f"{1000 * np.percentile(baseline, 90):.0f} ms"
    )


def paragraphs(min_words: int = 150, limit: int = 60) -> list[list[str]]:
    """Prose paragraphs of Python's reference documentation, as lists of sentences."""
    from pydoc_data.topics import topics

    out = []
    for name in sorted(topics):
        text = re.sub(r"\s+", " ", topics[name])
        text = re.sub(r"[^A-Za-z.,;:'\- ]", " ", text)
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 5]
        if sum(len(s.split()) for s in sentences) >= min_words and len(sentences) >= 8:
            out.append(sentences)
    return out[:limit]


def bench_coherence(window: int) -> None:
    from sklearn.metrics import roc_auc_score

    from psymodal.language.coherence import coherence_features, load_embeddings
    from psymodal.language.lexicon import tokens

    embeddings = load_embeddings()
    docs = paragraphs()
    rng = random.Random(0)

    def score(sentences):
        return coherence_features(tokens(" ".join(sentences)), embeddings, window)[
            "coherence_first_order"
        ]

    intact = [score(d) for d in docs]
    altered = {"sentence-shuffled": [], "word-shuffled": [], "interleaved": []}
    for k, doc in enumerate(docs):
        shuffled = doc[:]
        rng.shuffle(shuffled)
        altered["sentence-shuffled"].append(score(shuffled))
        words = " ".join(doc).split()
        rng.shuffle(words)
        altered["word-shuffled"].append(score([" ".join(words)]))
        other = docs[(k + len(docs) // 2) % len(docs)]
        mixed = [s for pair in zip(doc, other, strict=False) for s in pair]
        altered["interleaved"].append(score(mixed))
    print(
        f"coherence ({len(docs)} paragraphs of pydoc_data.topics, windows of {window} "
        f"content words): intact median {np.median(intact):.3f}"
    )
    for name, values in altered.items():
        auc = roc_auc_score([1] * len(intact) + [0] * len(values), intact + values)
        print(
            f"  intact vs {name}: median {np.median(values):.3f}, AUC {auc:.3f} "
            "(0.5 = no separation)"
        )


def bench_tangentiality(window: int) -> None:
    """Answers that stay on the prompt vs answers that drift away or are off topic.

    Each paragraph's first sentence is the prompt and the rest the answer; the drifting answer
    keeps the answer's first half and continues with the second half of another paragraph's
    answer; the off-topic answer is another paragraph's answer. ROC AUC of intact vs altered
    for ``tangentiality_slope`` (drifting) and ``prompt_similarity`` (off topic).
    """
    from sklearn.metrics import roc_auc_score

    from psymodal.language.coherence import load_embeddings
    from psymodal.language.lexicon import tokens
    from psymodal.language.tangentiality import tangentiality_features

    embeddings = load_embeddings()
    docs = paragraphs()

    def score(prompt, sentences):
        return tangentiality_features(tokens(" ".join(sentences)), prompt, embeddings, window)

    intact, drifting, off_topic = [], [], []
    for k, doc in enumerate(docs):
        other = docs[(k + len(docs) // 2) % len(docs)][1:]
        answer = doc[1:]
        half = len(answer) // 2
        intact.append(score(doc[0], answer))
        drifting.append(score(doc[0], answer[:half] + other[len(other) // 2 :]))
        off_topic.append(score(doc[0], other))
    for name, altered, feature, sign in (
        ("drifting", drifting, "tangentiality_slope", 1),
        ("off-topic", off_topic, "prompt_similarity", 1),
    ):
        a = np.array([r[feature] for r in intact])
        b = np.array([r[feature] for r in altered])
        keep = np.isfinite(a) & np.isfinite(b)
        auc = roc_auc_score([1] * keep.sum() + [0] * keep.sum(), sign * np.r_[a[keep], b[keep]])
        print(
            f"tangentiality ({keep.sum()} paragraphs, prompt = first sentence, windows of "
            f"{window}): {feature} intact median {np.median(a[keep]):.3f} vs {name} "
            f"{np.median(b[keep]):.3f}, AUC {auc:.3f} (0.5 = no separation)"
        )


def bench_lexical() -> None:
    import networkx as nx
    import textstat
    from lexicalrichness import LexicalRichness

    from psymodal.language.graphs import graph_measures
    from psymodal.language.lexical import mattr
    from psymodal.language.lexicon import tokens

    ours_n, theirs_n, ours_m, theirs_m = [], [], [], []
    for doc in paragraphs():
        text = " ".join(doc)
        words = tokens(text)
        ours_n.append(len(words))
        theirs_n.append(textstat.lexicon_count(text))
        ours_m.append(mattr(words, 50))
        theirs_m.append(LexicalRichness(text).mattr(window_size=50))
    for name, a, b in (
        ("word count vs textstat", ours_n, theirs_n),
        ("MATTR(50) vs lexicalrichness", ours_m, theirs_m),
    ):
        a, b = np.array(a, float), np.array(b, float)
        rel = np.abs(a - b) / np.abs(b)
        print(
            f"lexical {name}: median |rel diff| {np.median(rel):.4f}, max {rel.max():.4f}, "
            f"r {np.corrcoef(a, b)[0, 1]:.4f} ({len(a)} paragraphs)"
        )
    rng = random.Random(0)
    agree = 0
    for _ in range(1000):
        walk = [rng.choice("abcdefghij") for _ in range(rng.randint(2, 30))]
        graph = nx.DiGraph()
        graph.add_nodes_from(walk)
        graph.add_edges_from(zip(walk, walk[1:], strict=False))
        cycles = list(nx.simple_cycles(graph, length_bound=3))
        reference = {
            "nodes": graph.number_of_nodes(),
            "edges": graph.number_of_edges(),
            "lcc": max(len(c) for c in nx.weakly_connected_components(graph)),
            "lsc": max(len(c) for c in nx.strongly_connected_components(graph)),
            "loops1": sum(len(c) == 1 for c in cycles),
            "loops2": sum(len(c) == 2 for c in cycles),
            "loops3": sum(len(c) == 3 for c in cycles),
        }
        agree += graph_measures(walk) == {k: float(v) for k, v in reference.items()}
    print(f"speech graphs vs networkx on 1000 random walks: {agree}/1000 identical")


def bench_speed(repeats: int) -> None:
    from psymodal.demo.spec import STREAM_LANGUAGE, DemoSpec, rng_for, subject_parameters
    from psymodal.demo.transcript import interview
    from psymodal.language.coherence import coherence_features, load_embeddings
    from psymodal.language.features import extract_features
    from psymodal.language.graphs import graph_measures, speech_graph_features
    from psymodal.language.lexical import lexical_features
    from psymodal.language.tangentiality import tangentiality_features
    from psymodal.language.transcripts import Transcript

    spec = DemoSpec()
    params = subject_parameters(spec)[:10]
    tables = [interview(p, rng_for(spec, p.number, STREAM_LANGUAGE))[0] for p in params]
    words = [w for t in tables for w in t.loc[t["speaker"] == "participant", "word"]]
    words = (words * (1 + 5000 // len(words)))[:5000]
    n = len(words)
    onsets = np.arange(n) * 0.4
    transcript = Transcript(words, np.arange(n) // 10, onsets, onsets + 0.3)
    embeddings = load_embeddings()
    prompt = "tell me about your last weekend and your plans for next week"
    extract_features(transcript, embeddings=embeddings)  # warm-up: wordfreq's list, caches
    parts = {
        "all features": lambda: extract_features(transcript, embeddings=embeddings, prompt=prompt),
        "lexical": lambda: lexical_features(words, transcript.utterances, onsets, onsets + 0.3, 50),
        "speech graphs": lambda: speech_graph_features(words, 30),
        "coherence": lambda: coherence_features(words, embeddings, 10),
        "tangentiality": lambda: tangentiality_features(words, prompt, embeddings, 10),
        # baseline: every window's graph rebuilt from scratch (the incremental version's reference)
        "speech graphs rebuilt per window (baseline)": lambda: [
            graph_measures(words[k : k + 30]) for k in range(n - 29)
        ],
    }
    medians = {}
    for name, fn in parts.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        medians[name] = np.median(times)
        print(
            f"speed {name}: {1000 * np.median(times) / n * 1000:.0f} ms per 1,000 words "
            f"(median of {repeats}, {n} words)"
        )
    ratio = medians["speech graphs rebuilt per window (baseline)"] / medians["speech graphs"]
    print(f"speed speech graphs: {ratio:.1f}x faster than rebuilding each window's graph")
    start = time.perf_counter()
    load_embeddings.cache_clear()
    load_embeddings()
    print(f"speed embeddings load: {time.perf_counter() - start:.2f} s (once per job)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sections = ["asr", "espeak", "onsets", "coherence", "tangentiality", "lexical", "speed"]
    parser.add_argument("--only", nargs="*", default=sections)
    parser.add_argument("--fsdd-per-digit", type=int, default=30)
    parser.add_argument("--rates", type=int, nargs="*", default=[120, 160, 220])
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from psymodal.workflow.threads import limit_threads

    limit_threads(1)
    for name in args.only:
        if name == "asr":
            bench_asr(args.fsdd_per_digit)
        elif name == "espeak":
            bench_espeak(args.rates)
        elif name == "onsets":
            bench_onsets(args.rates)
        elif name == "coherence":
            bench_coherence(args.window)
        elif name == "tangentiality":
            bench_tangentiality(args.window)
        elif name == "lexical":
            bench_lexical()
        elif name == "speed":
            bench_speed(args.repeats)


if __name__ == "__main__":
    main()
