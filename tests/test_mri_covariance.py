"""The numpy covariance path gives nilearn's and scikit-learn's bits (no tolerance)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from nilearn.connectome import ConnectivityMeasure
from nilearn.signal import clean

from psymodal.mri.connectome import (
    _nilearn_connectivity,
    _numpy_connectivity,
    connectivity_matrix,
)
from psymodal.mri.covariance import ledoit_wolf, zscore_sample
from psymodal.mri.ready_timeseries import _clean, clean_timeseries, timeseries_settings

SHAPES = [(78, 111), (316, 111), (20, 3), (50, 200), (5, 40), (2, 2)]


def _series(shape, seed):
    rng = np.random.default_rng(seed)
    n, p = shape
    mixing = rng.normal(size=(min(p, 6), p))
    return rng.normal(size=(n, min(p, 6))) @ mixing * 3 + rng.normal(size=shape) + 100


@pytest.mark.parametrize("shape", SHAPES)
def test_zscore_is_nilearns(shape):
    values = _series(shape, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        expected = clean(values, detrend=False, standardize="zscore_sample")
    assert np.array_equal(zscore_sample(values), expected)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", ["correlation", "covariance"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_ledoit_wolf_connectivity_is_nilearns(shape, kind, order):
    """In both memory orders (the bits depend on it): a DataFrame's array is F-ordered."""
    values = np.asarray(zscore_sample(_series(shape, 1)), order=order)
    measure = ConnectivityMeasure(kind=kind, standardize=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        expected = measure.fit_transform([values])[0]
    assert np.array_equal(_nilearn_connectivity(values, kind), expected)
    assert np.array_equal(_numpy_connectivity(values, kind), expected)


@pytest.mark.parametrize("kind", ["correlation", "covariance", "tangent"])
def test_connectivity_matrix_is_the_nilearn_one(kind):
    frame = pd.DataFrame(zscore_sample(_series((150, 40), 3)))
    frame[7] = np.nan  # a missing region
    values = frame.to_numpy(dtype=float)
    ok = np.isfinite(values).all(axis=0)
    expected = np.full(values.shape[1:] * 2, np.nan)
    matrix = _nilearn_connectivity(values[:, ok], kind)
    if kind == "correlation":
        matrix = np.arctanh(np.clip(matrix, -1 + 1e-7, 1 - 1e-7))
        np.fill_diagonal(matrix, 0.0)
    expected[np.ix_(ok, ok)] = matrix
    assert np.array_equal(connectivity_matrix(frame, kind), expected, equal_nan=True)


def test_sizes_outside_one_block_are_left_to_scikit_learn():
    assert ledoit_wolf(np.ones((10, 1000))) is None
    assert ledoit_wolf(np.ones((1, 5))) is None


def test_clean_timeseries_default_path_matches_nilearn_clean():
    settings = timeseries_settings({})
    frame = pd.DataFrame(_series((120, 30), 2))
    frame[5] = 1.0  # constant: a missing region
    ours, missing = clean_timeseries(frame, settings)
    ok = [c for c in frame.columns if c != 5]
    assert missing == [5]
    assert np.array_equal(ours[ok].to_numpy(), _clean(frame[ok].to_numpy(), settings))


def test_1d_reader_parses_the_doubles_python_parses(tmp_path):
    from psymodal.mri.ready_timeseries import read_timeseries

    rng = np.random.default_rng(4)
    values = rng.normal(size=(30, 7)) * 10.0 ** rng.integers(-8, 8, (30, 7))
    lines = ["#r1\t#r2\t#r3\t#r4\t#r5\t#r6\t#r7"]
    lines += [
        "\t".join(repr(v) if k % 2 else f"{v:.6f}" for k, v in enumerate(row))
        for row in values.tolist()
    ]
    (tmp_path / "s.1D").write_text("\n".join(lines) + "\n")
    expected = np.array([[float(c) for c in ln.split()] for ln in lines[1:]])
    assert np.array_equal(read_timeseries(tmp_path / "s.1D").to_numpy(), expected)
