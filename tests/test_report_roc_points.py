"""psymodal.report.figures.roc_points gives sklearn.metrics.roc_curve's rates, to the bit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from _helpers import modules_imported_by
from psymodal.report.figures import roc_points


def _cases():
    rng = np.random.default_rng(0)
    for n in (2, 3, 5, 12, 40, 333):
        for _ in range(8):
            y = rng.integers(0, 2, n)
            y[:2] = (0, 1)  # both classes
            yield y, rng.random(n)
            yield y, np.round(rng.random(n), 1)  # many ties
            yield y, rng.integers(0, 3, n).astype(float)
            yield y.astype(bool).astype(np.int64), (y + rng.normal(0, 0.8, n)).astype(np.float32)
    yield np.array([0, 1]), np.array([0.5, 0.5])
    yield np.array([1, 0, 1, 0]), np.array([1.0, 1.0, 0.0, 0.0])


def test_same_rates_as_sklearn():
    for y, score in _cases():
        fpr, tpr, _ = roc_curve(y, score)
        got_fpr, got_tpr = roc_points(y, score)
        np.testing.assert_array_equal(got_fpr, fpr)
        np.testing.assert_array_equal(got_tpr, tpr)
        assert got_fpr.dtype == fpr.dtype and got_tpr.dtype == tpr.dtype


def test_other_inputs_go_to_sklearn():
    with pytest.raises(ValueError):  # labels 1/2: sklearn asks for pos_label
        roc_points(np.array([1, 2, 1, 2]), np.array([0.1, 0.2, 0.3, 0.4]))
    fpr, tpr = roc_points(np.array([-1, 1, 1, -1]), np.array([0.1, 0.9, 0.4, 0.3]))
    expected = roc_curve(np.array([-1, 1, 1, -1]), np.array([0.1, 0.9, 0.4, 0.3]))
    np.testing.assert_array_equal(fpr, expected[0])
    np.testing.assert_array_equal(tpr, expected[1])


def test_report_figures_job_imports_neither_sklearn_nor_scipy_stats():
    statement = "import psymodal.report.figures, psymodal.report.confusion, psymodal.report.privacy"
    assert modules_imported_by(statement, ("sklearn", "scipy.stats")) == []
