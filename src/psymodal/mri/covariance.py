"""Ledoit-Wolf covariance and sample z-scores with nilearn's arithmetic, in numpy alone.

The MRI stage on ready time series computes one small covariance per subject; importing
nilearn and scikit-learn for it costs each batch job about 1.5 s of CPU, more than the
computation of its 64 subjects. These functions repeat, operation for operation, what
``nilearn.signal.clean(..., standardize="zscore_sample")`` and
``nilearn.connectome.ConnectivityMeasure`` (``sklearn.covariance.LedoitWolf``) compute, so
their results are bit for bit the same (``tests/test_mri_covariance.py`` checks this against
the installed nilearn and scikit-learn); cases they do not cover return None and the caller
uses nilearn.
"""

from __future__ import annotations

import numpy as np

# scikit-learn splits the features in blocks of this size; below it there is one block
_LEDOIT_WOLF_BLOCK = 1000


def zscore_sample(signals: np.ndarray) -> np.ndarray:
    """Centre and divide by the sample standard deviation (ddof=1), as nilearn does.

    A standard deviation below the float64 epsilon is replaced by 1. Like nilearn, works on a
    C-ordered copy (sums along an axis round differently in another memory order).
    """
    signals = signals.copy()
    signals = signals - signals.mean(axis=0)
    std = signals.std(axis=0, ddof=1)
    std[std < np.finfo(np.float64).eps] = 1.0
    signals /= std
    return signals


def ledoit_wolf(values: np.ndarray) -> np.ndarray | None:
    """The Ledoit-Wolf shrunk covariance of ``values`` (time x regions), centred first.

    Computed in the memory order of ``values``, as scikit-learn does (nilearn passes a
    C-ordered copy for kind ``correlation``, the array itself for ``covariance``).

    Returns None for inputs outside the one-block case (1,000 regions or more, fewer than two
    regions or time points), which the caller leaves to scikit-learn.
    """
    n_samples, n_features = values.shape
    if not 2 <= n_features < _LEDOIT_WOLF_BLOCK or n_samples < 2:
        return None
    x = values - values.mean(0)
    # sklearn.covariance.ledoit_wolf_shrinkage, one block
    x2 = x**2
    emp_cov_trace = np.sum(x2, axis=0) / n_samples
    mu = np.sum(emp_cov_trace) / n_features
    delta_ = 0.0 + np.sum(np.dot(x.T, x) ** 2)
    delta_ /= n_samples**2
    beta_ = 0.0 + np.sum(np.dot(x2.T, x2))
    beta = 1.0 / (n_features * n_samples) * (beta_ / n_samples - delta_)
    delta = delta_ - 2.0 * mu * emp_cov_trace.sum() + n_features * mu**2
    delta /= n_features
    beta = min(beta, delta)
    shrinkage = 0 if beta == 0 else beta / delta
    # sklearn.covariance._shrunk_covariance._ledoit_wolf
    emp_cov = np.dot(x.T, x) / n_samples
    mu = np.sum(np.trace(emp_cov)) / n_features
    shrunk = (1.0 - shrinkage) * emp_cov
    shrunk.flat[:: n_features + 1] += shrinkage * mu
    return shrunk


def cov_to_corr(covariance: np.ndarray) -> np.ndarray:
    """Correlation from covariance, with an exact unit diagonal (nilearn's ``cov_to_corr``)."""
    diagonal = np.atleast_2d(1.0 / np.sqrt(np.diag(covariance)))
    correlation = covariance * diagonal * diagonal.T
    np.fill_diagonal(correlation, 1.0)
    return correlation
