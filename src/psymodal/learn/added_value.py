"""Added value of each modality over the confounds, from paired out-of-fold predictions.

With ``learn.added_value``, every model is also fitted on each modality plus the confounds
(modality ``<m>+confounds``) on the same outer folds as the confound-only baseline. The
comparison is on the subjects that have the modality: out-of-fold ROC AUC (R² for
regression) of confounds + modality minus that of confounds alone, with a paired bootstrap
(the same resampled subjects on both sides) for its interval.

The permutation p of a modality given the confounds (``learn.added_value_permutations``)
answers "could features unrelated to the subjects do as well beside the confounds?": the
modality's feature rows are shuffled across subjects (within site or group, as
``learn.permutation.within`` says), the confounds and labels stay with their subjects, and the
confounds + modality model is cross-validated again on the same folds. The confound-only
score is the same in every permutation, so the p of the confounds + modality score is that of
the difference.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from psymodal.learn.assemble import ID, StudyData
from psymodal.learn.metrics import (
    macro_roc_auc,
    permutation_p_value,
    regression_metrics,
    roc_auc,
)

#: Columns of ``learn/added_value.tsv``.
COLUMNS = [
    "model",
    "modality",
    "metric",
    "n_subjects",
    "confounds_plus_modality",
    "confounds_alone",
    "difference",
    "difference_ci_low",
    "difference_ci_high",
    "p_bootstrap",
    "n_permutations",
    "p_value",
    "p_value_floor",
]

SUFFIX = "+confounds"


def _output_columns(predictions: pd.DataFrame) -> list[str]:
    """The prediction columns: ``prediction``, ``probability`` or ``probability_<code>``."""
    return [c for c in predictions.columns if c == "prediction" or c.startswith("probability")]


def _averaged(predictions: pd.DataFrame) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Subjects, targets and predictions averaged over repeats (one column per class for
    multiclass, else a vector)."""
    columns = _output_columns(predictions)
    table = predictions.groupby(ID, sort=True).agg(
        y=("y_true", "first"), **{c: (c, "mean") for c in columns}
    )
    values = table[columns].to_numpy()
    return table.index, table["y"].to_numpy(), values if len(columns) > 1 else values[:, 0]


def _statistic(y: np.ndarray, p: np.ndarray, task: str) -> float:
    """R² (regression), ROC AUC (classification) or macro one-vs-rest AUC (multiclass)."""
    if task == "regression":
        return regression_metrics(y, p)["r2"]
    return macro_roc_auc(y, p) if task == "multiclass" else roc_auc(y, p)


def _score_per_model(predictions: pd.DataFrame, task: str) -> dict[tuple, float]:
    """(model, modality) -> score of the repeat-averaged out-of-fold predictions."""
    out = {}
    for key, group in predictions.groupby(["model", "modality"], sort=False):
        _, y, p = _averaged(group)
        out[key] = _statistic(y, p, task)
    return out


def _permuted_run(data: StudyData, s: dict, analyses: list, block: str, source: np.ndarray):
    """Scores of ``analyses`` with the rows of ``block``'s features taken from ``source``."""
    from psymodal.learn.cross_validation import cross_validated_predictions, permutation_fits

    rows = np.flatnonzero(data.available[block].to_numpy())
    columns = data.X.columns.get_indexer(data.blocks[block])
    values = data.X.to_numpy(dtype=float)  # a copy: the study matrix is one float block
    values[np.ix_(rows, columns)] = values[np.ix_(source, columns)]
    X = pd.DataFrame(values, index=data.X.index, columns=data.X.columns)
    with permutation_fits():
        predictions = cross_validated_predictions(replace(data, X=X), s, analyses=analyses)[0]
    return _score_per_model(predictions, s["task"])


