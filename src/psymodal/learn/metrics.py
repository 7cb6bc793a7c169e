"""Classification (binary and multiclass) and regression metrics on out-of-fold predictions,
bootstrap intervals and calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd

# scipy.stats and scikit-learn are imported where they are used: the report's figures job
# reads confusion_matrix from here and needs neither (their import cost more than its figures)

#: Metric names in output order.
METRICS = ("roc_auc", "balanced_accuracy", "sensitivity", "specificity", "f1", "brier")

#: Regression metric names in output order (``learn.task: regression``).
REGRESSION_METRICS = ("pearson_r", "r2", "mae", "rmse")


def roc_auc(y_true, score) -> float:
    """ROC AUC of ``score`` for the binary ``y_true``; NaN when only one class is present.

    The value of :func:`sklearn.metrics.roc_auc_score` (the larger label is the positive
    class, ties count one half), computed as the Mann-Whitney statistic from average ranks:
    the permutation null, the bootstrap and the permutation importance call it tens of
    thousands of times, and scikit-learn's input validation cost more than the ranking.
    """
    y = np.asarray(y_true)
    labels = np.unique(y)
    if len(labels) != 2:
        return np.nan
    s = np.asarray(score, dtype=float)
    if s.shape != y.shape or not np.isfinite(s).all():
        from sklearn.metrics import roc_auc_score

        return float(roc_auc_score(y, s))  # its error messages for bad input
    from scipy.stats import rankdata

    positive = y == labels[1]
    n_pos = int(positive.sum())
    n_neg = len(y) - n_pos
    rank_sum = float(rankdata(s)[positive].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def roc_auc_rows(y_true, scores) -> list[float]:
    """:func:`roc_auc` of each row of ``scores`` (shape (k, n)) against the same ``y_true``.

    One ranking call for all rows: the permutation importance scores each permuted copy of a
    test fold. Average ranks are multiples of 1/2, so their sums are exact in any order and
    every value equals the row's :func:`roc_auc` to the last bit.
    """
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=float)
    labels = np.unique(y)
    if len(labels) != 2 or y.ndim != 1 or s.ndim != 2 or s.shape[1] != len(y):
        return [roc_auc(y, row) for row in s]
    if not np.isfinite(s).all():
        return [roc_auc(y, row) for row in s]
    from scipy.stats import rankdata

    positive = y == labels[1]
    n_pos = int(positive.sum())
    n_neg = len(y) - n_pos
    rank_sums = rankdata(s, axis=1)[:, positive].sum(axis=1)
    return [(float(r) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg) for r in rank_sums]


def binary_metrics(y_true, probability, threshold: float = 0.5) -> dict[str, float]:
    """ROC AUC, balanced accuracy, sensitivity, specificity, F1 and Brier score.

    Parameters
    ----------
    y_true : array of {0, 1}
    probability : array of float
        Predicted probability of class 1.
    threshold : float
        A subject is predicted positive when ``probability >= threshold``.

    Returns
    -------
    dict
        NaN for a metric that is undefined (ROC AUC and balanced accuracy with one class).
    """
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(probability, dtype=float)
    pred = p >= threshold
    pos, neg = y == 1, y == 0
    tp = float(np.sum(pred & pos))
    tn = float(np.sum(~pred & neg))
    fp = float(np.sum(pred & neg))
    fn = float(np.sum(~pred & pos))
    sens = tp / (tp + fn) if pos.any() else np.nan
    spec = tn / (tn + fp) if neg.any() else np.nan
    both = pos.any() and neg.any()
    return {
        "roc_auc": roc_auc(y, p) if both else np.nan,
        "balanced_accuracy": (sens + spec) / 2 if both else np.nan,
        "sensitivity": sens,
        "specificity": spec,
        "f1": 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) > 0 else 0.0,
        "brier": float(np.mean((p - y) ** 2)) if len(y) else np.nan,
    }


def bootstrap_ci(
    y_true, probability, n_boot: int, seed: int, threshold: float = 0.5, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap confidence intervals of :func:`binary_metrics`.

    Subjects are resampled within each class (stratified bootstrap), so every resample keeps
    both classes and the class balance of the evaluated sample; a plain bootstrap on small
    samples would sometimes draw one class and leave ROC AUC undefined.

    Returns
    -------
    dict
        Metric -> (low, high); (NaN, NaN) when ``n_boot`` is 0 or the metric is undefined.
    """
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(probability, dtype=float)
    nan = {m: (np.nan, np.nan) for m in METRICS}
    if n_boot <= 0 or len(np.unique(y)) < 2:
        return nan
    rng = np.random.default_rng(seed)
    idx_pos, idx_neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    samples = {m: [] for m in METRICS}
    for _ in range(n_boot):
        idx = np.concatenate([rng.choice(idx_pos, len(idx_pos)), rng.choice(idx_neg, len(idx_neg))])
        for name, value in binary_metrics(y[idx], p[idx], threshold).items():
            samples[name].append(value)
    return _percentile_intervals(samples, level)


def _percentile_intervals(samples: dict[str, list[float]], level: float) -> dict:
    """Metric -> (low, high) percentiles of its bootstrap values, NaN draws left out."""
    alpha = (1 - level) / 2
    out = {}
    for name, values in samples.items():
        values = np.asarray(values, dtype=float)
        values = values[~np.isnan(values)]
        out[name] = (
            (float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha)))
            if len(values)
            else (np.nan, np.nan)
        )
    return out


