"""Regional GM volume and the intracranial-volume proxy."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from _helpers import AFFINE, LABELS, NAMES, SHAPE, toy_atlas
from psymodal.io.tables import read_tsv
from psymodal.mri.anat import find_anat, gm_volumes, process_anat_subject
from psymodal.mri.errors import MRIInputError

SPACE = "MNI152NLin2009cAsym"


def _write_anat(root, prob, native_mask=True):
    anat = root / "sub-01" / "anat"
    anat.mkdir(parents=True)
    nib.save(
        nib.Nifti1Image(prob.astype(np.float32), AFFINE),
        anat / f"sub-01_space-{SPACE}_label-GM_probseg.nii.gz",
    )
    mask = np.zeros(SHAPE, np.uint8)
    mask[1:-1, 1:-1, 1:-1] = 1
    nib.save(nib.Nifti1Image(mask, AFFINE), anat / f"sub-01_space-{SPACE}_desc-brain_mask.nii.gz")
    if native_mask:
        native = np.zeros((20, 20, 20), np.uint8)
        native[2:18, 2:18, 2:18] = 1  # 16^3 voxels of 1 mm^3 = 4.096 mL
        nib.save(nib.Nifti1Image(native, np.eye(4)), anat / "sub-01_desc-brain_mask.nii.gz")


def test_gm_volumes_and_files(tmp_path):
    atlas = toy_atlas()
    labels = np.asarray(atlas.labels_img.dataobj)
    prob = np.zeros(SHAPE)
    prob[labels == LABELS[0]] = 0.5
    prob[labels == LABELS[1]] = 1.0
    prob[0, 0, 0] = 0.25  # GM outside the atlas counts in the total only
    _write_anat(tmp_path, prob)
    found = find_anat(tmp_path, "sub-01", SPACE)
    assert found["gm_probseg"] is not None and found["mask_native"] is not None
    vols, missing = gm_volumes(found["gm_probseg"], atlas)
    voxel_ml = 4 * 4 * 4 / 1000
    assert vols["gmv_RegA"] == pytest.approx(18 * 0.5 * voxel_ml)
    assert vols["gmv_RegB"] == pytest.approx(18 * voxel_ml)
    assert vols["gmv_RegC"] == 0.0 and missing == []
    assert vols["gm_total_ml"] == pytest.approx((9 + 18 + 0.25) * voxel_ml)
    out = process_anat_subject("01", tmp_path, atlas, tmp_path / "out")
    assert out["features"].name == f"sub-01_space-{SPACE}_atlas-toy_desc-gmv_features.tsv"
    feats = read_tsv(out["features"])
    assert list(feats.columns) == ["participant_id"] + [f"gmv_{n}" for n in NAMES] + [
        "gm_total_ml",
        "icv_ml",
    ]
    assert feats["icv_ml"].iloc[0] == pytest.approx(4.096)
    qc = read_tsv(out["qc"])
    assert bool(qc["included"].iloc[0]) and qc["icv_space"].iloc[0] == "T1w"


def test_missing_probseg_is_excluded(tmp_path):
    with pytest.warns(UserWarning, match="no anatomical features"):
        out = process_anat_subject("01", tmp_path, toy_atlas(), tmp_path / "out")
    qc = read_tsv(out["qc"])
    assert not bool(qc["included"].iloc[0]) and "probseg" in qc["reason"].iloc[0]


def test_not_a_probability_map(tmp_path):
    _write_anat(tmp_path, np.full(SHAPE, 3.0))
    with pytest.raises(MRIInputError, match="outside \\[0, 1\\]"):
        process_anat_subject("01", tmp_path, toy_atlas(), tmp_path / "out")
