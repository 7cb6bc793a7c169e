"""Tangentiality to the task prompt (Elvevåg et al. 2007): hand-checkable cases on 2-D
embeddings, real embeddings on an answer that drifts away, and the stage's QC note."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from psymodal.io.tables import read_tsv, write_tsv
from psymodal.language.coherence import Embeddings, load_embeddings
from psymodal.language.lexicon import tokens
from psymodal.language.paths import subject_outputs
from psymodal.language.pipeline import process_subject
from psymodal.language.tangentiality import tangentiality_features
from psymodal.language.transcripts import find_sources
from psymodal.settings import resolve_section

REPO = Path(__file__).resolve().parents[1]


class _WordTokenizer:
    """One token per known word (what Embeddings needs of a tokenizers.Tokenizer)."""

    def __init__(self, vocabulary):
        self.ids = {w: i for i, w in enumerate(vocabulary)}

    def encode_batch(self, texts, add_special_tokens=False):
        return [SimpleNamespace(ids=[self.ids[t.strip()]]) for t in texts]


#: cos(cat, dog) = 0.6, cos(cat, car) = 0, cos(dog, car) = 0.8
VECTORS = {"cat": [1.0, 0.0], "dog": [0.6, 0.8], "car": [0.0, 1.0]}
TOY = Embeddings(np.array(list(VECTORS.values())), _WordTokenizer(VECTORS), "toy")


def test_similarity_to_the_prompt_and_its_slope_by_hand():
    # windows of one word: similarities 1, 0.6, 0 -> mean 0.5333, slope -0.5 per window
    got = tangentiality_features(["cat", "dog", "car"], "cat", TOY, 1)
    assert got["prompt_similarity"] == pytest.approx(1.6 / 3)
    assert got["tangentiality_slope"] == pytest.approx(-0.5)
    # function words are not counted in windows nor in the prompt
    same = tangentiality_features(["the", "cat", "of", "dog", "and", "car"], "the cat", TOY, 1)
    assert same == pytest.approx(got)
    # windows of two words: mean(cat, car) = (0.5, 0.5) -> cos 0.7071; (cat, cat) -> 1
    got = tangentiality_features(["cat", "car", "cat", "cat"], "cat", TOY, 2)
    assert got["tangentiality_slope"] == pytest.approx(1 - math.sqrt(0.5))
    assert got["prompt_similarity"] == pytest.approx((1 + math.sqrt(0.5)) / 2)
    # an answer that stays on the prompt: similarity 1, slope 0
    got = tangentiality_features(["dog"] * 4, "dog", TOY, 1)
    assert got == pytest.approx({"prompt_similarity": 1.0, "tangentiality_slope": 0.0})


@pytest.mark.parametrize(
    ("words", "prompt"),
    [
        (["cat", "dog", "car"], None),  # no prompt
        (["cat", "dog", "car"], "the of and"),  # a prompt without content words
        (["cat", "dog", "car"], ""),
        (["cat"], "cat"),  # one window: no slope
    ],
)
def test_undefined_tangentiality_is_nan(words, prompt):
    got = tangentiality_features(words, prompt, TOY, 1)
    assert all(math.isnan(v) for v in got.values())


GARDEN = (
    "I planted roses and tomatoes in the garden soil. The seeds grew into green flowers near "
    "the hedge. I watered the lawn and pulled the weeds with a shovel. "
)
FOOTBALL = (
    "The team scored a late goal in the stadium. The referee stopped the match and the coach "
    "shouted at the players on the pitch. The league final was loud. "
)


def test_an_answer_drifting_away_from_the_prompt_has_a_negative_slope():
    embeddings = load_embeddings()
    prompt = "tell me about your garden and the flowers you grow"
    drifting = tangentiality_features(tokens(GARDEN + FOOTBALL), prompt, embeddings, 5)
    on_topic = tangentiality_features(tokens(GARDEN + GARDEN), prompt, embeddings, 5)
    assert drifting["tangentiality_slope"] < -0.02
    assert abs(on_topic["tangentiality_slope"]) < abs(drifting["tangentiality_slope"])
    assert on_topic["prompt_similarity"] > drifting["prompt_similarity"]


def _subject(root, sub, task, text):
    folder = root / sub / "audio"
    folder.mkdir(parents=True, exist_ok=True)
    words = tokens(text)
    table = pd.DataFrame({"onset": 0.4 * np.arange(len(words)), "duration": 0.3, "word": words})
    write_tsv(table, folder / f"{sub}_task-{task}_transcript.tsv")


def test_the_stage_uses_the_task_prompt_and_says_when_there_is_none(tmp_path):
    _subject(tmp_path, "sub-01", "garden", GARDEN + FOOTBALL)
    _subject(tmp_path, "sub-02", "chat", GARDEN + FOOTBALL)
    settings = {"prompts": {"garden": "tell me about your garden"}, "qc": {"min_words": 20}}
    rows = {}
    for sub in ("sub-01", "sub-02"):
        paths = subject_outputs(sub, tmp_path / "out", None)
        process_subject(sub, find_sources(tmp_path, sub), paths["features"], paths["qc"], settings)
        rows[sub] = (read_tsv(paths["features"]).iloc[0], read_tsv(paths["qc"]).iloc[0])
    features, qc = rows["sub-01"]
    assert qc["included"] and features["tangentiality_slope"] < 0
    assert "tangentiality" not in str(qc["undefined_features"]) + str(qc["notes"])
    features, qc = rows["sub-02"]
    assert qc["included"] and math.isnan(features["tangentiality_slope"])
    assert "prompt_similarity;tangentiality_slope" in qc["undefined_features"]
    assert "no prompt for task-chat in language.prompts" in qc["notes"]


def test_prompts_are_checked_and_the_demo_prompt_is_its_questions():
    from psymodal.demo.transcript import QUESTIONS

    assert resolve_section("language", None)["prompts"] == {}
    with pytest.raises(Exception, match="prompts"):
        resolve_section("language", {"prompts": {"interview": 3}})
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert config["language"]["prompts"]["interview"] == "; ".join(QUESTIONS)