def calibration_table(y_true, probability, n_bins: int = 5) -> pd.DataFrame:
    """Reliability-curve table: equal-width probability bins with their observed frequency.

    Returns
    -------
    pandas.DataFrame
        ``bin``, ``bin_low``, ``bin_high``, ``n``, ``mean_probability``, ``fraction_positive``
        (empty bins are kept with n = 0 so that tables from different models align).
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(probability, dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=False), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        sel = which == b
        rows.append(
            {
                "bin": b,
                "bin_low": edges[b],
                "bin_high": edges[b + 1],
                "n": int(sel.sum()),
                "mean_probability": float(p[sel].mean()) if sel.any() else np.nan,
                "fraction_positive": float(y[sel].mean()) if sel.any() else np.nan,
            }
        )
    return pd.DataFrame(rows)


def permutation_p_value(observed: float, null: np.ndarray) -> float:
    """One-sided p-value ``(1 + #{null >= observed}) / (1 + n)`` (Phipson & Smyth 2010)."""
    null = np.asarray(null, dtype=float)
    null = null[~np.isnan(null)]
    if np.isnan(observed) or len(null) == 0:
        return np.nan
    return float((1 + np.sum(null >= observed)) / (1 + len(null)))


def regression_metrics(y_true, prediction) -> dict[str, float]:
    """Pearson r, R² (1 - SSE / SS around the mean of ``y_true``), MAE and RMSE.

    R² is computed against the evaluated subjects' own mean, so the out-of-fold mean
    predictor scores slightly below 0; r is NaN when either side is constant.
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(prediction, dtype=float)
    if len(y) == 0:
        return dict.fromkeys(REGRESSION_METRICS, np.nan)
    error = p - y
    ss = float(np.sum((y - y.mean()) ** 2))
    constant = np.ptp(y) == 0 or np.ptp(p) == 0
    return {
        "pearson_r": np.nan if constant or len(y) < 3 else float(np.corrcoef(y, p)[0, 1]),
        "r2": 1.0 - float(np.sum(error**2)) / ss if ss > 0 else np.nan,
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
    }


def bootstrap_regression_ci(
    y_true, prediction, n_boot: int, seed: int, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals (subjects resampled) of :func:`regression_metrics`."""
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(prediction, dtype=float)
    if n_boot <= 0 or len(y) < 3:
        return {m: (np.nan, np.nan) for m in REGRESSION_METRICS}
    rng = np.random.default_rng(seed)
    samples = {m: [] for m in REGRESSION_METRICS}
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        for name, value in regression_metrics(y[idx], p[idx]).items():
            samples[name].append(value)
    return _percentile_intervals(samples, level)


#: Multiclass metric names in output order (``learn.task: multiclass``).
MULTICLASS_METRICS = ("roc_auc", "balanced_accuracy", "accuracy")


def macro_roc_auc(y_true, probabilities) -> float:
    """Macro one-vs-rest ROC AUC: the mean over classes of the AUC of class ``k`` against
    the rest, scored by the probability of class ``k`` (:func:`roc_auc`).

    ``y_true`` holds class codes, ``probabilities`` one column per code. Classes absent from
    ``y_true`` are left out (their AUC is undefined); NaN with fewer than two classes. With
    every class present this is :func:`sklearn.metrics.roc_auc_score` with
    ``multi_class="ovr"``.
    """
    y = np.asarray(y_true, dtype=int)
    P = np.asarray(probabilities, dtype=float)
    present = np.unique(y)
    if len(present) < 2:
        return np.nan
    return float(np.mean([roc_auc((y == k).astype(int), P[:, k]) for k in present]))


def multiclass_metrics(y_true, probabilities) -> dict[str, float]:
    """Macro ROC AUC, balanced accuracy (mean recall over the classes present) and accuracy
    of the most probable class (ties go to the lowest code)."""
    y = np.asarray(y_true, dtype=int)
    P = np.asarray(probabilities, dtype=float)
    if len(y) == 0:
        return dict.fromkeys(MULTICLASS_METRICS, np.nan)
    predicted = np.argmax(P, axis=1)
    recalls = [np.mean(predicted[y == k] == k) for k in np.unique(y)]
    return {
        "roc_auc": macro_roc_auc(y, P),
        "balanced_accuracy": float(np.mean(recalls)),
        "accuracy": float(np.mean(predicted == y)),
    }


def bootstrap_multiclass_ci(
    y_true, probabilities, n_boot: int, seed: int, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of :func:`multiclass_metrics`, subjects resampled
    within each class (every resample keeps every class and the class sizes)."""
    y = np.asarray(y_true, dtype=int)
    P = np.asarray(probabilities, dtype=float)
    if n_boot <= 0 or len(np.unique(y)) < 2:
        return {m: (np.nan, np.nan) for m in MULTICLASS_METRICS}
    rng = np.random.default_rng(seed)
    strata = [np.flatnonzero(y == k) for k in np.unique(y)]
    samples = {m: [] for m in MULTICLASS_METRICS}
    for _ in range(n_boot):
        idx = np.concatenate([rng.choice(g, len(g)) for g in strata])
        for name, value in multiclass_metrics(y[idx], P[idx]).items():
            samples[name].append(value)
    return _percentile_intervals(samples, level)


def confusion_matrix(y_true, probabilities, n_classes: int) -> np.ndarray:
    """Counts ``[true class, predicted class]`` of the most probable class."""
    y = np.asarray(y_true, dtype=int)
    predicted = np.argmax(np.asarray(probabilities, dtype=float), axis=1)
    counts = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(counts, (y, predicted), 1)
    return counts