def modality_permutation_null(data: StudyData, s: dict) -> tuple[dict, list[str]]:
    """Null scores of every confounds + modality model, the modality's rows permuted.

    Parameters
    ----------
    data : StudyData
    s : dict
        Resolved learn settings: ``added_value_permutations`` permutations per modality,
        drawn from ``permutation.seed`` within ``permutation.within`` strata.

    Returns
    -------
    null : dict
        (model, "<modality>+confounds") -> scores (ROC AUC, R² for regression) in permutation
        order; empty without permutations or without the added-value analyses.
    notes : list of str
    """
    from joblib import Parallel, delayed

    from psymodal.learn.cross_validation import (
        permutation_strata,
        permute_within,
        plan_analyses,
    )

    n = int(s["added_value_permutations"])
    analyses = [a for a in plan_analyses(data, s) if a.kind == "with_confounds"]
    if n <= 0 or not analyses:
        return {}, []
    strata, within = permutation_strata(data, s)
    rng = np.random.default_rng(s["permutation"]["seed"])
    jobs = []
    for block in data.modalities:
        rows = np.flatnonzero(data.available[block].to_numpy())
        own = [a for a in analyses if a.block == block]
        for _ in range(n):
            source = permute_within(rng, rows, None if strata is None else strata[rows])
            jobs.append((block, own, source))
    # permutations in parallel, each one's folds in sequence: the draws above fix the results
    sequential = {**s, "cv": {**s["cv"], "n_jobs": 1}}
    runs = Parallel(n_jobs=s["cv"]["n_jobs"])(
        delayed(_permuted_run)(data, sequential, own, block, source) for block, own, source in jobs
    )
    null: dict[tuple[str, str], list[float]] = {}
    for scores in runs:
        for key, value in scores.items():
            null.setdefault(key, []).append(value)
    where = "freely" if within == "none" else f"within {within}"
    notes = [
        f"added value: each modality's feature rows permuted {where} across its subjects "
        f"({n} permutations, confounds and labels kept); smallest possible p = 1/{n + 1}"
    ]
    return null, notes


def added_value_table(predictions: pd.DataFrame, s: dict, null: dict | None = None) -> pd.DataFrame:
    """One row per (model, modality): the added value of the modality over the confounds.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Out-of-fold predictions with ``<m>+confounds`` and ``confounds`` rows.
    s : dict
        Resolved learn settings (``task``, ``metrics.bootstrap``, ``cv.seed``).
    null : dict, optional
        From :func:`modality_permutation_null`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`. ``p_bootstrap`` is the fraction of paired bootstrap
        resamples in which the modality adds nothing (difference <= 0): a one-sided bootstrap
        p-value. ``p_value`` is the permutation p of the modality given the confounds
        (``(1 + #{null >= observed}) / (n + 1)``; NaN without permutations) and
        ``p_value_floor`` its smallest possible value, 1/(n+1).
    """
    task = s["task"]
    regression = task == "regression"
    base = predictions[predictions.modality == "confounds"]
    rows = []
    if base.empty:
        return pd.DataFrame(rows, columns=COLUMNS)
    alone_ids, _, alone = _averaged(base)
    n_boot = int(s["metrics"]["bootstrap"])
    full_rows = predictions[predictions.modality.str.endswith(SUFFIX)]
    for (model, name), group in full_rows.groupby(["model", "modality"], sort=False):
        full_ids, y_full, full = _averaged(group)
        ids = full_ids.intersection(alone_ids)
        y = y_full[full_ids.get_indexer(ids)]
        a, b = full[full_ids.get_indexer(ids)], alone[alone_ids.get_indexer(ids)]
        with_m, without = _statistic(y, a, task), _statistic(y, b, task)
        low = high = p_boot = np.nan
        if n_boot > 0 and len(ids) > 2:
            rng = np.random.default_rng(s["cv"]["seed"])
            strata = (
                [np.arange(len(y))]
                if regression
                else [np.flatnonzero(y == k) for k in np.unique(y)]
            )
            diffs = []
            for _ in range(n_boot):
                idx = np.concatenate([rng.choice(g, len(g)) for g in strata if len(g)])
                diffs.append(_statistic(y[idx], a[idx], task) - _statistic(y[idx], b[idx], task))
            diffs = np.asarray(diffs, dtype=float)
            diffs = diffs[~np.isnan(diffs)]
            if len(diffs):
                low, high = (float(q) for q in np.quantile(diffs, [0.025, 0.975]))
                p_boot = float(np.mean(diffs <= 0))
        values = (null or {}).get((model, name), [])
        rows.append(
            {
                "model": model,
                "modality": name[: -len(SUFFIX)],
                "metric": "r2" if regression else "roc_auc",  # macro one-vs-rest: multiclass
                "n_subjects": int(len(ids)),
                "confounds_plus_modality": with_m,
                "confounds_alone": without,
                "difference": with_m - without,
                "difference_ci_low": low,
                "difference_ci_high": high,
                "p_bootstrap": p_boot,
                "n_permutations": len(values),
                "p_value": permutation_p_value(with_m, np.asarray(values)) if values else np.nan,
                "p_value_floor": 1.0 / (len(values) + 1) if values else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
