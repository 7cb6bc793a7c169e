"""The report's landing page: the study in a few lines, before any figure.

Written as reStructuredText (``figures/study.rst``) that the Snakefile gives Snakemake as the
report's description (``snakemake --report``): who was included per modality and why the
others were not, and each model's metrics beside the confound-only baseline (ROC AUC and
balanced accuracy; macro ROC AUC for ``learn.task: multiclass``; Pearson r, R² and MAE beside
the mean predictor for ``regression``), with the p-value floor 1/(n+1) of the label
permutations, and (with ``learn.added_value``) what each modality
adds to the confounds: the paired-bootstrap interval of the difference and the permutation p
of the modality given the confounds. The confounds named are the run's
``learn.confounds`` (a Jinja expression filled by Snakemake from the run's config).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.io.tables import atomic_write

__all__ = ["study_summary"]

BASELINE = "confounds"
_CONFOUNDS = '{{ snakemake.config["learn"]["confounds"] | join(", ") }}'


def _literal(text: str) -> str:
    """Text shown as written in reStructuredText (QC reasons hold globs such as ``sub-*``)."""
    return re.sub(r"([\\*`_|\[\]])", r"\\\1", text)


def _included(qc: pd.DataFrame) -> pd.Series:
    return qc["included"].astype(str).str.lower().isin(["true", "1"])


def _who(qc_tables: Mapping[str, pd.DataFrame | None]) -> list[str]:
    lines = []
    for modality, qc in qc_tables.items():
        if qc is None or "included" not in qc:
            continue
        kept = _included(qc)
        reasons = Counter(
            str(r).split(";")[0].strip() for r in qc.loc[~kept, "reason"] if isinstance(r, str)
        )
        common = ", ".join(f"{_literal(r)} ({n})" for r, n in reasons.most_common(3))
        line = f"- **{modality}**: {int(kept.sum())} of {len(qc)} participants included"
        lines.append(line + (f"; excluded: {common}" if common else "") + ".")
    return lines or ["- no QC table"]


def _model_name(model: str, privacy: Mapping[str, Mapping[str, float]]) -> str:
    """The model, with its (epsilon, delta) guarantee when it is differentially private."""
    if model not in privacy:
        return model
    guarantee = privacy[model]
    return f"{model} (DP: epsilon {guarantee['epsilon']:g}, delta {guarantee['delta']:g})"


#: Per task: the landing table's metric columns (column of metrics.tsv, header) and the
#: sentence that introduces them. The permutation p is that of the first metric.
_TASK_COLUMNS = {
    "classification": (("roc_auc", "ROC AUC [95% CI]"), ("balanced_accuracy", "balanced accuracy")),
    "multiclass": (
        ("roc_auc", "macro ROC AUC, one vs rest [95% CI]"),
        ("balanced_accuracy", "balanced accuracy [95% CI]"),
    ),
    "regression": (
        ("pearson_r", "Pearson r [95% CI]"),
        ("r2", "R² [95% CI]"),
        ("mae", "MAE [95% CI]"),
    ),
}
_TASK_TEXT = {
    "classification": "Out-of-fold ROC AUC per modality and fused",
    "multiclass": (
        "Out-of-fold macro ROC AUC (each class against the rest, averaged) and balanced "
        "accuracy (mean recall over the classes) per modality and fused"
    ),
    "regression": (
        "Out-of-fold Pearson r, R² and mean absolute error (MAE, in the target's units) of "
        "the predicted score per modality and fused, beside the mean predictor (the training "
        "folds' mean: R² about 0)"
    ),
}
#: Analyses that are baselines, listed after the models.
_BASELINES = (BASELINE, "mean_predictor")


def metrics_task(metrics: pd.DataFrame | None) -> str:
    """The ``learn.task`` a ``learn/metrics.tsv`` comes from, read from its columns."""
    if metrics is not None and "mae" in metrics.columns:
        return "regression"
    if metrics is not None and "n_classes" in metrics.columns:
        return "multiclass"
    return "classification"


def _value_text(row: Mapping, metric: str, ci: bool) -> str:
    value = row.get(metric, np.nan)
    if not np.isfinite(value):
        return "n/a"
    low, high = row.get(f"{metric}_ci_low", np.nan), row.get(f"{metric}_ci_high", np.nan)
    digits = 2 if metric == "mae" else 3  # MAE in the target's units (years, points)
    text = f"{value:.{digits}f}"
    if ci and np.isfinite(low) and np.isfinite(high):
        text += f" [{low:.2f}, {high:.2f}]"
    return text


def _results(metrics: pd.DataFrame | None, privacy: Mapping[str, Mapping[str, float]]) -> list[str]:
    from psymodal.report.figures import p_value_text

    if metrics is None or metrics.empty:
        return ["No metrics (learning did not run)."]
    task = metrics_task(metrics)
    columns = _TASK_COLUMNS[task]
    if "n_positive" in metrics.columns:
        n_header = "n (patients)"
    elif task == "multiclass":
        n_header = "n (classes)"
    else:
        n_header = "n"
    rows = [
        "   * - analysis",
        "     - model",
        f"     - {n_header}",
        *(f"     - {header}" for _, header in columns),
        "     - permutation p",
    ]
    order = sorted(
        metrics.itertuples(index=False),
        key=lambda r: (r.modality in _BASELINES, r.modality),
    )
    for r in order:
        row = r._asdict()
        name = f"{r.modality} (baseline)" if r.modality in _BASELINES else r.modality
        n = f"{int(r.n_subjects)}"
        if "n_positive" in row:
            n += f" ({int(row['n_positive'])})"
        elif task == "multiclass":
            n += f" ({int(row['n_classes'])})"
        rows += [
            f"   * - {name}",
            f"     - {_model_name(r.model, privacy)}",
            f"     - {n}",
            *(f"     - {_value_text(row, m, '[95% CI]' in h)}" for m, h in columns),
            f"     - {p_value_text(row)}",
        ]
    return [".. list-table::", "   :header-rows: 1", "", *rows]


_METRIC_NAMES = {"roc_auc": "ROC AUC", "r2": "R²"}


def _added_value(table: pd.DataFrame | None) -> list[str]:
    """Per modality: confounds + modality against confounds alone, difference [CI], p."""
    from psymodal.report.figures import p_value_text

    if table is None or table.empty:
        return []
    metric = _METRIC_NAMES.get(str(table.metric.iloc[0]), str(table.metric.iloc[0]))
    rows = [
        "   * - modality",
        "     - model",
        "     - n",
        f"     - {metric}: confounds + modality",
        f"     - {metric}: confounds alone",
        "     - difference [95% CI]",
        "     - permutation p",
    ]
    for r in table.itertuples(index=False):
        row = r._asdict()
        low, high = row["difference_ci_low"], row["difference_ci_high"]
        ci = f" [{low:+.3f}, {high:+.3f}]" if np.isfinite(low) and np.isfinite(high) else ""
        rows += [
            f"   * - {r.modality}",
            f"     - {r.model}",
            f"     - {int(r.n_subjects)}",
            f"     - {r.confounds_plus_modality:.3f}",
            f"     - {r.confounds_alone:.3f}",
            f"     - {r.difference:+.3f}{ci}",
            f"     - {p_value_text(row)}",
        ]
    return [
        "**Added value over the confounds.** Each modality beside the confounds against the "
        "confounds alone, on the same subjects and folds: the paired-bootstrap 95% interval "
        "of the difference, and the p-value of the modality given the confounds (its feature "
        "rows permuted across subjects, confounds and labels kept).",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        *rows,
        "",
    ]


def study_summary(
    metrics: pd.DataFrame | None,
    qc_tables: Mapping[str, pd.DataFrame | None],
    path: str | os.PathLike,
    privacy: Mapping[str, Mapping[str, float]] | None = None,
    added_value: pd.DataFrame | None = None,
) -> Path:
    """Write the landing page's reStructuredText.

    Parameters
    ----------
    metrics : DataFrame or None
        ``learn/metrics.tsv``.
    qc_tables : mapping of str to DataFrame or None
        Each modality's group QC table (``included``, ``reason``).
    path : path-like
        Output ``.rst`` file.
    privacy : mapping, optional
        Model -> ``{"epsilon", "delta"}`` of the differentially private models
        (``run_info.json``'s ``differential_privacy``): shown beside each such model, with a
        line on what the guarantee covers.
    added_value : DataFrame, optional
        ``learn/added_value.tsv``: a table of each modality's added value over the confounds.

    Returns
    -------
    Path
    """
    lines = [
        "psymodal study report",
        "=====================",
        "",
        "**Who was included.** Each participant's QC row says why one was left out of a "
        "modality (Quality control: tables and galleries).",
        "",
        *_who(qc_tables),
        "",
        f"**Results.** {_TASK_TEXT[metrics_task(metrics)]}, beside the confound-only "
        f"baseline ({_CONFOUNDS}): a model is only interesting where it is clearly above "
        "the baseline. With n label permutations no p-value is below 1/(n+1), the floor "
        "shown. Figures and captions: Classification.",
        "",
        *_results(metrics, privacy or {}),
        "",
        *_added_value(added_value),
    ]
    if privacy:
        lines += [
            "**Privacy.** Differentially private models: "
            + "; ".join(
                f"{model} (epsilon {g['epsilon']:g}, delta {g['delta']:g})"
                for model, g in privacy.items()
            )
            + ". The guarantee covers each fitted model's weights given its input features; "
            "the in-fold imputation and scaling before it are not privatised. Membership "
            "attacks on every model: learn/membership_inference.tsv.",
            "",
        ]
    text = "\n".join(lines)
    return atomic_write(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))
