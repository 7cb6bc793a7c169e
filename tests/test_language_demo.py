"""The demo's interview transcripts: the planted language effects are recovered from the
generated files by the library, and are absent when the labels are shuffled."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from psymodal.demo.spec import STREAM_LANGUAGE, DemoSpec, rng_for, subject_parameters
from psymodal.demo.transcript import TASK_INTERVIEW, interview
from psymodal.io.tables import write_tsv
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
