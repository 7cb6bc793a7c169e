"""Figures and tables for the workflow report (``psymodal figures``).

From a results folder this writes, under ``<results_dir>/figures/`` by default:

``roc_curves.png``
    Out-of-fold ROC curve per modality, the fused model and the confound-only baseline.
``auc_summary.png``
    ROC AUC and balanced accuracy with bootstrap 95% confidence intervals per analysis.
``metrics_table.html``
    The same numbers (and sensitivity, specificity, Brier score, permutation p) as a table.
``confusion_matrices.png``
    ``learn.task: multiclass``: the out-of-fold confusion matrix of every analysis.
``qc_summary.png``
    Mean framewise displacement per participant with the exclusion threshold (MRI) and
    detected speech duration per participant with its minimum (speech).
``privacy_attacks.png``, ``privacy_table.html``
    The membership-attack AUCs per model and the DP guarantees (:mod:`psymodal.report.privacy`).

Every file is always written (a figure without data says so), so that a workflow rule can
name them as outputs. PNGs are byte-identical across reruns with the same matplotlib: the
Agg backend, matplotlib's default style (no user ``matplotlibrc``), the bundled DejaVu font
and no ``Software`` metadata entry.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.io.tables import atomic_write, read_tsv
from psymodal.learn.metrics import roc_auc
from psymodal.report.paths import REPORT_FIGURES, figures_dir, report_figure
from psymodal.report.plotting import empty_panel, new_figure, save_figure
from psymodal.workflow.stage_tables import group_table

#: The files :func:`write_report_figures` writes, in order
#: (:data:`~psymodal.report.paths.REPORT_FIGURES`).
FIGURE_NAMES = tuple(REPORT_FIGURES.values())
#: The confound-only analysis: drawn as a baseline, not as a model.
BASELINE = "confounds"
#: Analyses in display order; others follow alphabetically.
ORDER = ("mri", "speech", "language", "early_fusion", "late_fusion", "fusion", BASELINE)
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
_BASELINE_COLOR = "#7f7f7f"
_EXCLUDED_COLOR = "#d62728"


# ---- helpers ------------------------------------------------------------------------------
def _read(path: Path) -> pd.DataFrame | None:
    return read_tsv(path) if path.exists() else None


def _order_key(name: str) -> tuple[int, str]:
    return (ORDER.index(name) if name in ORDER else len(ORDER) - 1, name)


def _fmt(value, digits: int = 2) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def p_value_text(row: Mapping) -> str:
    """The permutation p-value with its floor: with n permutations the smallest p-value
    possible is 1/(n+1), so p = 0.05 from 19 permutations says "at the floor", not "0.05"."""
    p, n = row.get("p_value", np.nan), row.get("n_permutations", np.nan)
    if not np.isfinite(p):
        return "n/a"
    if not np.isfinite(n) or n < 1:
        return _fmt(p, 3)
    floor = 1.0 / (n + 1)
    if p <= floor * (1 + 1e-9):
        return f"≤ {floor:.3g} (floor 1/(n+1), n = {int(n)})"
    return f"{p:.3g} (n = {int(n)})"


def _with_ci(row: Mapping, metric: str) -> str:
    value = row.get(metric, np.nan)
    low, high = row.get(f"{metric}_ci_low", np.nan), row.get(f"{metric}_ci_high", np.nan)
    if np.isfinite(low) and np.isfinite(high):
        return f"{_fmt(value)} [{_fmt(low)}, {_fmt(high)}]"
    return _fmt(value)


def _analysis_label(modality: str, model: str, several_models: bool) -> str:
    return f"{modality} ({model})" if several_models else modality


def _analyses(metrics: pd.DataFrame | None, predictions: pd.DataFrame | None) -> list:
    """(modality, model) pairs in display order, from metrics or else predictions."""
    table = metrics if metrics is not None and len(metrics) else predictions
    if table is None or not len(table):
        return []
    pairs = table[["modality", "model"]].drop_duplicates().itertuples(index=False, name=None)
    return sorted(pairs, key=lambda p: (*_order_key(p[0]), p[1]))


def roc_points(y_true, score) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates of the ROC curve: ``sklearn.metrics.roc_curve``'s.

    For 0/1 labels and finite scores these are the values ``roc_curve(y_true, score)``
    returns (``drop_intermediate=True``), computed the same way in float64; any other input
    goes to scikit-learn, with its checks and errors. The report's figures job otherwise
    imported scikit-learn (and scipy.stats) for this alone, which cost more CPU than drawing.

    Parameters
    ----------
    y_true : array-like of int
        Binary labels; 1 is the positive class.
    score : array-like of float
        Scores, higher for the positive class.

    Returns
    -------
    fpr, tpr : numpy.ndarray
    """
    y = np.asarray(y_true)
    s = np.asarray(score)
    if y.ndim != 1 or s.shape != y.shape or not _plain_binary(y, s):
        from sklearn.metrics import roc_curve

        fpr, tpr, _ = roc_curve(y, s)
        return fpr, tpr
    # sklearn: scores in decreasing order, one threshold per distinct score (the last index
    # of its run), positives counted up to it; the order inside a run of ties cannot matter
    order = np.argsort(s, kind="stable")[::-1]
    s, positive = s[order], (y[order] == 1).astype(np.float64)
    ends = np.concatenate([np.nonzero(np.diff(s))[0], [len(s) - 1]])
    tps = np.cumsum(positive, dtype=np.float64)[ends]
    fps = 1 + ends.astype(np.float64) - tps
    if len(fps) > 2:  # drop the points collinear with their neighbours
        corner = np.logical_or(np.diff(fps, 2), np.diff(tps, 2))
        keep = np.nonzero(np.concatenate([[True], corner, [True]]))[0]
        fps, tps = fps[keep], tps[keep]
    tps = np.concatenate([[0.0], tps])
    fps = np.concatenate([[0.0], fps])
    return fps / fps[-1], tps / tps[-1]


