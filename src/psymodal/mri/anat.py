"""Anatomical features from fMRIPrep: regional grey-matter volume and an intracranial proxy.

Inputs (fMRIPrep derivatives, optionally under ``ses-YY/``)::

    sub-XX/anat/sub-XX_space-S[_res-R]_label-GM_probseg.nii.gz   GM probability in space S
    sub-XX/anat/sub-XX_desc-brain_mask.nii.gz                     native (T1w) brain mask
    sub-XX/anat/sub-XX_space-S[_res-R]_desc-brain_mask.nii.gz     brain mask in space S

Features (one row, ``participant_id`` first)::

    gmv_<region>   sum over the region's voxels of GM probability x voxel volume (mL)
    gm_total_ml    the same over the whole image
    icv_ml         brain-mask volume (mL), an intracranial-volume proxy

Caveat: fMRIPrep's template-space probability maps are *not* Jacobian-modulated, so regional
volumes in template space measure the local GM proportion after normalisation rather than
native volume. The ICV proxy therefore uses the native (T1w-space) brain mask when present;
without it the template-space mask is used, which is nearly constant across subjects (the QC
column ``icv_space`` says which).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from ..io.files import file_problem
from ..io.tables import write_tsv
from .atlas import Atlas
from .errors import MRIInputError
from .layout import normalize_subject, parse_entities
from .paths import anat_outputs
from .subject_runs import single_thread
from .timeseries import labels_on_grid


def find_anat(fmriprep_dir, subject: str, space: str = "MNI152NLin2009cAsym") -> dict:
    """Paths of the GM probability map and brain masks of one subject (None when absent).

    Returns
    -------
    dict
        ``gm_probseg`` (space S), ``mask_native``, ``mask_space``.
    """
    sub = normalize_subject(subject)
    root = Path(fmriprep_dir) / f"sub-{sub}"
    found = {"gm_probseg": None, "mask_native": None, "mask_space": None}
    files = sorted(root.glob("anat/*.nii*")) + sorted(root.glob("ses-*/anat/*.nii*"))
    for path in files:
        ents, suffix = parse_entities(path)
        if ents.get("sub") != sub:
            continue
        if suffix == "probseg" and ents.get("label") == "GM" and ents.get("space") == space:
            found["gm_probseg"] = found["gm_probseg"] or path
        elif suffix == "mask" and ents.get("desc") == "brain":
            if "space" not in ents:
                found["mask_native"] = found["mask_native"] or path
            elif ents["space"] == space:
                found["mask_space"] = found["mask_space"] or path
    return found


def _load(path: Path, what: str, subject: str) -> tuple[nib.Nifti1Image, np.ndarray]:
    problem = file_problem(path)
    if problem:
        raise MRIInputError(
            f"sub-{subject}: {what} {path} {problem}. Re-run fMRIPrep or restore the file."
        )
    try:
        img = nib.load(path)
        data = np.asanyarray(img.dataobj)
    except Exception as err:
        raise MRIInputError(
            f"sub-{subject}: cannot read {what} {path} ({type(err).__name__}: {err}). "
            "Re-run fMRIPrep or restore the file."
        ) from err
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise MRIInputError(f"sub-{subject}: {what} {path} has shape {data.shape}; 3D expected.")
    return img, data


def voxel_ml(img: nib.Nifti1Image) -> float:
    """Volume of one voxel in millilitres."""
    return float(abs(np.linalg.det(img.affine[:3, :3]))) / 1000.0


def gm_volumes(gm_probseg, atlas: Atlas, subject: str = "?") -> tuple[pd.Series, list[str]]:
    """Regional GM volume (mL) on the atlas, plus the total.

    The atlas is resampled (nearest neighbour) to the probability map's grid.

    Returns
    -------
    Series
        ``gmv_<region>`` in atlas order, then ``gm_total_ml``.
    list of str
        Regions with no voxel in the map's field of view (NaN volumes).
    """
    img, prob = _load(Path(gm_probseg), "GM probability map", subject)
    prob = np.nan_to_num(prob.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if prob.min() < -1e-3 or prob.max() > 1 + 1e-3:
        raise MRIInputError(
            f"sub-{subject}: {gm_probseg} has values outside [0, 1] "
            f"({prob.min():.3g}..{prob.max():.3g}); a probability map is expected."
        )
    labels = np.asarray(labels_on_grid(atlas, img).dataobj).astype(int)
    index = atlas.labels["index"].to_numpy(dtype=int)
    size = int(max(labels.max(), index.max())) + 1
    sums = np.bincount(labels.ravel(), weights=prob.ravel(), minlength=size)
    counts = np.bincount(labels.ravel(), minlength=size)
    v = voxel_ml(img)
    values = np.where(counts[index] > 0, sums[index] * v, np.nan)
    missing = [n for n, c in zip(atlas.region_names, counts[index], strict=True) if c == 0]
    series = pd.Series(values, index=[f"gmv_{n}" for n in atlas.region_names], dtype=float)
    series["gm_total_ml"] = float(prob.sum() * v)
    return series, missing


def mask_volume_ml(mask_path, subject: str = "?") -> float:
    """Volume (mL) of the non-zero voxels of a mask."""
    img, data = _load(Path(mask_path), "brain mask", subject)
    return float((data > 0).sum() * voxel_ml(img))


def anat_feature_names(atlas: Atlas) -> list[str]:
    """Columns of the anatomical features table after ``participant_id``."""
    return [f"gmv_{n}" for n in atlas.region_names] + ["gm_total_ml", "icv_ml"]


def _anat_qc(pid: str) -> dict:
    return {
        "participant_id": pid,
        "modality": "anat",
        "included": True,
        "reason": "",
        "gm_total_ml": np.nan,
        "icv_ml": np.nan,
        "icv_space": "",
        "n_missing_regions": np.nan,
        "missing_regions": "",
    }


def _write_anat(pid: str, values: pd.Series, qc: dict, paths: dict) -> dict[str, Path]:
    row = pd.DataFrame([values.to_numpy()], columns=list(values.index))
    row.insert(0, "participant_id", pid)
    write_tsv(row, paths["features"])
    write_tsv(pd.DataFrame([qc]), paths["qc"])
    return {"features": paths["features"], "qc": paths["qc"]}


def write_excluded_anat(
    subject: str, atlas: Atlas, out_dir, settings: dict | None, reason: str
) -> dict[str, Path]:
    """Write an excluded subject's anatomical files: n/a features and the QC row's reason."""
    from .settings import fill_settings

    settings = fill_settings(settings)
    sub = normalize_subject(subject)
    pid = f"sub-{sub}"
    paths = anat_outputs(sub, settings["space"], atlas.name, out_dir)
    qc = _anat_qc(pid)
    qc.update(included=False, reason=reason)
    values = pd.Series(np.nan, index=anat_feature_names(atlas), dtype=float)
    return _write_anat(pid, values, qc, paths)


def process_anat_subject(
    subject: str, fmriprep_dir, atlas: Atlas, out_dir, settings: dict | None = None
) -> dict[str, Path]:
    """Write the anatomical features and QC of one subject.

    Files::

        out_dir/sub-XX/anat/sub-XX_space-S_atlas-A_desc-gmv_features.tsv
        out_dir/sub-XX/anat/sub-XX_desc-anat_qc.tsv

    A subject without a GM probability map is excluded (n/a features, reason in the QC).
    ``settings`` is the ``mri`` section (``space``; ``qc.max_missing_fraction``).
    """
    from .settings import fill_settings

    threads = single_thread()  # noqa: F841 -- the limit lasts while the controller lives
    settings = fill_settings(settings)
    sub = normalize_subject(subject)
    pid = f"sub-{sub}"
    space = settings["space"]
    found = find_anat(fmriprep_dir, sub, space)
    if found["gm_probseg"] is None:
        warnings.warn(
            f"{pid}: no *_space-{space}_label-GM_probseg.nii.gz under {fmriprep_dir}; "
            "the subject has no anatomical features.",
            stacklevel=2,
        )
        return write_excluded_anat(
            sub, atlas, out_dir, settings, f"no label-GM_probseg in space-{space}"
        )
    paths = anat_outputs(sub, space, atlas.name, out_dir)
    qc = _anat_qc(pid)
    values = pd.Series(np.nan, index=anat_feature_names(atlas), dtype=float)
    vols, missing = gm_volumes(found["gm_probseg"], atlas, sub)
    values[vols.index] = vols
    mask = found["mask_native"] or found["mask_space"]
    if mask is not None:
        values["icv_ml"] = mask_volume_ml(mask, sub)
        qc["icv_space"] = "T1w" if found["mask_native"] else space
    qc.update(
        gm_total_ml=values["gm_total_ml"],
        icv_ml=values["icv_ml"],
        n_missing_regions=len(missing),
        missing_regions=";".join(missing),
    )
    limit = settings["qc"].get("max_missing_fraction")
    if limit is not None and len(missing) / max(len(atlas.region_names), 1) > limit:
        qc.update(included=False, reason=f"{len(missing)} atlas regions outside the map")
        values[:] = np.nan
    return _write_anat(pid, values, qc, paths)
