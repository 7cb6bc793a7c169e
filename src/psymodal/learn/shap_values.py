"""Held-out SHAP values of the fitted per-modality models.

For a linear pipeline (logistic regression, linear SVM) the exact interventional SHAP value of
feature ``j`` for subject ``i`` is ``coef_j * (z_ij - mean_train_j)`` on the model's input scale
``z`` (the test rows transformed by the fitted preprocessing steps: selector, transform,
harmonizer, imputer, scaler). The last preprocessing step is a StandardScaler fitted on the
training fold, so ``mean_train`` is 0 there and the base value is the intercept; the values
plus the base value sum to the decision function (log-odds for the logistic model).

For histogram gradient boosting, TreeSHAP (path-dependent, log-odds scale) is used when the
optional package ``shap`` is installed; without it tree models get no SHAP values.

The summary is the mean absolute SHAP value per feature over the held-out subjects of all
folds and repeats (:func:`shap_table`), merged into the importance table (:func:`add_shap`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.preprocessing import StandardScaler

from psymodal.learn.assemble import StudyData
from psymodal.learn.cross_validation import EvaluationResult, block_feature_names

SHAP_COLUMNS = ["model", "modality", "level", "feature", "shap_mean_abs", "n_folds"]

_TREE_HINT = (
    "TreeSHAP for gradient-boosting models needs the optional package 'shap' "
    "(pip install shap); tree models are left without SHAP values"
)


def _split(estimator):
    """(preprocessing pipeline, final classifier) of a fitted (possibly grid-searched) pipeline."""
    pipe = getattr(estimator, "best_estimator_", estimator)
    steps = getattr(pipe, "steps", None)
    if not steps:
        raise ValueError("SHAP values need a fitted sklearn Pipeline ending in a classifier")
    return pipe[:-1], steps[-1][1]


def _model_input(pre, X) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return np.asarray(pre.transform(X), dtype=float)


def linear_shap(estimator, X, background_mean=None) -> tuple[np.ndarray, float]:
    """Exact interventional SHAP values of a linear pipeline on its input scale.

    Parameters
    ----------
    estimator : Pipeline or GridSearchCV
        Fitted; the final step has ``coef_`` and ``intercept_``.
    X : array-like
        Rows to explain, in the pipeline's input layout (the full study matrix).
    background_mean : array-like, optional
        Training mean of the model's input. Default: zero, which requires the step before the
        classifier to be a centring StandardScaler (as in every psymodal feature pipeline).

    Returns
    -------
    values : ndarray, shape (n_rows, n_model_inputs)
    base : float
        ``intercept + coef . mean``; ``base + values.sum(1)`` is the decision function.
    """
    pre, clf = _split(estimator)
    coef = np.asarray(clf.coef_, dtype=float).ravel()
    if background_mean is None:
        last = pre.steps[-1][1] if len(pre.steps) else None
        if not (isinstance(last, StandardScaler) and last.with_mean):
            raise ValueError(
                "background_mean is needed unless the classifier follows a centring StandardScaler"
            )
        background_mean = np.zeros_like(coef)
    mean = np.asarray(background_mean, dtype=float).ravel()
    Z = _model_input(pre, X)
    values = coef * (Z - mean)
    base = float(np.asarray(clf.intercept_, dtype=float).ravel()[0] + coef @ mean)
    return values, base


def tree_shap(estimator, X) -> tuple[np.ndarray, float]:
    """TreeSHAP values (log-odds) of a gradient-boosting pipeline; needs the package ``shap``.

    Raises
    ------
    ImportError
        When ``shap`` is not installed.
    """
    try:
        import shap
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(_TREE_HINT) from error
    pre, clf = _split(estimator)
    explainer = shap.TreeExplainer(clf)
    values = explainer.shap_values(_model_input(pre, X), check_additivity=False)
    if isinstance(values, list):  # older shap: one array per class
        values = values[-1]
    values = np.asarray(values, dtype=float)
    if values.ndim == 3:  # (rows, features, classes)
        values = values[:, :, -1]
    base = np.asarray(explainer.expected_value, dtype=float).ravel()[-1]
    return values, float(base)


def shap_values(estimator, X) -> tuple[np.ndarray, float] | None:
    """SHAP values of a fitted pipeline, or None for models without a supported explainer.

    Linear classifiers (``coef_``) get :func:`linear_shap`; histogram gradient boosting gets
    :func:`tree_shap` (``ImportError`` without ``shap``); anything else None.
    """
    try:
        _, clf = _split(estimator)
    except ValueError:
        return None
    if hasattr(clf, "coef_") and hasattr(clf, "intercept_"):
        return linear_shap(estimator, X)
    if isinstance(clf, HistGradientBoostingClassifier):
        return tree_shap(estimator, X)
    return None


def shap_table(data: StudyData, result: EvaluationResult) -> pd.DataFrame:
    """Mean |SHAP| per feature of every per-modality (``block``) analysis.

    Held-out subjects of all folds and repeats are pooled. With a tangent-space transform the
    values are those of the tangent edges the model sees
    (:func:`~psymodal.learn.cross_validation.block_feature_names`). Tree models are skipped
    when ``shap`` is absent (with one warning).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SHAP_COLUMNS` (``level`` is ``feature``; ``n_folds`` counts the fits).
    """
    Xall = data.X.to_numpy(dtype=float)
    sums: dict[tuple, np.ndarray] = {}
    counts: dict[tuple, int] = {}
    folds: dict[tuple, int] = {}
    warned = False
    for _, _, analysis, estimator, test in result.fitted:
        if analysis.kind != "block" or len(test) == 0:
            continue
        try:
            out = shap_values(estimator, Xall[test])
        except ImportError:
            if not warned:
                warnings.warn(_TREE_HINT, UserWarning, stacklevel=2)
                warned = True
            continue
        if out is None:
            continue
        values = out[0]
        columns = block_feature_names(data, result.settings, analysis.block)
        if values.shape[1] != len(columns):
            continue
        key = (analysis.model, analysis.modality, analysis.block)
        sums[key] = sums.get(key, 0) + np.abs(values).sum(axis=0)
        counts[key] = counts.get(key, 0) + len(values)
        folds[key] = folds.get(key, 0) + 1
    rows = []
    for key, total in sums.items():
        model, modality, block = key
        names = block_feature_names(data, result.settings, block)
        for column, value in zip(names, total / counts[key], strict=True):
            rows.append((model, modality, "feature", column, float(value), folds[key]))
    return pd.DataFrame(rows, columns=SHAP_COLUMNS)


def add_shap(table: pd.DataFrame, shap: pd.DataFrame) -> pd.DataFrame:
    """Importance table with the column ``shap_mean_abs`` (outer merge on the row keys).

    Features with SHAP values but no importance row (wide blocks of tree models) get a row of
    their own (importance and coefficients missing, ``n_folds`` the SHAP fits). The row
    order of ``table`` is kept; new rows follow by decreasing ``shap_mean_abs``.
    """
    keys = ["model", "modality", "level", "feature"]
    merged = table.merge(shap[[*keys, "shap_mean_abs"]], on=keys, how="left")
    extra = shap.merge(table[keys], on=keys, how="left", indicator=True)
    extra = extra[extra["_merge"] == "left_only"][[*keys, "shap_mean_abs", "n_folds"]]
    if len(extra):
        extra = extra.sort_values(
            ["model", "modality", "shap_mean_abs", "feature"],
            ascending=[True, True, False, True],
            kind="stable",
        )
        merged = pd.concat([merged, extra], ignore_index=True)
    return merged[[*table.columns, "shap_mean_abs"]].reset_index(drop=True)
