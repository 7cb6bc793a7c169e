"""Shortcuts of the learning stage that must not change a number or an error message:
row-wise ROC AUC, the fitted transformers' input check, validation-free permutation refits."""

import numpy as np
import pytest
import sklearn

from psymodal.learn.cross_validation import permutation_fits
from psymodal.learn.metrics import roc_auc, roc_auc_rows
from psymodal.learn.transformers import MedianImputer, ModalityBlockSelector, _validate_fitted


def test_roc_auc_rows_equal_roc_auc_to_the_bit():
    rng = np.random.default_rng(0)
    for n in (2, 3, 7, 40):
        y = np.r_[0, 1, rng.integers(0, 2, n - 2)]
        scores = rng.integers(0, 4, (6, n)) / 4.0  # ties
        scores[1] = rng.random(n)
        expected = [roc_auc(y, row) for row in scores]
        assert np.array_equal(roc_auc_rows(y, scores), expected)
    labels = np.array(["a", "b", "b", "a"])
    assert roc_auc_rows(labels, np.eye(4)) == [roc_auc(labels, r) for r in np.eye(4)]


def test_roc_auc_rows_undefined_and_bad_input_as_roc_auc():
    assert np.isnan(roc_auc_rows(np.ones(4), np.random.default_rng(0).random((2, 4)))).all()
    with pytest.raises(ValueError):
        roc_auc_rows(np.array([0, 1, 0]), np.array([[0.1, np.nan, 0.3]]))


def test_validate_fitted_passes_plain_arrays_and_checks_the_rest():
    X = np.random.default_rng(0).random((5, 3))
    X[0, 1] = np.nan
    imputer = MedianImputer().fit(X)
    assert _validate_fitted(imputer, X) is X
    with pytest.raises(ValueError, match="features"):
        imputer.transform(X[:, :2])
    bad = X.copy()
    bad[1, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        imputer.transform(bad)
    low = X.astype(np.float32)  # converted by scikit-learn, as before
    assert np.array_equal(imputer.transform(low), imputer.transform(low.astype(float)))
    selector = ModalityBlockSelector([2, 0]).fit(X)
    assert np.array_equal(selector.transform(X), X[:, [2, 0]], equal_nan=True)
    with pytest.raises(ValueError):
        selector.transform(np.empty((0, 3)))


def test_permutation_refits_skip_parameter_validation_only_inside():
    assert not sklearn.get_config()["skip_parameter_validation"]
    with permutation_fits():
        assert sklearn.get_config()["skip_parameter_validation"]
    assert not sklearn.get_config()["skip_parameter_validation"]
