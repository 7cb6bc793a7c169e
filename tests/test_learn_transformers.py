"""scikit-learn compliance and behaviour of the learning-stage transformers and fusion net."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from psymodal.learn.fusion_torch import FusionNetClassifier
from psymodal.learn.transformers import (
    ComBat,
    ConfoundRegressor,
    MedianImputer,
    ModalityBlockSelector,
)

pytestmark = pytest.mark.usefixtures("one_thread")


@parametrize_with_checks(
    [
        ModalityBlockSelector(),
        MedianImputer(),
        ConfoundRegressor(),
        ComBat(),
        FusionNetClassifier(hidden=8, embedding=4, max_epochs=15, patience=5),
    ]
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        # The checks feed random floats as site codes: every sample is its own site.
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


def _sites(n=300, seed=0):
    rng = np.random.default_rng(seed)
    site = rng.integers(0, 3, n).astype(float)
    age = rng.normal(size=n)
    scale = np.array([1.0, 2.0, 3.0])[site.astype(int)][:, None]
    shift = np.array([0.0, 5.0, -3.0])[site.astype(int)][:, None]
    X = rng.normal(size=(n, 20)) * scale + shift + 2 * age[:, None]
    return site, age, X


@pytest.mark.parametrize("empirical_bayes", [False, True])
def test_combat_removes_site_location_and_scale(empirical_bayes):
    site, age, X = _sites()
    out = ComBat(0, (1,), empirical_bayes=empirical_bayes).fit_transform(
        np.column_stack([site, age, X])
    )
    assert out.shape == X.shape
    resid = out - 2 * age[:, None]  # the protected age effect is kept
    means = np.array([resid[site == k].mean(0) for k in range(3)])
    sds = np.array([resid[site == k].std(0) for k in range(3)])
    assert np.abs(means - means.mean(0)).max() < 0.6
    assert (sds.max(0) / sds.min(0)).max() < 1.3
    raw = X - 2 * age[:, None]
    raw_sds = np.array([raw[site == k].std(0) for k in range(3)])
    assert (raw_sds.max(0) / raw_sds.min(0)).min() > 2


def test_combat_keeps_protected_covariate_and_handles_missing():
    site, age, X = _sites(seed=1)
    X[:10] = np.nan  # an absent modality
    X[20, 3] = np.nan
    out = ComBat(0, (1,)).fit_transform(np.column_stack([site, age, X]))
    assert np.isnan(out[:10]).all() and np.isnan(out[20, 3])
    slope = np.polyfit(age[10:], out[10:, 0], 1)[0]
    assert slope == pytest.approx(2, abs=0.3)


def test_combat_unseen_site_policies():
    site, age, X = _sites(seed=2)
    A = np.column_stack([site, age, X])
    train, test = site != 2, site == 2
    combat = ComBat(0, (1,)).fit(A[train])
    with pytest.warns(UserWarning, match="not seen in fit"):
        pooled = combat.transform(A[test])
    # Pooled parameters: no site correction, the site-2 offset (-3) stays.
    assert pooled.mean() < -1
    selfed = ComBat(0, (1,), unseen_site="self").fit(A[train]).transform(A[test])
    seen = ComBat(0, (1,)).fit(A[train]).transform(A[train])
    assert abs(selfed.mean() - seen.mean()) < 0.5


def test_combat_by_column_name():
    site, age, X = _sites(seed=3)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame.insert(5, "site", site)
    frame["age"] = age
    combat = ComBat("site", ["age"]).fit(frame)
    assert list(combat.get_feature_names_out()) == [f"f{i}" for i in range(X.shape[1])]
    assert combat.transform(frame).shape == X.shape


def test_confound_regressor_removes_covariates_in_training_fit():
    rng = np.random.default_rng(0)
    n = 200
    age = rng.normal(size=n)
    site = rng.integers(0, 3, n).astype(float)
    X = rng.normal(size=(n, 5)) + 3 * age[:, None] + np.array([0, 4, -4])[site.astype(int)][:, None]
    frame = pd.DataFrame(X, columns=list("abcde")).assign(age=age, site=site)
    reg = ConfoundRegressor(["age", "site"], ["site"]).fit(frame.iloc[:150])
    out = reg.transform(frame.iloc[150:])
    assert out.shape == (50, 5)
    for j in range(5):
        # Out of sample: the raw features follow age; the residuals only by chance.
        assert abs(np.corrcoef(X[150:, j], age[150:])[0, 1]) > 0.4
        assert abs(np.corrcoef(out[:, j], age[150:])[0, 1]) < 0.45
        assert out[:, j].std() < 1.5
    assert list(reg.get_feature_names_out()) == list("abcde")


def test_block_selector_names_and_positions():
    frame = pd.DataFrame(np.arange(12.0).reshape(3, 4), columns=["a", "b", "c", "d"])
    assert list(ModalityBlockSelector(["c", "a"]).fit_transform(frame).columns) == ["c", "a"]
    arr = ModalityBlockSelector([3, 0]).fit_transform(frame.to_numpy())
    assert arr.tolist() == [[3.0, 0.0], [7.0, 4.0], [11.0, 8.0]]
    with pytest.raises(ValueError, match="not in X"):
        ModalityBlockSelector(["z"]).fit(frame)


def test_median_imputer_matches_simple_imputer():
    from sklearn.impute import SimpleImputer

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6))
    X[rng.random(X.shape) < 0.2] = np.nan
    X[:, 2] = np.nan
    ours = MedianImputer().fit(X[:30]).transform(X[30:])
    ref = SimpleImputer(strategy="median", keep_empty_features=True).fit(X[:30]).transform(X[30:])
    assert np.allclose(ours, ref)
