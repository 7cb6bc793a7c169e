"""learn.task: regression: continuous scores, their baselines, metrics and audit recomputation."""

from __future__ import annotations

import numpy as np
import pytest

from psymodal.io.tables import read_tsv
from psymodal.learn import assemble, evaluate, run
from psymodal.learn.metrics import regression_metrics
from psymodal.learn.settings import resolve
from psymodal.learn.simulate import simulate_study, write_study
from psymodal.provenance.recompute import compare_recomputed

pytestmark = pytest.mark.usefixtures("one_thread")

SETTINGS = {
    "task": "regression",
    "label_column": "score",
    "models": ["ridge"],
    "confounds": ["site"],
    "metrics": {"bootstrap": 50},
    "cv": {"folds": 4, "nested": True},
    "ridge": {"grid": [1000.0, 10.0, 0.1]},
}


def _scored_study(n=48, seed=0):
    participants, features = simulate_study(n, n_features={"mri": 12}, n_sites=2, seed=seed)
    rng = np.random.default_rng(seed)
    x = features["mri"].drop(columns="participant_id").to_numpy()
    participants["score"] = 10 + 3 * x[:, :3].sum(axis=1) + rng.normal(0, 2, n)
    return participants, features


def test_regression_metrics_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    m = regression_metrics(y, y + [0.5, -0.5, 0.5, -0.5])
    assert m["mae"] == pytest.approx(0.5) and m["rmse"] == pytest.approx(0.5)
    assert m["r2"] == pytest.approx(1 - 1.0 / 5.0)
    assert np.isnan(regression_metrics(y, np.full(4, 2.5))["pearson_r"])  # constant prediction


def test_planted_score_is_recovered_and_beats_the_baselines():
    participants, features = _scored_study()
    data = assemble(participants, features, None, SETTINGS)
    result = evaluate(data, SETTINGS)
    rows = result.metrics.set_index("modality")
    assert list(rows.index) == ["mri", "confounds", "mean_predictor"]
    assert rows.loc["mri", "pearson_r"] > 0.7
    assert rows.loc["mri", "pearson_r_ci_low"] < rows.loc["mri", "pearson_r"]
    assert rows.loc["mri", "mae"] < 0.75 * rows.loc["mean_predictor", "mae"]
    assert rows.loc["mri", "r2"] > 0.4 > rows.loc["confounds", "r2"]
    chosen = result.hyperparameters.query("chosen and modality == 'mri'")
    assert set(chosen.parameter) == {"alpha"} and len(chosen) == 4
    shuffled = participants.assign(score=np.random.default_rng(1).permutation(participants.score))
    null = evaluate(assemble(shuffled, features, None, SETTINGS), SETTINGS)
    row = null.metrics.set_index("modality").loc["mri"]
    assert row.pearson_r < 0.3 and row.r2 < 0.05  # chance


def test_regression_run_is_written_and_recomputable(tmp_path):
    participants, features = _scored_study(32, seed=3)
    participants["score"] = participants.score.astype(object)
    participants.loc[0, "score"] = "high"
    ptsv, paths = write_study(participants, features, tmp_path / "in")
    settings = {**SETTINGS, "permutation": {"n": 4}, "metrics": {"bootstrap": 20}}
    written = run(ptsv, paths, None, tmp_path / "learn", settings)
    predictions = read_tsv(written["predictions"])
    assert "prediction" in predictions.columns and "probability" not in predictions.columns
    assert "is not a number" in read_tsv(written["exclusions"]).reason.iloc[0]
    metrics = read_tsv(written["metrics"])
    assert (metrics.n_permutations == 4).all() and (metrics.p_value_floor == 0.2).all()
    assert "pearson_r" in read_tsv(written["permutation_null"]).columns
    checked = compare_recomputed(tmp_path / "learn")
    assert checked["metrics"]["differences"] == []


def test_models_must_fit_the_task():
    with pytest.raises(ValueError, match="do not fit learn.task: regression"):
        resolve({"task": "regression"})  # the default model, logistic, classifies
    with pytest.raises(ValueError, match="do not fit learn.task: classification"):
        resolve({"models": ["ridge"]})
