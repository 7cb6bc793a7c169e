"""Differentially private fusion network (opacus DP-SGD) and the epsilon shown in the report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psymodal.learn.cross_validation import plan_analyses
from psymodal.learn.fusion_torch import FusionNetClassifier
from psymodal.learn.pipeline import differential_privacy
from psymodal.learn.settings import resolve
from psymodal.report.study_summary import study_summary

BLOCKS = {"a": list(range(4)), "b": list(range(4, 8))}


def _data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    y = (X[:, 0] + X[:, 4] + 0.5 * rng.normal(size=n) > 0).astype(int)
    X[:10, 4:] = np.nan  # a modality missing for some subjects
    return X, y


def test_dp_training_spends_at_most_its_budget_and_is_deterministic():
    pytest.importorskip("opacus")
    X, y = _data()
    kwargs = {"blocks": BLOCKS, "dp_epsilon": 3.0, "dp_epochs": 5, "random_state": 1}
    first = FusionNetClassifier(**kwargs).fit(X, y)
    second = FusionNetClassifier(**kwargs).fit(X, y)
    assert 2.5 < first.epsilon_ <= 3.0 + 1e-6 and first.delta_ == 1e-5
    p = first.predict_proba(X)[:, 1]
    assert np.all((p >= 0) & (p <= 1)) and np.array_equal(p, second.predict_proba(X)[:, 1])
    assert first.prevalence_ == 0.5  # no label statistic outside the guarantee
    with pytest.raises(ValueError, match="dp_delta"):
        FusionNetClassifier(**{**kwargs, "dp_delta": 1.0}).fit(X, y)


def test_dp_models_are_named_and_their_guarantee_reaches_the_report(tmp_path):
    s = resolve(
        {"models": ["logistic", "dp_logistic"], "fusion": ["intermediate"],
         "torch": {"dp_epsilon": 8}, "dp_logistic": {"epsilon": 3}}
    )  # fmt: skip

    class Data:  # only what the plan reads
        modalities = ["mri"]
        covariates = []

    names = [a.model for a in plan_analyses(Data(), s)]
    assert "dp_fusion_net" in names and "fusion_net" not in names
    privacy = differential_privacy(s)
    assert privacy == {
        "dp_logistic": {"epsilon": 3.0, "delta": 0.0},
        "dp_fusion_net": {"epsilon": 8.0, "delta": 1e-5},
    }
    assert differential_privacy(resolve({})) == {}
    metrics = pd.DataFrame(
        [
            {"model": m, "modality": "mri", "n_subjects": 40, "n_positive": 20, "roc_auc": 0.6,
             "balanced_accuracy": 0.6, "n_permutations": 0, "p_value": np.nan}
            for m in ("logistic", "dp_logistic", "dp_fusion_net")
        ]
    )  # fmt: skip
    text = study_summary(metrics, {}, tmp_path / "study.rst", privacy).read_text()
    assert "dp_logistic (DP: epsilon 3, delta 0)" in text
    assert "dp_fusion_net (DP: epsilon 8, delta 1e-05)" in text
    assert "**Privacy.**" in text
    assert "**Privacy.**" not in study_summary(metrics, {}, tmp_path / "b.rst").read_text()
