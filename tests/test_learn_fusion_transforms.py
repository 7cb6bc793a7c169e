"""Intermediate (torch) fusion applies learn.transforms and harmonisation inside the folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from psymodal.learn import assemble, evaluate
from psymodal.learn.cross_validation import build_estimator, plan_analyses
from psymodal.learn.explain import importance_table
from psymodal.learn.fusion_torch import FusionNetClassifier
from psymodal.learn.settings import resolve
from psymodal.learn.simulate import simulate_covariance_table
from psymodal.learn.transformers import ComBat, ConfoundRegressor, TangentFeatures

REGIONS = [f"R{k}" for k in range(5)]
N_TANGENT = 5 * 4 // 2  # i < j edges of 5 regions
TORCH = {"hidden": 8, "embedding": 4, "max_epochs": 8, "patience": 4}
SETTINGS = {
    "metrics": {"bootstrap": 0},
    "confound_baseline": False,
    "cv": {"folds": 3},
    "fusion": ["intermediate"],
    "transforms": {"mri": "tangent"},
    "torch": TORCH,
    "explain": {"n_repeats": 2},
}
pytestmark = pytest.mark.usefixtures("one_thread")


def _study(n=36, seed=0):
    """MRI covariance vectors (with diagonal) + a small speech block; some subjects lack one."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    mri, _ = simulate_covariance_table(
        y, REGIONS, rng, coupling=0.8, n_timepoints=100, scale_sd=0.5
    )
    ids = [f"sub-{k:03d}" for k in range(n)]
    mri.insert(0, "participant_id", ids)
    speech = pd.DataFrame(
        rng.standard_normal((n, 3)) + 0.8 * y[:, None], columns=["rate", "pause", "f0"]
    )
    speech.insert(0, "participant_id", ids)
    participants = pd.DataFrame(
        {
            "participant_id": ids,
            "diagnosis": np.where(y, "patient", "control"),
            "age": np.round(rng.normal(30, 8, n), 1),
            "sex": rng.choice(["F", "M"], n),
            "site": np.where(np.arange(n) % 3 == 0, "a", "b"),
        }
    )
    features = {"mri": mri.drop(index=[2, 7]), "speech": speech.drop(index=[4, 9, 13])}
    return assemble(participants, features, None, {})


@pytest.fixture(scope="module")
def study():
    return _study()


def _intermediate(data, s):
    analysis = [a for a in plan_analyses(data, s) if a.kind == "intermediate"][0]
    return build_estimator(analysis, data, s, seed=0)


def test_without_transform_or_harmonizer_the_network_reads_the_study_matrix(study):
    est = _intermediate(study, resolve({**SETTINGS, "transforms": {}}))
    assert isinstance(est, FusionNetClassifier)


def test_harmonizer_without_transform_feeds_the_raw_blocks(study):
    est = _intermediate(study, resolve({**SETTINGS, "transforms": {}, "harmonize": "combat"}))
    assert list(est.named_steps) == ["select", "harmonize", "clf"]
    n_mri = len(study.blocks["mri"])
    assert est.named_steps["clf"].blocks == {
        "mri": list(range(n_mri)),
        "speech": list(range(n_mri, n_mri + 3)),
    }
    X = study.X.to_numpy(dtype=float)
    assert np.isfinite(est.fit(X, study.y).predict_proba(X)).all()


@pytest.mark.parametrize("harmonize", ["none", "regress", "combat"])
def test_tangent_and_harmonizer_fitted_on_training_rows_only(study, harmonize):
    s = resolve({**SETTINGS, "harmonize": harmonize})
    est = _intermediate(study, s)
    assert isinstance(est, Pipeline) and list(est.named_steps)[1] == "transform"
    X = study.X.to_numpy(dtype=float)
    train = np.arange(len(X)) % 4 != 0  # three quarters of the subjects
    est.fit(X[train], study.y[train])

    # The network's blocks are the transformed blocks' column ranges, in order.
    assert est.named_steps["clf"].blocks == {
        "mri": list(range(N_TANGENT)),
        "speech": list(range(N_TANGENT, N_TANGENT + 3)),
    }
    # The tangent reference is that of the training rows alone, not of everyone.
    mri = X[:, [study.X.columns.get_loc(c) for c in study.blocks["mri"]]]
    edges = [c.removeprefix("mri__") for c in study.blocks["mri"]]
    fitted = est.named_steps["transform"].named_transformers_["mri"].tangent_.reference_
    alone = TangentFeatures(edges=edges).fit(mri[train]).tangent_.reference_
    everyone = TangentFeatures(edges=edges).fit(mri).tangent_.reference_
    np.testing.assert_allclose(fitted, alone, rtol=0, atol=1e-12)
    assert not np.allclose(fitted, everyone)

    if harmonize != "none":
        harmonizer = est.named_steps["harmonize"]
        assert isinstance(harmonizer, ConfoundRegressor if harmonize == "regress" else ComBat)
        before = est[:2]  # selector and transform, as fitted
        refit = type(harmonizer)(**harmonizer.get_params())
        params = "coef_" if harmonize == "regress" else "gamma_star_"
        np.testing.assert_allclose(
            getattr(harmonizer, params), getattr(refit.fit(before.transform(X[train])), params)
        )
        leaky = type(harmonizer)(**harmonizer.get_params()).fit(before.transform(X))
        assert not np.allclose(getattr(harmonizer, params), getattr(leaky, params))

    prob = est.predict_proba(X)
    assert prob.shape == (len(X), 2) and np.isfinite(prob).all()
    # A subject without MRI stays without it through the transform (and harmonizer).
    weights = est.named_steps["clf"].modality_weights(est[:-1].transform(X))
    absent = ~study.available.to_numpy()
    assert (weights.to_numpy()[absent] == 0).all()
    assert (weights.to_numpy()[~absent] > 0).all()


def test_evaluate_intermediate_with_tangent_is_complete_and_deterministic(study):
    first = evaluate(study, SETTINGS, keep_fitted=True)
    second = evaluate(study, SETTINGS)
    net = first.predictions.query("model == 'fusion_net'")
    assert sorted(net.participant_id) == sorted(study.ids)  # subjects lacking a block too
    assert np.isfinite(net.probability).all()
    again = second.predictions.query("model == 'fusion_net'")
    assert np.array_equal(net.probability.to_numpy(), again.probability.to_numpy())
    pd.testing.assert_frame_equal(first.predictions, second.predictions, check_exact=True)
    for *_, analysis, estimator, _ in first.fitted:
        if analysis.kind == "intermediate":
            assert "transform" in estimator.named_steps

    # Block-level permutation importance still works through the fitted pipeline.
    table = importance_table(study, first)
    rows = table.query("modality == 'intermediate_fusion'")
    assert set(rows.level) == {"block"} and set(rows.feature) == {"mri", "speech"}
    assert rows.importance_mean.notna().all()
