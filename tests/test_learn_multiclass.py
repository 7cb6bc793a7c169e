"""learn.task: multiclass on small generated three-class studies."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from psymodal.io.tables import read_tsv
from psymodal.learn import run
from psymodal.learn.metrics import confusion_matrix, macro_roc_auc, multiclass_metrics
from psymodal.learn.settings import resolve
from psymodal.learn.simulate import write_study
from psymodal.report.confusion import _panels
from psymodal.report.figures import write_report_figures

pytestmark = pytest.mark.usefixtures("one_thread")

CLASSES = ["bipolar", "control", "schizophrenia"]


def three_class_study(n=60, shift=1.5, seed=0):
    """Three diagnoses, two sites; class k shifts mri feature k (speech is noise)."""
    rng = np.random.default_rng(seed)
    y = np.resize(np.arange(3), n)
    rng.shuffle(y)
    ids = [f"sub-{i + 1:03d}" for i in range(n)]
    participants = pd.DataFrame(
        {
            "participant_id": ids,
            "diagnosis": np.asarray(CLASSES)[y],
            "age": np.round(rng.normal(35, 9, n), 1),
            "sex": rng.choice(["F", "M"], n),
            "site": rng.choice(["a", "b"], n),
        }
    )
    mri = rng.normal(size=(n, 6))
    mri[np.arange(n), y] += shift
    features = {
        "mri": pd.DataFrame(mri, columns=[f"r{j}" for j in range(6)]),
        "speech": pd.DataFrame(rng.normal(size=(n, 4)), columns=[f"s{j}" for j in range(4)]),
    }
    for table in features.values():
        table.insert(0, "participant_id", ids)
    return participants, features, y


def test_multiclass_metrics_match_scikit_learn():
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    rng = np.random.default_rng(1)
    y = np.resize(np.arange(3), 30)
    P = rng.dirichlet(np.ones(3), 30) + 0.3 * np.eye(3)[y]
    P /= P.sum(axis=1, keepdims=True)
    got = multiclass_metrics(y, P)
    assert got["roc_auc"] == pytest.approx(roc_auc_score(y, P, multi_class="ovr"))
    assert got["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, P.argmax(1)))
    counts = confusion_matrix(y, P, 3)
    assert counts.sum() == 30 and np.trace(counts) == int(round(got["accuracy"] * 30))
    assert np.isnan(macro_roc_auc(np.zeros(4, int), P[:4]))


def test_three_classes_beat_chance_and_confounds(tmp_path):
    participants, features, _ = three_class_study()
    ptsv, paths = write_study(participants, features, tmp_path / "in")
    settings = {
        "task": "multiclass",
        "label_column": "diagnosis",
        "confounds": ["age", "sex", "site"],
        "models": ["logistic", "hgb"],
        "cv": {"folds": 3},
        "hgb": {"max_iter": 10},
        "metrics": {"bootstrap": 50},
        "permutation": {"n": 2},
    }
    written = run(ptsv, paths, None, tmp_path / "learn", settings)
    metrics = read_tsv(written["metrics"]).set_index(["model", "modality"])
    assert {"roc_auc", "balanced_accuracy", "accuracy", "n_classes"} <= set(metrics.columns)
    mri = metrics.loc[("logistic", "mri")]
    assert mri.roc_auc > 0.8 and mri.balanced_accuracy > 0.6 and mri.n_classes == 3
    assert mri.roc_auc_ci_low < mri.roc_auc < mri.roc_auc_ci_high
    assert mri.p_value == pytest.approx(1 / 3) and mri.p_value_floor == pytest.approx(1 / 3)
    chance = metrics.loc[("most_frequent", "chance")]
    # out of fold, the training priors move against the test fold: at or a little below chance
    assert 0.4 < chance.roc_auc <= 0.5 and chance.balanced_accuracy < 0.45
    assert metrics.loc[("logistic", "confounds")].roc_auc < 0.7
    assert metrics.loc[("logistic", "late_fusion")].roc_auc > 0.7
    assert metrics.loc[("hgb", "mri")].roc_auc > 0.65
    predictions = read_tsv(written["predictions"])
    probabilities = predictions[["probability_0", "probability_1", "probability_2"]]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    assert set(predictions.y_true) == {0, 1, 2}
    info = json.loads(written["run_info"].read_text())
    assert info["classes"] == CLASSES and info["n_positive"] is None
    # the report: confusion matrices with labelled axes, no ROC curves, a landing page
    figures = write_report_figures(tmp_path, tmp_path / "figures")
    names = {p.name: p for p in figures}
    assert names["confusion_matrices.png"].stat().st_size > 20_000
    assert "chance" in names["study.rst"].read_text()
    panels = _panels(read_tsv(written["predictions"]), 3)
    counts = dict(((m, model), c) for m, model, c in panels)[("mri", "logistic")]
    assert counts.sum() == 60 and np.trace(counts) >= 40


def test_multiclass_added_value_and_nested_search_use_macro_auc(tmp_path):
    participants, features, _ = three_class_study(n=45, seed=2)
    ptsv, paths = write_study(participants, {"mri": features["mri"]}, tmp_path / "in")
    settings = {
        "task": "multiclass",
        "confounds": ["age", "sex", "site"],
        "added_value": True,
        "added_value_permutations": 4,
        "fusion": [],
        "cv": {"folds": 3, "nested": True, "inner_folds": 2},
        "logistic": {"grid": [0.01, 1.0]},
        "metrics": {"bootstrap": 30},
    }
    written = run(ptsv, paths, None, tmp_path / "out", settings)
    row = read_tsv(written["added_value"]).iloc[0]
    assert row.modality == "mri" and row.difference > 0.05 and row.p_value == pytest.approx(0.2)
    hyper = read_tsv(written["hyperparameters"])
    assert set(hyper.modality) == {"mri", "mri+confounds", "confounds"}
    assert hyper.inner_score.between(0, 1).all() and hyper.chosen.sum() == 3 * 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"models": ["svm"]}, "do not fit learn.task: multiclass"),
        ({"models": ["dp_logistic"]}, "do not fit learn.task: multiclass"),
        ({"fusion": ["intermediate"]}, "two classes only"),
        ({"explain": {"enabled": True}}, "binary classifiers only"),
        ({"save_model": True}, "multiclass models cannot be saved"),
    ],
)
def test_models_that_cannot_do_multiclass_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        resolve({"task": "multiclass", **change})


def test_two_classes_or_a_singleton_class_are_refused(tmp_path):
    participants, features, _ = three_class_study(n=12)
    two = participants.assign(diagnosis=np.where(participants.diagnosis == "control", "a", "b"))
    ptsv, paths = write_study(two, {"mri": features["mri"]}, tmp_path / "two")
    with pytest.raises(ValueError, match="use learn.task: classification"):
        run(ptsv, paths, None, tmp_path / "o2", {"task": "multiclass"})
    lone = participants.copy()
    lone.loc[0, "diagnosis"] = "other"
    ptsv, paths = write_study(lone, {"mri": features["mri"]}, tmp_path / "lone")
    with pytest.raises(ValueError, match=r"fewer than two subjects: \['other'\]"):
        run(ptsv, paths, None, tmp_path / "o3", {"task": "multiclass"})


def test_multiclass_tables_are_recomputed_from_the_predictions(tmp_path):
    from psymodal.provenance.recompute import recompute_tables

    participants, features, _ = three_class_study(n=30, seed=4)
    ptsv, paths = write_study(participants, {"mri": features["mri"]}, tmp_path / "in")
    settings = {"task": "multiclass", "cv": {"folds": 3}, "metrics": {"bootstrap": 20}}
    written = run(ptsv, paths, None, tmp_path / "learn", settings)
    recomputed = recompute_tables(tmp_path / "learn")["metrics"]
    stored = read_tsv(written["metrics"])
    np.testing.assert_allclose(recomputed.roc_auc, stored.roc_auc, rtol=1e-9)
    np.testing.assert_allclose(recomputed.roc_auc_ci_low, stored.roc_auc_ci_low, rtol=1e-9)