def _plain_binary(y: np.ndarray, s: np.ndarray) -> bool:
    """Integer 0/1 labels with both classes present, and finite real scores."""
    return (
        y.dtype.kind in "iub"
        and s.dtype.kind in "iuf"
        and bool(np.isin(y, (0, 1)).all())
        and len(np.unique(y)) == 2
        and bool(np.isfinite(s).all())
    )


# ---- figures ------------------------------------------------------------------------------
def roc_figure(
    predictions: pd.DataFrame | None, metrics: pd.DataFrame | None, path: str | os.PathLike
) -> Path:
    """ROC curves of the out-of-fold predictions, one per analysis, baseline dashed.

    Predictions of all folds (and all CV repeats) are pooled per analysis.

    Parameters
    ----------
    predictions : DataFrame or None
        ``learn/predictions.tsv``: participant_id, fold, repeat, modality, model, y_true,
        probability.
    metrics : DataFrame or None
        ``learn/metrics.tsv``, for the AUC and its interval in the legend.
    path : path-like

    Returns
    -------
    Path
    """
    fig = new_figure(5.5, 6.8)
    ax = fig.add_subplot()
    pairs = _analyses(None, predictions)
    if not pairs:
        empty_panel(ax, "no out-of-fold predictions")
        return save_figure(fig, Path(path))
    if "probability" not in predictions.columns:
        empty_panel(ax, "no ROC curves for this task (multiclass: see the confusion matrices)")
        return save_figure(fig, Path(path))
    several = predictions.groupby("modality")["model"].nunique().gt(1).any()
    rows = (
        {}
        if metrics is None
        else {(r.modality, r.model): r._asdict() for r in metrics.itertuples()}
    )
    colors = iter(_COLORS * 4)
    ax.plot([0, 1], [0, 1], color="#bbbbbb", lw=0.8, ls=":", label="chance")
    for modality, model in pairs:
        sel = predictions[(predictions["modality"] == modality) & (predictions["model"] == model)]
        sel = sel.dropna(subset=["y_true", "probability"])
        y = sel["y_true"].to_numpy(dtype=int)
        p = sel["probability"].to_numpy(dtype=float)
        label = _analysis_label(modality, model, several)
        if len(np.unique(y)) < 2:
            continue
        fpr, tpr = roc_points(y, p)
        row = rows.get((modality, model))
        auc = _with_ci(row, "roc_auc") if row else _fmt(roc_auc(y, p))
        baseline = modality == BASELINE
        ax.plot(
            fpr,
            tpr,
            color=_BASELINE_COLOR if baseline else next(colors),
            lw=1.2 if baseline else 1.8,
            ls="--" if baseline else "-",
            label=f"{label}{' baseline' if baseline else ''}: AUC {auc}",
        )
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel("false positive rate (1 - specificity)")
    ax.set_ylabel("true positive rate (sensitivity)")
    ax.set_title("Out-of-fold ROC curves (AUC [95% bootstrap CI])", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=8, frameon=False)
    return save_figure(fig, Path(path))


