"""Confusion matrices of a multiclass run (``learn.task: multiclass``), for the report.

One panel per analysis: rows are the true classes, columns the most probable class of the
out-of-fold probabilities averaged over CV repeats; each cell shows the count and, as its
shade, the fraction of the true class (the diagonal is each class's recall, whose mean is the
balanced accuracy). Runs of other tasks get a panel that says so, so the file always exists.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.learn.assemble import ID
from psymodal.learn.metrics import confusion_matrix
from psymodal.report.plotting import empty_panel, new_figure, save_figure

#: Panels per row of the figure.
COLUMNS = 3


def _panels(predictions: pd.DataFrame, n_classes: int) -> list[tuple[str, str, np.ndarray]]:
    """(modality, model, counts) per analysis, in the predictions' order."""
    columns = [f"probability_{k}" for k in range(n_classes)]
    out = []
    for (modality, model), group in predictions.groupby(["modality", "model"], sort=False):
        averaged = group.groupby(ID, sort=True).agg(
            y_true=("y_true", "first"), **{c: (c, "mean") for c in columns}
        )
        counts = confusion_matrix(averaged.y_true, averaged[columns].to_numpy(), n_classes)
        out.append((modality, model, counts))
    return out


def confusion_figure(
    predictions: pd.DataFrame | None, classes: list[str] | None, path: str | os.PathLike
) -> Path:
    """Write the confusion matrices of every analysis of a multiclass run.

    Parameters
    ----------
    predictions : DataFrame or None
        ``learn/predictions.tsv`` with ``probability_<code>`` columns.
    classes : list of str or None
        The label of each class code (``run_info.json``'s ``classes``); None or empty for
        binary classification and regression.
    path : path-like

    Returns
    -------
    Path
    """
    if not classes or predictions is None or not len(predictions):
        fig = new_figure(5.0, 1.5)
        empty_panel(fig.add_subplot(), "confusion matrices: multiclass runs only")
        return save_figure(fig, Path(path))
    panels = _panels(predictions, len(classes))
    rows = int(np.ceil(len(panels) / COLUMNS))
    side = 1.2 + 0.55 * len(classes)
    fig = new_figure(side * min(len(panels), COLUMNS), side * rows + 0.4)
    axes = np.atleast_1d(fig.subplots(rows, min(len(panels), COLUMNS), squeeze=False)).ravel()
    for ax, (modality, model, counts) in zip(axes, panels, strict=False):
        totals = counts.sum(axis=1, keepdims=True)
        rates = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
        ax.imshow(rates, vmin=0, vmax=1, cmap="Blues")
        for (i, j), n in np.ndenumerate(counts):
            ax.text(
                j,
                i,
                str(n),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if rates[i, j] > 0.6 else "black",
            )
        ticks = np.arange(len(classes))
        ax.set_xticks(ticks, classes, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(ticks, classes, fontsize=8)
        ax.set_xlabel("predicted class (most probable)", fontsize=8)
        ax.set_ylabel("true class", fontsize=8)
        recall = np.diag(rates)[totals[:, 0] > 0]
        ax.set_title(f"{modality} ({model})\nbalanced accuracy {recall.mean():.2f}", fontsize=9)
    for ax in axes[len(panels) :]:
        ax.set_axis_off()
    fig.suptitle("Out-of-fold confusion matrices (shade: fraction of the true class)", fontsize=10)
    return save_figure(fig, Path(path))
