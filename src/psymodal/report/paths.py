"""File names of the report's figures, tables and QC galleries: the one place they are decided.

The report writes into ``<run>/figures/``::

    roc_curves.png, auc_summary.png, metrics_table.html, qc_summary.png,
    permutation_null.png, feature_importance.png,
    confusion_matrices.png                                psymodal figures
    privacy_attacks.png, privacy_table.html, study.rst    psymodal figures
    connectome_top_edges.png, region_importance.png       psymodal connectome-figures
    <modality>_qc_gallery.html                            psymodal qc-gallery, per modality

The writers (:mod:`psymodal.report.figures`, :mod:`psymodal.report.connectome`,
:mod:`psymodal.report.qc_gallery`) and the workflow rules take the names from here. Only the
standard library is imported.
"""

from __future__ import annotations

from pathlib import Path

#: The report's folder inside a run folder.
FIGURES_FOLDER = "figures"

#: ``psymodal figures``: output key (the workflow rule's) -> file name, in writing order.
REPORT_FIGURES = {
    "roc": "roc_curves.png",
    "auc": "auc_summary.png",
    "table": "metrics_table.html",
    "qc": "qc_summary.png",
    "null": "permutation_null.png",
    "importance": "feature_importance.png",
    # learn.task: multiclass (other tasks: a panel saying so)
    "confusion": "confusion_matrices.png",
    # the Privacy section: membership attacks per model, DP guarantees
    "privacy": "privacy_attacks.png",
    "privacy_table": "privacy_table.html",
    # the report's landing page (Snakemake's report description), not a figure
    "study": "study.rst",
}

#: ``psymodal connectome-figures``: output key -> file name, in writing order.
CONNECTOME_FIGURES = {
    "edges": "connectome_top_edges.png",
    "regions": "region_importance.png",
}


def figures_dir(run_dir) -> Path:
    """``<run>/figures``: the report's folder of a run."""
    return Path(run_dir) / FIGURES_FOLDER


def report_figure(out_dir, key: str) -> Path:
    """The file of :data:`REPORT_FIGURES` ``key`` inside ``out_dir``."""
    return Path(out_dir) / REPORT_FIGURES[key]


def connectome_figure(out_dir, key: str) -> Path:
    """The file of :data:`CONNECTOME_FIGURES` ``key`` inside ``out_dir``."""
    return Path(out_dir) / CONNECTOME_FIGURES[key]


def qc_gallery_name(modality: str) -> str:
    """``<modality>_qc_gallery.html`` (``modality`` may be a Snakemake wildcard)."""
    return f"{modality}_qc_gallery.html"


def qc_gallery_file(out_dir, modality: str) -> Path:
    """The QC gallery page of ``modality`` inside ``out_dir``."""
    return Path(out_dir) / qc_gallery_name(modality)


def qc_gallery_pages(out_dir, modality: str) -> Path:
    """The folder of the QC gallery's continuation pages (``page-02.html``...)."""
    return Path(out_dir) / f"{modality}_qc_gallery_pages"