def auc_figure(metrics: pd.DataFrame | None, path: str | os.PathLike) -> Path:
    """ROC AUC and balanced accuracy per analysis with 95% CIs, the baseline in grey.

    Parameters
    ----------
    metrics : DataFrame or None
        ``learn/metrics.tsv``.
    path : path-like

    Returns
    -------
    Path
    """
    pairs = _analyses(metrics, None)
    fig = new_figure(8.0, 1.2 + 0.45 * max(len(pairs), 1))
    axes = fig.subplots(1, 2, sharey=True)
    if not pairs:
        for ax in axes:
            empty_panel(ax, "no metrics")
        return save_figure(fig, Path(path))
    several = metrics.groupby("modality")["model"].nunique().gt(1).any()
    rows = {(r.modality, r.model): r._asdict() for r in metrics.itertuples()}
    labels = [_analysis_label(m, mdl, several) for m, mdl in pairs]
    ypos = np.arange(len(pairs))[::-1]
    for ax, metric, title in zip(
        axes, ("roc_auc", "balanced_accuracy"), ("ROC AUC", "balanced accuracy"), strict=True
    ):
        ax.axvline(0.5, color="#bbbbbb", lw=0.8, ls=":")
        for y, pair in zip(ypos, pairs, strict=True):
            row = rows[pair]
            value = row.get(metric, np.nan)
            low, high = row.get(f"{metric}_ci_low", np.nan), row.get(f"{metric}_ci_high", np.nan)
            baseline = pair[0] == BASELINE
            color = _BASELINE_COLOR if baseline else "#1f77b4"
            if baseline and np.isfinite(value):
                ax.axvline(value, color=_BASELINE_COLOR, lw=0.8, ls="--")
            if np.isfinite(low) and np.isfinite(high):
                ax.plot([low, high], [y, y], color=color, lw=2.0, solid_capstyle="butt")
            if np.isfinite(value):
                ax.plot([value], [y], "o", color=color, ms=6)
        ax.set_xlim(0, 1)
        ax.set_title(title, fontsize=10)
        ax.set_yticks(ypos, labels)
        ax.grid(axis="x", color="#eeeeee", lw=0.6)
    axes[0].set_xlabel("dotted: chance; dashed: confound baseline", fontsize=8)
    fig.suptitle("Cross-validated performance with 95% bootstrap intervals", fontsize=10)
    return save_figure(fig, Path(path))


