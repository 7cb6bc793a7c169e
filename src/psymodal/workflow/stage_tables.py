"""Names of the group tables in a stage folder: one features and one QC table per modality.

Layout of a stage folder (``<results_dir>/<stage>-<key>/``)::

    group/<modality>_features.tsv               every subject, one row each
    group/<modality>_qc.tsv
    group/batches/<modality>_batch-<N>_<kind>.tsv   one per job, stacked into the above

Used by the study plan, the rules, ``psymodal mri``/``speech --batch-dir`` and the report.
Only the standard library is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["KINDS", "batch_dir", "batch_table", "group_dir", "group_table"]

#: The two tables every modality has.
KINDS = ("features", "qc")


def group_dir(stage_dir: str | os.PathLike) -> Path:
    """``<stage_dir>/group``."""
    return Path(stage_dir) / "group"


def group_table(stage_dir: str | os.PathLike, modality: str, kind: str) -> Path:
    """``<stage_dir>/group/<modality>_<kind>.tsv`` (``kind``: features or qc)."""
    return group_dir(stage_dir) / f"{modality}_{kind}.tsv"


def batch_dir(stage_dir: str | os.PathLike) -> Path:
    """``<stage_dir>/group/batches``: the per-job tables."""
    return group_dir(stage_dir) / "batches"


def batch_table(folder: str | os.PathLike, modality: str, batch: int | str, kind: str) -> Path:
    """``<folder>/<modality>_batch-<batch>_<kind>.tsv`` in a :func:`batch_dir` folder."""
    return Path(folder) / f"{modality}_batch-{batch}_{kind}.tsv"
