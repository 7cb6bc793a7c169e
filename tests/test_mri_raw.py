"""Raw BIDS BOLD without fMRIPrep (EPI mask, high-variance confounds; no motion correction)."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np

from _helpers import AFFINE, FAST, NAMES, make_run, toy_atlas
from psymodal.io.tables import read_tsv
from psymodal.mri.raw import extract_raw_timeseries, find_raw_runs, process_raw_subject


def _raw_dataset(tmp_path):
    paths = make_run(tmp_path / "prep", n_dummy=0, artefact=0.0)
    data = np.asarray(nib.load(paths["bold"]).dataobj)
    mask = np.asarray(nib.load(paths["mask"]).dataobj) > 0
    data = data * mask[..., None]  # raw EPI: dark outside the head
    func = tmp_path / "bids" / "sub-01" / "func"
    func.mkdir(parents=True)
    nib.save(nib.Nifti1Image(data, AFFINE), func / "sub-01_task-rest_bold.nii.gz")
    (tmp_path / "bids" / "task-rest_bold.json").write_text(json.dumps({"RepetitionTime": 2.0}))
    return tmp_path / "bids"


def test_raw_extraction_and_outputs(tmp_path):
    bids = _raw_dataset(tmp_path)
    runs = find_raw_runs(bids, "01")
    assert len(runs) == 1 and runs[0].tr == 2.0
    ts, qc = extract_raw_timeseries(runs[0], toy_atlas(), FAST)
    assert list(ts.columns) == NAMES and len(ts) == 100
    assert np.isnan(qc["mean_fd"]) and qc["tsnr_median"] > 10
    assert np.isfinite(ts.to_numpy()).all()
    # in this toy image the highest-variance voxels are the regions themselves, so the
    # CompCor-like confounds would remove the planted coupling: check it without them
    plain = {**FAST, "raw": {"high_variance_confounds": False}}
    ts, _ = extract_raw_timeseries(runs[0], toy_atlas(), plain)
    assert np.corrcoef(ts["RegA"], ts["RegB"])[0, 1] > 0.5
    assert abs(np.corrcoef(ts["RegA"], ts["RegC"])[0, 1]) < 0.3
    out = process_raw_subject("01", bids, toy_atlas(), tmp_path / "out", FAST)
    qc = read_tsv(out["qc"])
    assert bool(qc["included"].iloc[0])
    assert out["features"].name == "sub-01_task-rest_atlas-toy_desc-correlation_features.tsv"