def null_figure(
    null: pd.DataFrame | None, metrics: pd.DataFrame | None, path: str | os.PathLike
) -> Path:
    """Histogram of the label-permutation ROC AUCs per analysis, the observed AUC as a line.

    Parameters
    ----------
    null : DataFrame or None
        ``learn/permutation_null.tsv`` (model, modality, permutation, roc_auc).
    metrics : DataFrame or None
        ``learn/metrics.tsv`` (observed roc_auc and p_value).
    path : path-like

    Returns
    -------
    Path
    """
    pairs = [] if null is None or null.empty else _analyses(metrics, None)
    pairs = [p for p in pairs if ((null["modality"] == p[0]) & (null["model"] == p[1])).any()]
    fig = new_figure(8.0, 1.0 + 1.6 * max(len(pairs), 1))
    if not pairs:
        empty_panel(fig.subplots(), "no label permutations (set learn.permutation.n)")
        return save_figure(fig, Path(path))
    axes = np.atleast_1d(fig.subplots(len(pairs), 1, sharex=True))
    rows = {(r.modality, r.model): r._asdict() for r in metrics.itertuples()}
    several = metrics.groupby("modality")["model"].nunique().gt(1).any()
    for ax, (modality, model) in zip(axes, pairs, strict=True):
        values = null.loc[(null["modality"] == modality) & (null["model"] == model), "roc_auc"]
        ax.hist(values, bins=np.linspace(0, 1, 41), color=_BASELINE_COLOR, alpha=0.8)
        observed = rows[(modality, model)].get("roc_auc", np.nan)
        p_text = p_value_text(rows[(modality, model)])
        p_text = p_text if p_text.startswith("≤") else f"= {p_text}"
        if np.isfinite(observed):
            ax.axvline(observed, color="#d62728", lw=1.5)
        label = _analysis_label(modality, model, several)
        ax.set_title(f"{label}: observed AUC {observed:.3f}, p {p_text}", fontsize=9)
        ax.set_ylabel("count", fontsize=8)
    axes[-1].set_xlabel("ROC AUC with permuted labels (grey) and observed (red)")
    axes[-1].set_xlim(0, 1)
    return save_figure(fig, Path(path))


def importance_figure(
    importance: pd.DataFrame | None, path: str | os.PathLike, top_k: int = 12
) -> Path:
    """The features that weigh most in each modality's model (mean |coefficient| over folds).

    Parameters
    ----------
    importance : DataFrame or None
        ``learn/importance.tsv`` (written when ``learn.explain.enabled``).
    path : path-like
    top_k : int
        Features shown per modality.

    Returns
    -------
    Path
    """
    rows = None
    if importance is not None and not importance.empty:
        rows = importance[
            (importance["level"] == "feature") & importance["coef_mean"].notna()
        ].copy()
    modalities = [] if rows is None else sorted(rows["modality"].unique(), key=_order_key)
    fig = new_figure(8.0, 1.0 + 0.22 * top_k * max(len(modalities), 1))
    if not modalities:
        empty_panel(fig.subplots(), "no feature importance (set learn.explain.enabled)")
        return save_figure(fig, Path(path))
    axes = np.atleast_1d(fig.subplots(len(modalities), 1))
    for ax, modality in zip(axes, modalities, strict=True):
        part = rows[rows["modality"] == modality]
        model = "logistic" if (part["model"] == "logistic").any() else sorted(part["model"])[0]
        part = part[part["model"] == model].assign(weight=lambda t: t["coef_mean"].abs())
        part = part.sort_values(["weight", "feature"], ascending=[False, True]).head(top_k)
        names = [f.split("__", 1)[1] if "__" in f else f for f in part["feature"]]
        ypos = np.arange(len(part))[::-1]
        colors = np.where(part["coef_mean"] > 0, "#d62728", "#1f77b4")
        ax.barh(ypos, part["weight"], xerr=part["coef_sd"].fillna(0), color=colors)
        ax.set_yticks(ypos, names, fontsize=7)
        ax.set_title(f"{modality} ({model}): red raises, blue lowers the patient odds", fontsize=9)
    axes[-1].set_xlabel("|coefficient| on standardised features, mean over folds (+/- sd)")
    return save_figure(fig, Path(path))


