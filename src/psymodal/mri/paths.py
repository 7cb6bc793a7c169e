"""File names of the MRI stage's outputs: the one place they are decided.

The library writes these files and the workflow rules name them as outputs, both through the
builders below. Layout of an MRI stage folder (BIDS-Derivatives style)::

    atlas/atlas-A_dseg.nii.gz, atlas/atlas-A_dseg.tsv          the atlas used
    sub-XX/func/sub-XX[_ses-YY]_task-T[_<entity>-<value>...]_atlas-A_timeseries.tsv
    sub-XX/func/sub-XX_task-T_atlas-A_desc-<kind>_features.tsv
    sub-XX/func/sub-XX_task-T_desc-qc.tsv
    sub-XX/func/sub-XX_task-T_desc-runs_qc.tsv
    sub-XX/figures/<time series name>_desc-qc_bold.png         one per extracted run
    sub-XX/anat/sub-XX_space-S_atlas-A_desc-gmv_features.tsv
    sub-XX/anat/sub-XX_desc-anat_qc.tsv

Only the standard library is imported, so that the Snakefile can use this module cheaply.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .layout import RunInputs

#: The atlas built offline from published coordinates (``mri.atlas.name`` null); here, with
#: the names of outputs, so that planning a study does not load the atlas code (NiBabel).
BUILTIN_ATLAS = "dosenbach160"

#: Glob of the per-run QC figures in ``sub-XX/figures/`` (see :func:`qc_figure_path`).
QC_FIGURE_GLOB = "*_desc-qc_bold.png"

# Entities a run's time series keeps (in this order) when a subject has several runs.
_RUN_ENTITIES = ("acq", "rec", "dir", "echo", "run")


def normalize_subject(subject: str) -> str:
    """Return the subject label without the ``sub-`` prefix (``'sub-01'`` -> ``'01'``)."""
    subject = str(subject)
    return subject[4:] if subject.startswith("sub-") else subject


def bids_label(text: str) -> str:
    """Make ``text`` usable as a BIDS entity value (alphanumerics only)."""
    return re.sub(r"[^A-Za-z0-9]", "", str(text)) or "x"


def kind_label(kind: str) -> str:
    """``partial correlation`` -> ``partialcorrelation`` for ``desc-`` entities.

    Kind ``tangent`` (per-subject covariance with its diagonal, projected in the learning
    stage) is labelled ``tangent``.
    """
    return bids_label(kind)


def atlas_dir(stage_dir) -> Path:
    """``<stage>/atlas``: where the ``atlas`` rule writes the atlas the stage used."""
    return Path(stage_dir) / "atlas"


def atlas_files(atlas_dir, atlas_name: str) -> tuple[Path, Path]:
    """The atlas labels image and its region table: ``atlas-<name>_dseg.nii.gz`` / ``.tsv``."""
    stem = Path(atlas_dir) / f"atlas-{atlas_name}_dseg"
    return stem.with_name(stem.name + ".nii.gz"), stem.with_name(stem.name + ".tsv")


def figure_dir(out_dir, subject: str) -> Path:
    """``out_dir/sub-XX/figures``: the subject's QC figures."""
    return Path(out_dir) / f"sub-{normalize_subject(subject)}" / "figures"


def func_outputs(subject: str, task: str, atlas_name: str, kind: str, out_dir) -> dict:
    """Paths of the subject-level connectivity outputs (``features``, ``qc``, ``runs_qc``)."""
    sub = normalize_subject(subject)
    base = Path(out_dir) / f"sub-{sub}" / "func"
    stem = f"sub-{sub}_task-{bids_label(task)}"
    atlas = bids_label(atlas_name)
    return {
        "features": base / f"{stem}_atlas-{atlas}_desc-{kind_label(kind)}_features.tsv",
        "qc": base / f"{stem}_desc-qc.tsv",
        "runs_qc": base / f"{stem}_desc-runs_qc.tsv",
    }


def timeseries_path(run: RunInputs, atlas_name: str, out_dir, several: bool) -> Path:
    """Per-run time series path; ``ses``/``run``/``acq`` entities are kept when needed."""
    ents = [f"sub-{run.subject}"]
    if several and run.session:
        ents.append(f"ses-{run.session}")
    ents.append(f"task-{bids_label(run.task)}")
    if several:
        for key in _RUN_ENTITIES:
            if key in run.entities:
                ents.append(f"{key}-{run.entities[key]}")
    name = "_".join(ents) + f"_atlas-{bids_label(atlas_name)}_timeseries.tsv"
    return Path(out_dir) / f"sub-{run.subject}" / "func" / name


def qc_figure_path(run: RunInputs, atlas_name: str, out_dir, several: bool) -> Path:
    """QC figure of a run: its time series name with ``_desc-qc_bold.png``, in ``figures/``."""
    ts_name = timeseries_path(run, atlas_name, out_dir, several).name
    name = ts_name.replace("_timeseries.tsv", "_desc-qc_bold.png")
    return Path(out_dir) / f"sub-{run.subject}" / "figures" / name


def ready_timeseries_path(
    subject: str, task: str, atlas_name: str, out_dir, run_index: int | None = None
) -> Path:
    """Cleaned copy of a ready time series file; ``run_index`` (from 1) when there are several."""
    participant_id = f"sub-{normalize_subject(subject)}"
    suffix = f"_run-{run_index}" if run_index is not None else ""
    name = (
        f"{participant_id}_task-{bids_label(task)}{suffix}"
        f"_atlas-{bids_label(atlas_name)}_timeseries.tsv"
    )
    return Path(out_dir) / participant_id / "func" / name


def anat_outputs(subject: str, space: str, atlas_name: str, out_dir) -> dict:
    """Paths of the subject's anatomical outputs (``features``, ``qc``)."""
    pid = f"sub-{normalize_subject(subject)}"
    base = Path(out_dir) / pid / "anat"
    space, atlas = bids_label(space), bids_label(atlas_name)
    return {
        "features": base / f"{pid}_space-{space}_atlas-{atlas}_desc-gmv_features.tsv",
        "qc": base / f"{pid}_desc-anat_qc.tsv",
    }
