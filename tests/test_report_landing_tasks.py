"""The landing page shows each task's own metrics: Pearson r, R² and MAE for regression,
macro ROC AUC and balanced accuracy for multiclass."""

from __future__ import annotations

import pandas as pd
from docutils.core import publish_parts

from psymodal.report.study_summary import metrics_task, study_summary


def _regression():
    rows = []
    for modality, r in (("mri", 0.58), ("confounds", 0.33), ("mean_predictor", -0.17)):
        rows.append(
            {
                "model": "ridge" if modality == "mri" else modality,
                "modality": modality,
                "n_subjects": 100,
                "pearson_r": r,
                "pearson_r_ci_low": r - 0.13,
                "pearson_r_ci_high": r + 0.12,
                "r2": r / 2,
                "r2_ci_low": r / 2 - 0.1,
                "r2_ci_high": r / 2 + 0.1,
                "mae": 4.67 - r,
                "mae_ci_low": 3.9 - r,
                "mae_ci_high": 5.4 - r,
                "rmse": 5.0,
                "n_permutations": 19 if modality == "mri" else 0,
                "p_value": 0.05 if modality == "mri" else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def _multiclass():
    return pd.DataFrame(
        [
            {
                "model": "logistic",
                "modality": modality,
                "n_subjects": 90,
                "n_classes": 3,
                "roc_auc": auc,
                "roc_auc_ci_low": auc - 0.1,
                "roc_auc_ci_high": auc + 0.1,
                "balanced_accuracy": auc - 0.2,
                "balanced_accuracy_ci_low": auc - 0.3,
                "balanced_accuracy_ci_high": auc - 0.1,
                "accuracy": 0.5,
                "n_permutations": 0,
                "p_value": float("nan"),
            }
            for modality, auc in (("mri", 0.7), ("confounds", 0.6))
        ]
    )


def _html(text: str) -> str:
    return publish_parts(text.replace("{{", "").replace("}}", ""), writer="html")["body"]


def test_regression_landing_page_shows_r_r2_and_mae(tmp_path):
    metrics = _regression()
    assert metrics_task(metrics) == "regression"
    text = study_summary(metrics, {"mri": None}, tmp_path / "study.rst").read_text()
    assert "ROC AUC" not in text
    assert "Pearson r [95% CI]" in text and "R² [95% CI]" in text and "MAE [95% CI]" in text
    assert "0.580 [0.45, 0.70]" in text  # r of the model with its interval
    assert "4.09 [3.32, 4.82]" in text  # MAE in the target's units
    # the model first, then both baselines
    assert text.index("   * - mri") < text.index("confounds (baseline)")
    assert text.index("mri") < text.index("mean_predictor (baseline)")
    body = _html(text)
    assert "<table" in body and "≤ 0.05 (floor 1/(n+1), n = 19)" in body


def test_multiclass_landing_page_shows_macro_auc_and_balanced_accuracy(tmp_path):
    metrics = _multiclass()
    assert metrics_task(metrics) == "multiclass"
    text = study_summary(metrics, {"mri": None}, tmp_path / "study.rst").read_text()
    assert "macro ROC AUC, one vs rest [95% CI]" in text
    assert "balanced accuracy [95% CI]" in text
    assert "0.500 [0.40, 0.60]" in text  # balanced accuracy with its interval
    assert "90 (3)" in text  # subjects (classes)
    assert "<table" in _html(text)
