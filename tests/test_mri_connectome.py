"""Values of the correlation connectivity features (``mri.connectivity: correlation``, the
function's own default): Fisher z of the region correlations."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.covariance import LedoitWolf

from psymodal.mri.connectome import connectivity_features

REGIONS = ["a", "b", "c", "d"]


def series(n_volumes: int, seed: int = 0) -> pd.DataFrame:
    """Four regions: b follows a closely (r ~ 0.95), c opposes it (r ~ -0.8), d is independent."""
    z = np.random.default_rng(seed).standard_normal((n_volumes, 4))
    x = np.column_stack(
        [z[:, 0], 0.9 * z[:, 0] + 0.3 * z[:, 1], -0.7 * z[:, 0] + 0.5 * z[:, 2], z[:, 3]]
    )
    return pd.DataFrame(x, columns=REGIONS)


def upper(matrix: np.ndarray) -> np.ndarray:
    return matrix[np.triu_indices(len(REGIONS), k=1)]


def test_default_features_are_the_fisher_z_of_the_pearson_correlation():
    ts = series(20_000)
    features = connectivity_features(ts, "correlation")
    assert features.equals(connectivity_features(ts))  # the function's own default
    assert list(features.index) == ["a__b", "a__c", "a__d", "b__c", "b__d", "c__d"]
    r = upper(np.corrcoef(ts.to_numpy(), rowvar=False))
    # the Ledoit-Wolf shrinkage of the covariance moves these by < 0.003 at 20000 volumes;
    # without the arctanh the strong edges would be off by more than 0.5
    assert np.abs(np.arctanh(r) - r).max() > 0.5
    np.testing.assert_allclose(features.to_numpy(), np.arctanh(r), atol=0.01)


def test_default_features_are_exactly_the_arctanh_of_the_shrunk_correlation():
    """As documented: the correlation of the Ledoit-Wolf covariance, then arctanh. With 60
    volumes the shrinkage moves the values by up to 0.6 from the plain correlations' z."""
    ts = series(60)
    covariance = LedoitWolf(store_precision=False).fit(ts.to_numpy()).covariance_
    sd = np.sqrt(np.diag(covariance))
    r = upper(covariance / np.outer(sd, sd))
    features = connectivity_features(ts)
    np.testing.assert_allclose(features.to_numpy(), np.arctanh(r), rtol=1e-10, atol=1e-12)
