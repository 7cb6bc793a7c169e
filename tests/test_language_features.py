"""Language features: hand-computed values of the lexical and speech-graph measures,
coherence on intact versus topic-jumping text, and per-feature QC."""

from __future__ import annotations

import math

import numpy as np
import pytest

from psymodal.language.coherence import coherence_features, load_embeddings
from psymodal.language.features import FEATURE_NAMES, extract_features
from psymodal.language.graphs import graph_measures, speech_graph_features
from psymodal.language.lexical import brunet_w, honore_r, lexical_features, mattr
from psymodal.language.lexicon import tokens
from psymodal.language.transcripts import Transcript


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # nodes the, cat, saw, dog; edges the>cat cat>saw saw>the the>dog; cycle the>cat>saw>the
        ("the cat saw the dog", dict(nodes=4, edges=4, lcc=4, lsc=3, loops1=0, loops2=0, loops3=1)),
        # i>i (L1), home>and>home (L2), i>went>home>i (L3); every word reaches every other
        (
            "i i went home and home i went",
            dict(nodes=4, edges=6, lcc=4, lsc=4, loops1=1, loops2=1, loops3=1),
        ),
        # a chain without return: no loop, strongly connected components of one word
        ("one two three four", dict(nodes=4, edges=3, lcc=4, lsc=1, loops1=0, loops2=0, loops3=0)),
        # a>b b>c c>a a>c c>b b>a: three 2-cycles and the two directions of the 3-cycle
        ("a b c a c b a", dict(nodes=3, edges=6, lcc=3, lsc=3, loops1=0, loops2=3, loops3=2)),
    ],
)
def test_speech_graph_measures_match_hand_counts(text, expected):
    assert graph_measures(text.split()) == {k: float(v) for k, v in expected.items()}


def test_speech_graph_windows_are_averaged_and_short_text_is_undefined():
    words = "a b a b c".split()
    windows = [graph_measures(words[k : k + 3]) for k in range(3)]
    got = speech_graph_features(words, 3)
    assert got["graph_nodes"] == pytest.approx(np.mean([w["nodes"] for w in windows]))
    assert math.isnan(speech_graph_features(words, 6)["graph_lsc"])


def test_sliding_window_graphs_equal_graphs_rebuilt_per_window():
    rng = np.random.default_rng(0)
    for _ in range(100):
        words = list(rng.choice(list("abcdef"), size=int(rng.integers(4, 40))))
        window = int(rng.integers(2, len(words) + 1))
        rows = [graph_measures(words[k : k + window]) for k in range(len(words) - window + 1)]
        got = speech_graph_features(words, window)
        for measure in rows[0]:
            assert got[f"graph_{measure}"] == pytest.approx(np.mean([r[measure] for r in rows]))


def test_lexical_richness_matches_hand_computed_values():
    words = "a b a c a b d".split()  # N 7, V 4, V1 2 (c, d)
    assert honore_r(words) == pytest.approx(100 * math.log(7) / (1 - 2 / 4))
    assert brunet_w(words) == pytest.approx(7 ** (4**-0.165))
    # windows of 3: a b a (2), b a c (3), a c a (2), c a b (3), a b d (3) -> 13 / 15
    assert mattr(words, 3) == pytest.approx(13 / 15)
    assert math.isnan(mattr(words, 8))
    assert math.isnan(honore_r("x y z".split()))  # every word used once


def test_pronoun_filler_repetition_and_rate_features():
    toks = tokens("Um I I went home, we ate. Uh my soup was hot")
    assert toks[:3] == ["um", "i", "i"] and len(toks) == 12
    onsets = np.arange(12) * 0.5
    utterances = np.array([0] * 7 + [1] * 5)
    got = lexical_features(toks, utterances, onsets, onsets + 0.4, mattr_window=3)
    assert got["word_count"] == 10  # fillers are not words
    assert got["first_person_singular_rate"] == pytest.approx(3 / 10)  # i, i, my
    assert got["first_person_plural_rate"] == pytest.approx(1 / 10)
    assert got["filler_rate"] == pytest.approx(2 / 12)
    assert got["repetition_rate"] == pytest.approx(1 / 10)
    # first word at 0.5 s, last word ends at 11 * 0.5 + 0.4 s
    assert got["words_per_minute"] == pytest.approx(60 * 10 / (5.9 - 0.5))
    assert got["mean_utterance_words"] == pytest.approx((6 + 4) / 2)
    untimed = lexical_features(toks, utterances, None, None, mattr_window=3)
    assert math.isnan(untimed["words_per_minute"])


TOPICAL = (
    "The farmer planted wheat in the field. The rain helped the crops grow tall in the field. "
    "At harvest the farmer cut the wheat and stored the grain in the barn. The harvest was "
    "good and the barn was full of grain and hay. The cows ate hay in the barn during winter. "
    "In spring the farmer ploughed the field and sowed barley seeds in the soil."
)
JUMPING = (
    "The farmer planted wheat in the field. Stock markets fell sharply in Tokyo yesterday. "
    "My grandmother knits blue woollen sweaters. The rocket engine failed during the launch. "
    "Pasta needs salted boiling water. The volcano erupted molten lava and ash. The violin "
    "concerto was played beautifully. Software engineers fixed the database server bug."
)


def test_coherence_is_lower_for_text_that_jumps_between_topics():
    embeddings = load_embeddings()
    topical = coherence_features(tokens(TOPICAL), embeddings, 5)
    jumping = coherence_features(tokens(JUMPING), embeddings, 5)
    assert topical["coherence_first_order"] > jumping["coherence_first_order"] + 0.1
    assert topical["coherence_second_order"] > jumping["coherence_second_order"]
    assert math.isnan(coherence_features(["farmer"], embeddings, 5)["coherence_first_order"])


def test_embeddings_are_unit_vectors_and_deterministic():
    embeddings = load_embeddings()
    vectors = embeddings.word_vectors(["farmer", "barn", "farmer"])
    assert vectors.shape == (3, 256)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert np.array_equal(vectors[0], vectors[2])


def test_extract_features_names_every_feature_and_short_transcripts_are_nan():
    words = tokens(TOPICAL)
    transcript = Transcript(words, np.zeros(len(words), dtype=int))
    got = extract_features(transcript, {"mattr_window": 200})
    assert list(got) == list(FEATURE_NAMES)
    assert math.isnan(got["mattr"]) and math.isnan(got["words_per_minute"])
    assert not math.isnan(got["graph_lsc"]) and not math.isnan(got["coherence_first_order"])
