"""Hyper-parameter choice inside an outer training fold (the inner loop of nested CV).

The inner splits follow the outer scheme, so that the inner estimate answers the same question
as the outer one: stratified folds for ``stratified``, site x label strata for
``site_stratified``, whole sites for ``leave_site_out`` and whole groups for ``group``.

Every grid value searched here is a parameter of the pipeline's last step (``clf__...``), so
the steps before it (tangent space, harmonisation, imputation, scaling) are fitted once per
inner split and only the last step is refitted for each value: the same choices as a plain
grid search over the whole pipeline, at a fraction of the cost.
"""

from __future__ import annotations

import warnings
from itertools import product

import numpy as np
from sklearn import config_context
from sklearn.base import clone
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline

from psymodal.learn.metrics import roc_auc

#: Columns of the hyper-parameter table (one row per analysis, outer fold and grid value).
CHOICE_COLUMNS = [
    "model",
    "modality",
    "repeat",
    "fold",
    "parameter",
    "value",
    "inner_score",
    "chosen",
    "inner_cv",
    "n_inner_folds",
]


def stratification_key(y: np.ndarray, n_folds: int) -> np.ndarray:
    """Quantile bin of each value of a continuous target, to stratify folds on.

    Quartiles when every bin can hold ``n_folds`` subjects, fewer bins otherwise (one bin:
    no stratification).
    """
    y = np.asarray(y, dtype=float)
    bins = int(np.clip(len(y) // max(n_folds, 1), 1, 4))
    edges = np.quantile(y, np.arange(1, bins) / bins)
    key = np.searchsorted(edges, y, side="right")
    # ties can leave a bin short of n_folds members: merge it into its neighbour
    while bins > 1 and np.bincount(key, minlength=bins).min() < n_folds:
        bins -= 1
        edges = np.quantile(y, np.arange(1, bins) / bins)
        key = np.searchsorted(edges, y, side="right")
    return key


def _stratify_key(y: np.ndarray, task: str, n_folds: int) -> np.ndarray:
    """Labels for stratification: the classes, or quantile bins of a continuous target."""
    return stratification_key(y, n_folds) if task == "regression" else np.asarray(y)


def inner_splits(
    strategy: str,
    y: np.ndarray,
    n_folds: int,
    seed: int,
    site: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    task: str = "classification",
) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """Inner splits of one outer training fold, following the outer ``strategy``.

    Parameters
    ----------
    strategy : {"stratified", "site_stratified", "leave_site_out", "group"}
    y : array
        Targets of the training fold.
    n_folds : int
        ``cv.inner_folds``; reduced to the smallest class (or the number of sites or groups).
    seed : int
    site, groups : array, optional
        Sites and groups of the training fold's subjects.
    task : str
        ``regression`` stratifies on quartiles of ``y``.

    Returns
    -------
    splits : list of (train, test) index arrays
    description : str
        The inner scheme actually used (recorded in the hyper-parameter table).
    """
    key = _stratify_key(y, task, n_folds)
    smallest = int(np.unique(key, return_counts=True)[1].min())
    folds = max(2, min(n_folds, smallest))
    X = np.zeros((len(y), 1))
    blocks = {"leave_site_out": site, "group": groups}.get(strategy)
    if blocks is not None and len(np.unique(blocks)) >= 2:
        folds = min(n_folds, len(np.unique(blocks)))
        splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
        with warnings.catch_warnings():
            # Groups that hold one class only make the stratification approximate.
            warnings.simplefilter("ignore", UserWarning)
            splits = list(splitter.split(X, key, blocks))
        what = "sites" if strategy == "leave_site_out" else "groups"
        return splits, f"{folds}-fold by {what}"
    if strategy == "site_stratified" and site is not None:
        key = np.char.add(np.char.add(np.asarray(site).astype(str), "|"), key.astype(str))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, key))
        return splits, f"{folds}-fold site-stratified"
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, key))
    return splits, f"{folds}-fold stratified"


def _score(y_true: np.ndarray, prediction: np.ndarray, task: str) -> float:
    """ROC AUC (binary), macro one-vs-rest AUC (multiclass) or R² (regression); NaN if undefined."""
    if task == "regression":
        return float(r2_score(y_true, prediction)) if len(y_true) > 1 else np.nan
    if len(np.unique(y_true)) < 2:
        return np.nan
    if task == "multiclass":
        labels = np.arange(prediction.shape[1])
        if len(np.unique(y_true)) < len(labels):
            return np.nan
        return float(roc_auc_score(y_true, prediction, multi_class="ovr", labels=labels))
    return roc_auc(y_true, prediction)


def _predict(estimator, X, task: str) -> np.ndarray:
    if task == "regression":
        return estimator.predict(X)
    if task == "multiclass":
        return estimator.predict_proba(X)
    return estimator.predict_proba(X)[:, 1]


def choose(
    estimator: Pipeline,
    grid: dict[str, list],
    X: np.ndarray,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    task: str = "classification",
) -> tuple[dict, list[dict]]:
    """The grid point with the best mean inner score, and every point's score.

    Parameters
    ----------
    estimator : Pipeline
        Unfitted; every key of ``grid`` names a parameter of its last step (``clf__C``).
    grid : dict of str to list
    X, y : arrays
        The outer training fold.
    splits : list of (train, test)
        From :func:`inner_splits`.
    task : str

    Returns
    -------
    best : dict
        Parameter -> value. Ties go to the first grid point (the grids list the most
        regularised value first).
    scores : list of dict
        ``{"params": {...}, "score": mean inner score}`` per grid point, in grid order.

    Notes
    -----
    An inner split whose training part has one class is skipped; a split whose test part
    cannot be scored (one class) counts for nothing. With no scorable split, the pooled
    inner predictions are scored instead.
    """
    last = estimator.steps[-1][0]
    names = list(grid)
    points = [dict(zip(names, values, strict=True)) for values in product(*grid.values())]
    fold_scores = np.full((len(points), len(splits)), np.nan)
    pooled = [dict() for _ in points]
    for j, (train, test) in enumerate(splits):
        if task != "regression" and len(np.unique(y[train])) < 2:
            continue
        prefix = clone(Pipeline(estimator.steps[:-1])) if len(estimator.steps) > 1 else None
        # The outer pipeline validated these arrays; skipping sklearn's checks in the inner
        # fits halves their cost on small matrices without changing any number.
        with (
            warnings.catch_warnings(),
            config_context(assume_finite=True, skip_parameter_validation=True),
        ):
            warnings.simplefilter("ignore")
            Xtr = prefix.fit_transform(X[train], y[train]) if prefix is not None else X[train]
            Xte = prefix.transform(X[test]) if prefix is not None else X[test]
            for i, point in enumerate(points):
                params = {k[len(last) + 2 :]: v for k, v in point.items()}
                model = clone(estimator.steps[-1][1]).set_params(**params)
                prediction = _predict(model.fit(Xtr, y[train]), Xte, task)
                fold_scores[i, j] = _score(y[test], prediction, task)
                for t, p in zip(test, prediction, strict=True):
                    pooled[i][int(t)] = p
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(fold_scores, axis=1)
    if np.all(np.isnan(means)):
        means = np.array(
            [
                _score(y[sorted(p)], np.asarray([p[k] for k in sorted(p)]), task) if p else np.nan
                for p in pooled
            ]
        )
    best = int(np.nanargmax(means)) if not np.all(np.isnan(means)) else 0
    scores = [{"params": p, "score": float(m)} for p, m in zip(points, means, strict=True)]
    return points[best], scores
