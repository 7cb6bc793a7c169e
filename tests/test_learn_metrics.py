"""The rank-based ROC AUC used by the permutation null, bootstrap and importance is
scikit-learn's value (ties, string labels, one class)."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from psymodal.learn.metrics import binary_metrics, roc_auc


def test_roc_auc_is_sklearns_value_with_and_without_ties():
    rng = np.random.default_rng(0)
    for k in range(300):
        n = int(rng.integers(4, 80))
        y = rng.integers(0, 2, n)
        if len(set(y)) < 2:
            continue
        score = rng.normal(size=n)
        if k % 3 == 0:
            score = np.round(score, 1)  # ties
        if k % 5 == 0:
            score = rng.integers(0, 3, n).astype(float)  # many ties
        expected = roc_auc_score(y, score)
        assert roc_auc(y, score) == pytest.approx(expected, abs=1e-15)
        assert f"{roc_auc(y, score):.10g}" == f"{expected:.10g}"
        assert binary_metrics(y, score)["roc_auc"] == pytest.approx(expected, abs=1e-15)


def test_roc_auc_labels_one_class_and_bad_scores():
    labels = np.array(["control", "patient", "patient", "control"])
    assert roc_auc(labels, [0.1, 0.9, 0.2, 0.3]) == roc_auc_score(labels, [0.1, 0.9, 0.2, 0.3])
    assert np.isnan(roc_auc([1, 1, 1], [0.1, 0.2, 0.3]))
    with pytest.raises(ValueError):
        roc_auc([0, 1, 0], [0.1, np.nan, 0.3])
