"""Connectivity features from parcellated time series.

Edges are named ``regionA__regionB`` for every pair ``i < j`` in atlas order (the upper
triangle read row by row), so feature tables of all subjects have the same columns.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

KINDS = ("correlation", "partial correlation", "covariance", "precision")
# correlation kinds are Fisher z-transformed; |r| is clipped so that arctanh stays finite
FISHER_KINDS = ("correlation", "partial correlation")
_CLIP = 1 - 1e-7


def edge_names(regions: list[str]) -> list[str]:
    """``regionA__regionB`` for the upper triangle (i < j) in the given order."""
    iu, ju = np.triu_indices(len(regions), k=1)
    return [f"{regions[i]}__{regions[j]}" for i, j in zip(iu, ju, strict=True)]


def vectorize(matrix: np.ndarray, regions: list[str]) -> pd.Series:
    """Upper triangle (i < j) of a square matrix as a Series indexed by edge names."""
    iu, ju = np.triu_indices(len(regions), k=1)
    return pd.Series(matrix[iu, ju], index=edge_names(regions), dtype=float)


def fisher_z(r: np.ndarray) -> np.ndarray:
    """Fisher z-transform (arctanh) with |r| clipped below 1."""
    return np.arctanh(np.clip(r, -_CLIP, _CLIP))


def connectivity_matrix(timeseries: pd.DataFrame, kind: str = "correlation") -> np.ndarray:
    """Region x region connectivity; rows/columns of all-NaN regions are NaN.

    Uses :class:`nilearn.connectome.ConnectivityMeasure` (Ledoit-Wolf shrunk covariance) on
    the regions with data. Correlation kinds are Fisher z-transformed, with a zero diagonal.
    """
    from nilearn.connectome import ConnectivityMeasure

    if kind not in KINDS:
        raise ValueError(
            f"Unknown connectivity kind {kind!r}; use one of {KINDS}. Tangent-space "
            "connectivity needs a group: see psymodal.mri.tangent.TangentSpace."
        )
    values = timeseries.to_numpy(dtype=float)
    ok = np.isfinite(values).all(axis=0)
    n = values.shape[1]
    full = np.full((n, n), np.nan)
    if ok.sum() < 2:
        return full
    measure = ConnectivityMeasure(kind=kind, standardize=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        matrix = measure.fit_transform([values[:, ok]])[0]
    if kind in FISHER_KINDS:
        matrix = fisher_z(matrix)
        np.fill_diagonal(matrix, 0.0)
    full[np.ix_(ok, ok)] = matrix
    return full


def connectivity_features(timeseries: pd.DataFrame, kind: str = "correlation") -> pd.Series:
    """Vectorised connectivity of one subject.

    Parameters
    ----------
    timeseries : DataFrame
        Time x regions in atlas order (all-NaN columns for missing regions).
    kind : str
        ``correlation`` (default), ``partial correlation``, ``covariance`` or ``precision``.
        Correlation kinds are Fisher z-transformed (arctanh).

    Returns
    -------
    Series
        One value per edge ``regionA__regionB`` (i < j in column order); NaN for edges that
        touch a missing region.
    """
    regions = [str(c) for c in timeseries.columns]
    return vectorize(connectivity_matrix(timeseries, kind), regions)