def metrics_html(metrics: pd.DataFrame | None, path: str | os.PathLike) -> Path:
    """An HTML table of the metrics with their 95% intervals (a snippet, no page markup).

    Parameters
    ----------
    metrics : DataFrame or None
        ``learn/metrics.tsv``.
    path : path-like

    Returns
    -------
    Path
    """
    pairs = _analyses(metrics, None)
    rows = (
        {}
        if metrics is None
        else {(r.modality, r.model): r._asdict() for r in metrics.itertuples()}
    )
    head = [
        "analysis",
        "model",
        "n (positive)",
        "ROC AUC [95% CI]",
        "balanced accuracy [95% CI]",
        "sensitivity",
        "specificity",
        "Brier",
        "permutation p",
    ]
    lines = ['<table class="psymodal-metrics">', "  <thead><tr>"]
    lines += [f"    <th>{html.escape(h)}</th>" for h in head]
    lines += ["  </tr></thead>", "  <tbody>"]
    for pair in pairs:
        row = rows[pair]
        n = row.get("n_subjects", np.nan)
        n_pos = row.get("n_positive", np.nan)
        cells = [
            pair[0] + (" (baseline)" if pair[0] == BASELINE else ""),
            pair[1],
            f"{_fmt(n, 0)} ({_fmt(n_pos, 0)})",
            _with_ci(row, "roc_auc"),
            _with_ci(row, "balanced_accuracy"),
            _with_ci(row, "sensitivity"),
            _with_ci(row, "specificity"),
            _fmt(row.get("brier", np.nan), 3),
            p_value_text(row),
        ]
        lines.append("  <tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    if not pairs:
        lines.append(f'  <tr><td colspan="{len(head)}">no metrics</td></tr>')
    lines += ["  </tbody>", "</table>"]
    text = "\n".join(lines) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def _qc_panel(ax, qc: pd.DataFrame | None, column: str, threshold, above: bool, what: str):
    """Per-participant QC metric, included in blue, excluded in red, threshold dashed."""
    if qc is None or column not in qc:
        empty_panel(ax, f"no {what} QC table")
        return
    qc = qc.sort_values("participant_id", kind="stable").reset_index(drop=True)
    x = np.arange(len(qc))
    value = pd.to_numeric(qc[column], errors="coerce").to_numpy(dtype=float)
    included = qc["included"].astype(str).str.lower().isin(["true", "1"]).to_numpy()
    have = np.isfinite(value)
    for keep, color, label in (
        (have & included, "#1f77b4", "included"),
        (have & ~included, _EXCLUDED_COLOR, "excluded"),
    ):
        if keep.any():
            ax.bar(x[keep], value[keep], color=color, label=label)
    if (~have).any():
        label = "no data (excluded)" if (~included[~have]).all() else "no data"
        ax.plot(x[~have], np.zeros((~have).sum()), "x", color=_EXCLUDED_COLOR, ms=7, label=label)
    if threshold is not None and np.isfinite(threshold):
        side = "exclusion above" if above else "exclusion below"
        ax.axhline(threshold, color="k", lw=0.9, ls="--", label=f"{side} {threshold:g}")
    ax.set_xticks(x, qc["participant_id"], rotation=90, fontsize=7 if len(x) <= 60 else 4)
    ax.set_xlim(-0.7, len(x) - 0.3)
    n_out = int((~included).sum())
    ax.set_title(f"{what}: {len(qc) - n_out} of {len(qc)} participants included", fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def qc_figure(
    mri_qc: pd.DataFrame | None,
    speech_qc: pd.DataFrame | None,
    path: str | os.PathLike,
    fd_threshold: float | None,
    min_speech_s: float | None,
) -> Path:
    """Mean FD per participant (MRI) and detected speech per participant (speech).

    Parameters
    ----------
    mri_qc, speech_qc : DataFrame or None
        ``group/mri_qc.tsv`` and ``group/speech_qc.tsv``.
    path : path-like
    fd_threshold : float or None
        ``mri.qc.max_mean_fd`` (mm).
    min_speech_s : float or None
        ``speech.qc.min_speech_s`` (s).

    Returns
    -------
    Path
    """
    n = max(
        len(mri_qc) if mri_qc is not None else 0, len(speech_qc) if speech_qc is not None else 0
    )
    fig = new_figure(max(7.0, 0.14 * n + 2), 6.5)
    top, bottom = fig.subplots(2, 1)
    _qc_panel(top, mri_qc, "mean_fd", fd_threshold, True, "fMRI")
    if top.axison:
        top.set_ylabel("mean framewise displacement (mm)")
    _qc_panel(bottom, speech_qc, "speech_duration_s", min_speech_s, False, "speech")
    if bottom.axison:
        bottom.set_ylabel("detected speech (s)")
    return save_figure(fig, Path(path))


# ---- entry point --------------------------------------------------------------------------
def qc_thresholds(mri_settings: Mapping | None, speech_settings: Mapping | None) -> tuple:
    """The exclusion thresholds drawn in the QC figure, from the stages' settings.

    Parameters
    ----------
    mri_settings, speech_settings : mapping or None
        The config's ``mri`` and ``speech`` sections; missing keys take the stage defaults.

    Returns
    -------
    tuple of (float or None, float or None)
        Maximum mean FD (mm) and minimum speech duration (s); ``None`` draws no line.
    """
    from psymodal.settings import resolve_section

    mri_qc = resolve_section("mri", mri_settings)["qc"]
    speech_qc = resolve_section("speech", speech_settings)["qc"]
    return mri_qc["max_mean_fd"], speech_qc["min_speech_s"]


def _privacy(run_info: Path) -> dict:
    """``differential_privacy`` of the learning run's ``run_info.json`` (empty without)."""
    import json

    if not run_info.is_file():
        return {}
    info = json.loads(run_info.read_text())
    return info["differential_privacy"] if "differential_privacy" in info else {}


def write_report_figures(
    results_dir: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    mri_settings: Mapping | None = None,
    speech_settings: Mapping | None = None,
    qc_tables: Mapping[str, str | os.PathLike] | None = None,
) -> list[Path]:
    """Write the report's figures and metrics table for a results folder.

    Parameters
    ----------
    results_dir : path-like
        The run folder: reads ``learn/metrics.tsv``, ``predictions.tsv``,
        ``permutation_null.tsv``, ``importance.tsv``, ``membership_inference.tsv`` and
        ``run_info.json`` (each optional).
    out_dir : path-like, optional
        ``<results_dir>/figures`` by default.
    mri_settings, speech_settings : mapping, optional
        The config's ``mri`` and ``speech`` sections (QC thresholds).
    qc_tables : mapping of str to path-like, optional
        ``mri`` and ``speech`` group QC tables (in the versioned layout they live in the
        stage folders); by default ``<results_dir>/group/<modality>_qc.tsv`` (each optional).

    Returns
    -------
    list of Path
        The files of :data:`FIGURE_NAMES`, in that order.
    """
    import json

    import matplotlib

    from psymodal.learn.paths import run_file
    from psymodal.report.confusion import confusion_figure
    from psymodal.report.privacy import privacy_figure, privacy_html
    from psymodal.report.study_summary import study_summary

    results_dir = Path(results_dir)
    out = Path(out_dir) if out_dir is not None else figures_dir(results_dir)
    metrics = _read(run_file(results_dir, "metrics"))
    predictions = _read(run_file(results_dir, "predictions"))
    null = _read(run_file(results_dir, "permutation_null"))
    importance = _read(run_file(results_dir, "importance"))
    info_file = run_file(results_dir, "run_info")
    info = json.loads(info_file.read_text()) if info_file.is_file() else {}
    classes = info["classes"] if "classes" in info else None  # multiclass runs only
    attacks = _read(run_file(results_dir, "membership_inference"))
    privacy = _privacy(info_file)
    qc_tables = qc_tables or {m: group_table(results_dir, m, "qc") for m in ("mri", "speech")}
    mri_qc = _read(Path(qc_tables["mri"])) if "mri" in qc_tables else None
    speech_qc = _read(Path(qc_tables["speech"])) if "speech" in qc_tables else None
    fd, speech = qc_thresholds(mri_settings, speech_settings)
    with matplotlib.rc_context():
        matplotlib.rcdefaults()  # matplotlib's own style, whatever the user's matplotlibrc
        matplotlib.rcParams["svg.hashsalt"] = "psymodal"
        return [
            roc_figure(predictions, metrics, report_figure(out, "roc")),
            auc_figure(metrics, report_figure(out, "auc")),
            metrics_html(metrics, report_figure(out, "table")),
            qc_figure(mri_qc, speech_qc, report_figure(out, "qc"), fd, speech),
            null_figure(null, metrics, report_figure(out, "null")),
            importance_figure(importance, report_figure(out, "importance")),
            confusion_figure(predictions, classes, report_figure(out, "confusion")),
            privacy_figure(attacks, privacy, report_figure(out, "privacy")),
            privacy_html(attacks, privacy, report_figure(out, "privacy_table")),
            study_summary(
                metrics,
                {"mri": mri_qc, "speech": speech_qc},
                report_figure(out, "study"),
                privacy,
                added_value=_read(run_file(results_dir, "added_value")),
            ),
        ]
