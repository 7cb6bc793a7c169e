"""Added value of each modality over the confounds, from paired out-of-fold predictions.

With ``learn.added_value``, every model is also fitted on each modality plus the confounds
(modality ``<m>+confounds``) on the same outer folds as the confound-only baseline. The
comparison is on the subjects that have the modality: out-of-fold ROC AUC (R² for
regression) of confounds + modality minus that of confounds alone, with a paired bootstrap
(the same resampled subjects on both sides) for its interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from psymodal.learn.assemble import ID
from psymodal.learn.metrics import regression_metrics, roc_auc

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
]

SUFFIX = "+confounds"


def _averaged(predictions: pd.DataFrame, column: str) -> pd.DataFrame:
    return predictions.groupby(ID, sort=True).agg(y=("y_true", "first"), p=(column, "mean"))


def _statistic(y: np.ndarray, p: np.ndarray, regression: bool) -> float:
    return regression_metrics(y, p)["r2"] if regression else roc_auc(y, p)


def added_value_table(predictions: pd.DataFrame, s: dict) -> pd.DataFrame:
    """One row per (model, modality): the added value of the modality over the confounds.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Out-of-fold predictions with ``<m>+confounds`` and ``confounds`` rows.
    s : dict
        Resolved learn settings (``task``, ``metrics.bootstrap``, ``cv.seed``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`. ``p_bootstrap`` is the fraction of paired bootstrap
        resamples in which the modality adds nothing (difference <= 0): a one-sided bootstrap
        p-value, not a permutation p.
    """
    regression = s["task"] == "regression"
    column = "prediction" if regression else "probability"
    base = predictions[predictions.modality == "confounds"]
    rows = []
    if base.empty:
        return pd.DataFrame(rows, columns=COLUMNS)
    alone = _averaged(base, column)
    n_boot = int(s["metrics"]["bootstrap"])
    full_rows = predictions[predictions.modality.str.endswith(SUFFIX)]
    for (model, name), group in full_rows.groupby(["model", "modality"], sort=False):
        full = _averaged(group, column)
        ids = full.index.intersection(alone.index)
        y = full.loc[ids, "y"].to_numpy()
        a, b = full.loc[ids, "p"].to_numpy(), alone.loc[ids, "p"].to_numpy()
        with_m, without = _statistic(y, a, regression), _statistic(y, b, regression)
        low = high = p_boot = np.nan
        if n_boot > 0 and len(ids) > 2:
            rng = np.random.default_rng(s["cv"]["seed"])
            strata = [np.arange(len(y))] if regression else [np.flatnonzero(y == k) for k in (0, 1)]
            diffs = []
            for _ in range(n_boot):
                idx = np.concatenate([rng.choice(g, len(g)) for g in strata if len(g)])
                diffs.append(
                    _statistic(y[idx], a[idx], regression) - _statistic(y[idx], b[idx], regression)
                )
            diffs = np.asarray(diffs, dtype=float)
            diffs = diffs[~np.isnan(diffs)]
            if len(diffs):
                low, high = (float(q) for q in np.quantile(diffs, [0.025, 0.975]))
                p_boot = float(np.mean(diffs <= 0))
        rows.append(
            {
                "model": model,
                "modality": name[: -len(SUFFIX)],
                "metric": "r2" if regression else "roc_auc",
                "n_subjects": int(len(ids)),
                "confounds_plus_modality": with_m,
                "confounds_alone": without,
                "difference": with_m - without,
                "difference_ci_low": low,
                "difference_ci_high": high,
                "p_bootstrap": p_boot,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
