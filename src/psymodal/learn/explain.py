"""Held-out explanations: permutation importance per feature and per modality block.

Importance is the drop in ROC AUC on the outer test fold when a feature (or a whole modality
block, jointly) is permuted across the test subjects, averaged over permutations, folds and
repeats. It is computed on held-out data only, with the model fitted on the training fold, so it
describes what the evaluated models use rather than what they overfit. For linear models the
exact attribution is also given: the coefficients on the standardised features, averaged over
folds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from psymodal.learn.assemble import StudyData
from psymodal.learn.cross_validation import EvaluationResult, block_feature_names
from psymodal.learn.metrics import roc_auc, roc_auc_rows
from psymodal.learn.shap_values import add_shap, shap_table

COLUMNS = [
    "model",
    "modality",
    "level",
    "feature",
    "importance_mean",
    "importance_sd",
    "coef_mean",
    "coef_sd",
    "n_folds",
]


def _final_pipeline(estimator):
    return getattr(estimator, "best_estimator_", estimator)


def _linear_coefficients(estimator) -> np.ndarray | None:
    """Coefficients of a logistic pipeline on its standardised inputs, else None."""
    pipe = _final_pipeline(estimator)
    steps = getattr(pipe, "named_steps", {})
    clf = steps.get("clf")
    if clf is None or not hasattr(clf, "coef_") or "harmonize" in steps:
        return None
    return np.asarray(clf.coef_).ravel()


def _permuted_drop(predict, X: np.ndarray, y, columns, n_repeats, rng, base) -> float:
    """Mean AUC drop when the ``columns`` (positions) of ``X`` are permuted jointly over rows.

    The ``n_repeats`` permuted copies go through the fitted pipeline in one call (its steps act
    row by row), because each call's input validation costs more than its arithmetic.
    """
    n = len(X)
    stacked = np.tile(X, (n_repeats, 1))
    for k in range(n_repeats):
        stacked[k * n : (k + 1) * n, columns] = X[rng.permutation(n)][:, columns]
    scores = predict(stacked)
    drops = [base - auc for auc in roc_auc_rows(y, scores.reshape(n_repeats, n))]
    return float(np.mean(drops))


def importance_table(data: StudyData, result: EvaluationResult) -> pd.DataFrame:
    """Permutation importance (and linear coefficients) of every fitted analysis.

    Parameters
    ----------
    data : StudyData
    result : EvaluationResult
        From ``evaluate(..., keep_fitted=True)``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS` and ``shap_mean_abs`` (mean absolute SHAP value over the
        held-out subjects, :mod:`psymodal.learn.shap_values`). ``level`` is ``block`` (a
        modality permuted as a whole; for fusion analyses) or ``feature`` (blocks with at most
        ``explain.max_features`` features). Folds with a single class are skipped
        (``n_folds`` counts the used ones). Fusion blocks are permuted in the study matrix, i.e.
        before the in-fold steps (``learn.transforms``, harmonisation), which the fitted
        pipeline then applies: with a tangent transform the block-level importance is that of
        the whole connectome block; fusion analyses get no feature-level rows.
    """
    s = result.settings
    n_repeats = int(s["explain"]["n_repeats"])
    max_features = int(s["explain"]["max_features"])
    rng = np.random.default_rng(s["cv"]["seed"])
    records: dict[tuple, list[float]] = {}
    coefs: dict[tuple, list[float]] = {}
    late: dict[tuple, dict[str, tuple]] = {}

    def add(key, value):
        if not np.isnan(value):
            records.setdefault(key, []).append(value)

    Xall = data.X.to_numpy(dtype=float)
    pos = {c: i for i, c in enumerate(data.X.columns)}
    for repeat, fold, analysis, estimator, test in result.fitted:
        X = Xall[test]
        y = data.y[test]
        if analysis.kind == "block":
            late.setdefault((repeat, fold, analysis.model), {})[analysis.block] = (estimator, test)
        base = roc_auc(y, estimator.predict_proba(X)[:, 1])
        if np.isnan(base):
            continue

        def predict(Xp, est=estimator):
            return est.predict_proba(Xp)[:, 1]

        if analysis.kind in ("early", "intermediate"):
            for block, columns in data.blocks.items():
                cols = [pos[c] for c in columns]
                drop = _permuted_drop(predict, X, y, cols, n_repeats, rng, base)
                add((analysis.model, analysis.modality, "block", block), drop)
        if analysis.kind == "confounds":
            columns = data.covariates
        elif analysis.kind == "block":
            columns = data.blocks[analysis.block]
        else:
            columns = []
        if 0 < len(columns) <= max_features:
            for column in columns:
                drop = _permuted_drop(predict, X, y, [pos[column]], n_repeats, rng, base)
                add((analysis.model, analysis.modality, "feature", column), drop)
        # Coefficients cost nothing, so wide blocks (connectome edges) still get a ranking;
        # with a tangent transform they weigh the tangent edges, not the input covariances.
        coef = _linear_coefficients(estimator) if analysis.kind == "block" else None
        named = block_feature_names(data, s, analysis.block) if coef is not None else []
        if coef is not None and len(coef) == len(named):
            for column, c in zip(named, coef, strict=True):
                coefs.setdefault((analysis.model, analysis.modality, "feature", column), [])
                coefs[(analysis.model, analysis.modality, "feature", column)].append(c)

    # Late fusion: permute one modality among the test subjects who have it, then re-average.
    for (_, _, model), fitted in late.items():
        if len(fitted) < 2:
            continue
        test = np.unique(np.concatenate([t for _, t in fitted.values()]))
        y = data.y[test]
        position = {subject: i for i, subject in enumerate(test)}
        # each block's predictions on its unpermuted test rows, computed once: only the
        # permuted block changes from one call of fused() to the next
        intact = {block: est.predict_proba(Xall[t])[:, 1] for block, (est, t) in fitted.items()}

        def fused(perturb=None, fitted=fitted, test=test, position=position, intact=intact):
            total = np.zeros(len(test))
            count = np.zeros(len(test))
            for block, (est, t) in fitted.items():
                prob = intact[block]
                if block == perturb:
                    X = Xall[t]
                    cols = [pos[c] for c in data.blocks[block]]
                    X = X.copy()
                    X[:, cols] = X[rng.permutation(len(t))][:, cols]
                    prob = est.predict_proba(X)[:, 1]
                rows = [position[i] for i in t]
                total[rows] += prob
                count[rows] += 1
            return total / np.maximum(count, 1)

        base = roc_auc(y, fused())
        if np.isnan(base):
            continue
        for block in fitted:
            drop = float(np.mean([base - roc_auc(y, fused(block)) for _ in range(n_repeats)]))
            add((model, "late_fusion", "block", block), drop)

    rows_out = []
    for key in list(records) + [k for k in coefs if k not in records]:
        values = records.get(key, [])
        c = coefs.get(key, [])
        rows_out.append(
            {
                "model": key[0],
                "modality": key[1],
                "level": key[2],
                "feature": key[3],
                "importance_mean": float(np.mean(values)) if values else np.nan,
                "importance_sd": float(np.std(values, ddof=1)) if len(values) > 1 else np.nan,
                "coef_mean": float(np.mean(c)) if c else np.nan,
                "coef_sd": float(np.std(c, ddof=1)) if len(c) > 1 else np.nan,
                "n_folds": max(len(values), len(c)),
            }
        )
    table = pd.DataFrame(rows_out, columns=COLUMNS)
    table = table.sort_values(
        ["model", "modality", "level", "importance_mean", "feature"],
        ascending=[True, True, True, False, True],
        kind="stable",
    ).reset_index(drop=True)
    return add_shap(table, shap_table(data, result))
