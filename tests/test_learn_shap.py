"""SHAP values: exact linear attributions, optional TreeSHAP and the importance-table column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psymodal.learn import assemble, evaluate
from psymodal.learn.explain import importance_table
from psymodal.learn.shap_values import add_shap, linear_shap, shap_table, shap_values
from psymodal.learn.simulate import simulate_study

FAST = {"metrics": {"bootstrap": 0}, "cv": {"folds": 3, "nested": False}}
SIGNAL = {f"mri__f{j:04d}" for j in range(5)}
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def fitted():
    participants, features = simulate_study(
        90, n_features={"mri": 12, "speech": 4}, signal={"mri": 1.2}, missing={"speech": 0.2},
        seed=3,
    )  # fmt: skip
    data = assemble(participants, features, None, {})
    settings = {**FAST, "models": ["logistic", "svm", "hgb"], "fusion": ["late"]}
    settings["hgb"] = {"learning_rate": 0.1, "max_iter": 20, "grid": [0.1]}
    result = evaluate(data, settings, keep_fitted=True)
    return data, result


def test_linear_shap_is_additive_on_the_decision_function(fitted):
    data, result = fitted
    X = data.X.to_numpy(dtype=float)
    checked = 0
    for _, _, analysis, estimator, test in result.fitted:
        if analysis.kind != "block" or analysis.model not in ("logistic", "svm"):
            continue
        values, base = linear_shap(estimator, X[test])
        assert values.shape == (len(test), len(data.blocks[analysis.block]))
        decision = estimator.decision_function(X[test])
        np.testing.assert_allclose(base + values.sum(axis=1), decision, atol=1e-8)
        if analysis.model == "logistic":
            logit = np.log(estimator.predict_proba(X[test])[:, 1])
            logit -= np.log(estimator.predict_proba(X[test])[:, 0])
            np.testing.assert_allclose(base + values.sum(axis=1), logit, atol=1e-8)
        checked += 1
    assert checked >= 6


def test_linear_shap_with_a_background_mean():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    pipe = Pipeline([("scale", MinMaxScaler()), ("clf", LogisticRegression())]).fit(X, y)
    with pytest.raises(ValueError, match="background_mean"):
        linear_shap(pipe, X)
    mean = pipe[:-1].transform(X).mean(axis=0)
    values, base = linear_shap(pipe, X, background_mean=mean)
    np.testing.assert_allclose(base + values.sum(1), pipe.decision_function(X), atol=1e-10)
    np.testing.assert_allclose(values.mean(axis=0), 0, atol=1e-10)  # centred on the training


def test_tree_shap_is_additive_when_shap_is_installed(fitted):
    pytest.importorskip("shap")
    data, result = fitted
    X = data.X.to_numpy(dtype=float)
    for _, _, analysis, estimator, test in result.fitted:
        if analysis.kind == "block" and analysis.model == "hgb":
            values, base = shap_values(estimator, X[test])
            np.testing.assert_allclose(
                base + values.sum(axis=1), estimator.decision_function(X[test]), atol=1e-6
            )
            return
    pytest.fail("no hgb fit kept")


def test_signal_features_rank_first_and_the_column_is_merged(fitted):
    data, result = fitted
    shap = shap_table(data, result)
    assert set(shap.columns) >= {"model", "modality", "feature", "shap_mean_abs", "n_folds"}
    for model in ("logistic", "svm"):
        mri = shap.query("model == @model and modality == 'mri'")
        top = set(mri.sort_values("shap_mean_abs", ascending=False).head(5).feature)
        assert len(top & SIGNAL) >= 4, (model, top)
        assert (mri.n_folds == result.n_folds).all()
    table = importance_table(data, result)
    assert "shap_mean_abs" in table.columns
    logistic = table.query("model == 'logistic' and modality == 'mri' and level == 'feature'")
    assert logistic.shap_mean_abs.notna().all() and len(logistic) == 12
    assert table.query("level == 'block'").shap_mean_abs.isna().all()


def test_add_shap_appends_rows_missing_from_the_table():
    keys = {"model": "hgb", "modality": "mri", "level": "feature"}
    table = pd.DataFrame([{**keys, "feature": "a", "importance_mean": 0.1, "n_folds": 3}])
    shap = pd.DataFrame(
        [
            {**keys, "feature": "a", "shap_mean_abs": 0.5, "n_folds": 3},
            {**keys, "feature": "b", "shap_mean_abs": 0.2, "n_folds": 3},
            {**keys, "feature": "c", "shap_mean_abs": 0.9, "n_folds": 3},
        ]
    )
    merged = add_shap(table, shap)
    assert list(merged.feature) == ["a", "c", "b"]
    assert list(merged.shap_mean_abs) == [0.5, 0.9, 0.2]
    assert list(merged.columns) == [*table.columns, "shap_mean_abs"]
    assert merged.n_folds.tolist() == [3, 3, 3]


def test_without_shap_trees_are_skipped_with_a_warning(fitted, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "shap", None)  # import shap -> ImportError
    data, result = fitted
    with pytest.warns(UserWarning, match="pip install shap"):
        shap = shap_table(data, result)
    assert "hgb" not in set(shap.model) and "logistic" in set(shap.model)
