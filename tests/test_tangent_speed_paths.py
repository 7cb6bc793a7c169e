"""The in-fold tangent CV shortcuts change the work, not the answer."""

from __future__ import annotations

import numpy as np
import pytest

from psymodal.learn.simulate import simulate_covariance_table
from psymodal.learn.transformers import TangentFeatures
from psymodal.mri import tangent
from psymodal.mri.tangent import TangentSpace, geometric_mean

REGIONS = [f"R{k}" for k in range(6)]
pytestmark = pytest.mark.usefixtures("one_thread")


def _covs(n=40, seed=0):
    rng = np.random.default_rng(seed)
    table, covs = simulate_covariance_table(np.arange(n) % 2, REGIONS, rng, coupling=0.6)
    return table, covs


def test_fit_transform_is_fit_then_transform():
    table, covs = _covs()
    a = TangentSpace(input="covariance").fit_transform(covs)
    b = TangentSpace(input="covariance").fit(covs).transform(covs)
    assert np.array_equal(a, b)
    features = TangentFeatures(edges=list(table.columns))
    x = table.to_numpy(dtype=float, copy=True)
    x[3, :] = np.nan  # an absent subject: NaN row either way
    assert np.array_equal(features.fit_transform(x), features.fit(x).transform(x), equal_nan=True)
    # a region missing in one training row: dropped, its edges 0 in both paths
    region = str(table.columns[0]).split("__")[0]
    x[5, [k for k, c in enumerate(table.columns) if region in str(c).split("__")]] = np.nan
    dropping = TangentFeatures(edges=list(table.columns), missing_regions="drop")
    once = dropping.fit_transform(x)
    assert dropping.regions_dropped_ == [region]
    assert np.array_equal(once, dropping.fit(x).transform(x), equal_nan=True)


def test_cached_subject_work_gives_the_same_reference():
    _, covs = _covs(seed=1)
    tangent._SUBJECT_CACHE.clear()
    cold = TangentSpace(input="covariance").fit(covs[:30]).reference_
    warm = TangentSpace(input="covariance").fit(covs[:30]).reference_  # from the cache
    assert np.array_equal(cold, warm)
    assert len(tangent._SUBJECT_CACHE) == 30


def test_secant_steps_reach_the_plain_gradient_descent_mean():
    _, covs = _covs(seed=2)
    spd, logs = tangent._spd_and_log(covs, 1e-6)
    fast = geometric_mean(spd, max_iter=100, tol=1e-9, init=tangent.log_euclidean_mean(logs))
    mean = spd.mean(axis=0)  # unit steps from the arithmetic mean, to convergence
    for _ in range(500):
        sq, isq = tangent._sqrtm(mean), tangent._inv_sqrtm(mean)
        mean = sq @ tangent._expm(tangent._logm(isq @ spd @ isq).mean(axis=0)) @ sq
    np.testing.assert_allclose(fast, mean, atol=1e-7)
