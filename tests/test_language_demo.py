"""The demo's interview transcripts: the planted language effects are recovered from the
generated files by the library, and are absent when the labels are shuffled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from psymodal.demo.spec import STREAM_LANGUAGE, DemoSpec, rng_for, subject_parameters
from psymodal.demo.transcript import TASK_INTERVIEW, interview
from psymodal.io.tables import read_tsv, write_tsv
from psymodal.language.features import extract_features
from psymodal.language.transcripts import find_sources, read_transcript

#: (feature, direction in patients) of each planted effect
PLANTED = {
    "coherence_first_order": -1,
    "first_person_singular_rate": +1,
    "filler_rate": +1,
    "mean_utterance_words": -1,
}


@pytest.fixture(scope="module")
def demo_features(tmp_path_factory):
    """Features of the default demo's 40 interview transcripts, read back from TSV files."""
    root = tmp_path_factory.mktemp("interviews")
    spec = DemoSpec()
    rows, patient = [], []
    for params in subject_parameters(spec):
        table, _ = interview(params, rng_for(spec, params.number, STREAM_LANGUAGE))
        sub = params.participant_id
        write_tsv(table, root / sub / "audio" / f"{sub}_task-{TASK_INTERVIEW}_transcript.tsv")
        (source,) = find_sources(root, sub, TASK_INTERVIEW)
        transcript = read_transcript(source.transcript, ["interviewer"])
        rows.append(extract_features(transcript))
        patient.append(params.patient)
    return rows, np.array(patient)


def _auc(rows, labels, feature, direction):
    values = np.array([r[feature] for r in rows])
    return roc_auc_score(labels, direction * values)


@pytest.mark.parametrize("feature", sorted(PLANTED))
def test_planted_language_effects_are_recovered(demo_features, feature):
    rows, patient = demo_features
    assert _auc(rows, patient, feature, PLANTED[feature]) > 0.75


def test_shuffled_labels_are_at_chance(demo_features):
    rows, patient = demo_features
    rng = np.random.default_rng(0)
    aucs = [
        _auc(rows, rng.permutation(patient), feature, direction)
        for feature, direction in PLANTED.items()
        for _ in range(5)
    ]
    assert abs(np.mean(aucs) - 0.5) < 0.1


def test_interviewer_questions_are_not_the_participants_words(demo_features, tmp_path):
    spec = DemoSpec.small()
    params = subject_parameters(spec)[0]
    table, truth = interview(params, rng_for(spec, params.number, STREAM_LANGUAGE))
    path = tmp_path / "t.tsv"
    write_tsv(table, path)
    transcript = read_transcript(path, ["interviewer"])
    participant = table[table["speaker"] == "participant"]
    assert len(transcript.words) == len(participant) == truth["n_words"] + truth["n_fillers"]
    assert table["onset"].is_monotonic_increasing


def _learn(tmp_path, rows, patient, name):  # the null is test_shuffled_labels_are_at_chance
    """Cross-validated logistic regression on the language features alone."""
    from psymodal.learn.pipeline import run

    ids = [f"sub-{k + 1:02d}" for k in range(len(rows))]
    participants = tmp_path / f"{name}_participants.tsv"
    features = tmp_path / f"{name}_features.tsv"
    write_tsv(
        pd.DataFrame({"participant_id": ids, "diagnosis": np.where(patient, "patient", "control")}),
        participants,
    )
    write_tsv(pd.DataFrame(rows).assign(participant_id=ids), features)
    settings = {
        "confounds": [],
        "models": ["logistic"],
        "fusion": [],
        "permutation": {"n": 0},
        "confound_baseline": False,
        "metrics": {"bootstrap": 0},
        # coefficients only (permutation importance would refit nothing but costs seconds)
        "explain": {"enabled": True, "n_repeats": 1},
    }
    paths = run(participants, {"language": features}, None, tmp_path / name, settings)
    metrics = read_tsv(paths["metrics"])
    auc = float(metrics.loc[metrics["modality"] == "language", "roc_auc"].iloc[0])
    importance = read_tsv(paths["importance"])
    ranked = importance[importance["level"] == "feature"].assign(
        weight=lambda t: t["coef_mean"].abs()
    )
    top = {f.split("__", 1)[1] for f in ranked.nlargest(6, "weight")["feature"]}
    return auc, top


def test_language_features_classify_the_demo_and_the_planted_ones_rank_high(
    demo_features, tmp_path
):
    rows, patient = demo_features
    auc, top = _learn(tmp_path, rows, patient, "true")
    assert auc >= 0.8
    assert len(top & (set(PLANTED) | {"coherence_second_order"})) >= 2, top
