"""Connectivity features from parcellated time series.

Edges are named ``regionA__regionB`` for every pair ``i < j`` in atlas order (the upper
triangle read row by row), so feature tables of all subjects have the same columns.

Kind ``tangent`` writes each subject's (Ledoit-Wolf) covariance matrix, upper triangle
*including the diagonal* (the i < j edges, then ``regionA__regionA`` for every region), and
fits nothing across subjects: the tangent-space projection needs a group reference, which the
learning stage fits on each training fold (``learn.transforms: {<modality>: tangent}``, see
:class:`psymodal.learn.transformers.TangentFeatures`).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd

KINDS = ("correlation", "partial correlation", "covariance", "precision", "tangent")
#: Kinds whose per-subject vector keeps the diagonal (``regionA__regionA`` columns).
DIAGONAL_KINDS = ("tangent",)
# correlation kinds are Fisher z-transformed; |r| is clipped so that arctanh stays finite
FISHER_KINDS = ("correlation", "partial correlation")
_CLIP = 1 - 1e-7


def edge_names(regions: list[str]) -> list[str]:
    """``regionA__regionB`` for the upper triangle (i < j) in the given order."""
    return list(_edge_names(tuple(regions)))


@functools.lru_cache(maxsize=8)
def _edge_names(regions: tuple[str, ...]) -> tuple[str, ...]:
    # a batch job names the same 6,000 edges for every subject
    iu, ju = np.triu_indices(len(regions), k=1)
    return tuple(f"{regions[i]}__{regions[j]}" for i, j in zip(iu, ju, strict=True))


def feature_names(regions: list[str], kind: str = "correlation") -> list[str]:
    """Column names of :func:`connectivity_features` for ``kind``.

    The i < j edges (:func:`edge_names`), followed for kind ``tangent`` by the diagonal
    ``regionA__regionA`` in region order.
    """
    names = edge_names(regions)
    if kind in DIAGONAL_KINDS:
        names += [f"{r}__{r}" for r in regions]
    return names


@functools.lru_cache(maxsize=8)
def _feature_index(regions: tuple[str, ...], diagonal: bool) -> pd.Index:
    return pd.Index(feature_names(list(regions), "tangent" if diagonal else "correlation"))


def vectorize(matrix: np.ndarray, regions: list[str], diagonal: bool = False) -> pd.Series:
    """Upper triangle (i < j) of a square matrix as a Series indexed by edge names.

    With ``diagonal`` the diagonal follows, named ``regionA__regionA``.
    """
    iu, ju = np.triu_indices(len(regions), k=1)
    values = matrix[iu, ju]
    if diagonal:
        values = np.concatenate([values, np.diag(matrix)])
    index = _feature_index(tuple(regions), diagonal)
    return pd.Series(values, index=index, dtype=float)


def fisher_z(r: np.ndarray) -> np.ndarray:
    """Fisher z-transform (arctanh) with |r| clipped below 1."""
    return np.arctanh(np.clip(r, -_CLIP, _CLIP))


def connectivity_matrix(timeseries: pd.DataFrame, kind: str = "correlation") -> np.ndarray:
    """Region x region connectivity; rows/columns of all-NaN regions are NaN.

    Uses :class:`nilearn.connectome.ConnectivityMeasure` (Ledoit-Wolf shrunk covariance) on
    the regions with data. Correlation kinds are Fisher z-transformed, with a zero diagonal.
    Kind ``tangent`` returns the covariance (the per-subject input of the tangent projection,
    which is fitted later, on training subjects only).
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown connectivity kind {kind!r}; use one of {KINDS}.")
    values = timeseries.to_numpy(dtype=float)
    ok = np.isfinite(values).all(axis=0)
    n = values.shape[1]
    full = np.full((n, n), np.nan)
    if ok.sum() < 2:
        return full
    matrix = _numpy_connectivity(values[:, ok], kind)
    if matrix is None:
        matrix = _nilearn_connectivity(values[:, ok], kind)
    if kind in FISHER_KINDS:
        matrix = fisher_z(matrix)
        np.fill_diagonal(matrix, 0.0)
    full[np.ix_(ok, ok)] = matrix
    return full


def _numpy_connectivity(values: np.ndarray, kind: str) -> np.ndarray | None:
    """Covariance kinds without importing nilearn (the same bits, see
    :mod:`psymodal.mri.covariance`); None for kinds or sizes left to nilearn."""
    from .covariance import cov_to_corr, ledoit_wolf

    if kind not in ("correlation", "covariance", "tangent"):
        return None
    if kind != "correlation":
        return ledoit_wolf(values)
    covariance = ledoit_wolf(values.copy())  # nilearn standardizes (here: copies) first
    return None if covariance is None else cov_to_corr(covariance)


def _nilearn_connectivity(values: np.ndarray, kind: str) -> np.ndarray:
    from nilearn.connectome import ConnectivityMeasure

    measure_kind = "covariance" if kind == "tangent" else kind
    measure = ConnectivityMeasure(kind=measure_kind, standardize=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        return measure.fit_transform([values])[0]


def connectivity_features(timeseries: pd.DataFrame, kind: str = "correlation") -> pd.Series:
    """Vectorised connectivity of one subject.

    Parameters
    ----------
    timeseries : DataFrame
        Time x regions in atlas order (all-NaN columns for missing regions).
    kind : str
        ``correlation`` (default), ``partial correlation``, ``covariance``, ``precision`` or
        ``tangent``. Correlation kinds are Fisher z-transformed (arctanh). ``tangent`` gives
        the covariance with its diagonal; the projection is fitted in the learning stage.

    Returns
    -------
    Series
        One value per edge ``regionA__regionB`` (i < j in column order; for ``tangent`` then
        the diagonal ``regionA__regionA``); NaN for edges that touch a missing region.
    """
    regions = [str(c) for c in timeseries.columns]
    matrix = connectivity_matrix(timeseries, kind)
    return vectorize(matrix, regions, diagonal=kind in DIAGONAL_KINDS)
