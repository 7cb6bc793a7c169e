"""Bad inputs give a clear error (file, subject, problem, remedy) or a documented exclusion."""

from __future__ import annotations

import gzip
import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from _helpers import AFFINE, FAST, make_run, toy_atlas
from psymodal.io.tables import read_tsv
from psymodal.mri.errors import MRIInputError, RunTooShortError
from psymodal.mri.layout import find_runs
from psymodal.mri.subject_runs import process_subject
from psymodal.mri.timeseries import extract_run_timeseries


def _single(tmp_path, **kw):
    paths = make_run(tmp_path, **kw)
    return find_runs(tmp_path, paths["fmriprep"], "01")[0], paths


def _extract(run):
    return extract_run_timeseries(run, toy_atlas(), FAST)


def test_3d_bold(tmp_path):
    run, paths = _single(tmp_path, n_vols=30)
    img = nib.load(paths["bold"])
    nib.save(nib.Nifti1Image(img.get_fdata()[..., 0], AFFINE), paths["bold"])
    with pytest.raises(MRIInputError, match=r"sub-01: BOLD image .* 4D"):
        _extract(run)


def test_mask_on_other_grid(tmp_path):
    run, paths = _single(tmp_path, n_vols=30)
    mask = nib.load(paths["mask"])
    shifted = AFFINE.copy()
    shifted[0, 3] += 2.0
    nib.save(nib.Nifti1Image(np.asarray(mask.dataobj), shifted), paths["mask"])
    with pytest.raises(MRIInputError, match="not on the grid"):
        _extract(run)
    nib.save(nib.Nifti1Image(np.asarray(mask.dataobj)[:-1], AFFINE), paths["mask"])
    with pytest.raises(MRIInputError, match="not on the grid"):
        _extract(run)


def test_confounds_length_mismatch(tmp_path):
    run, paths = _single(tmp_path, n_vols=30)
    table = pd.read_csv(paths["confounds"], sep="\t")
    table.iloc[:-2].to_csv(paths["confounds"], sep="\t", index=False, na_rep="n/a")
    with pytest.raises(MRIInputError, match="28 rows but the BOLD image .* 30 volumes"):
        _extract(run)


def test_nonfinite_voxels(tmp_path):
    run, paths = _single(tmp_path, n_vols=30)
    img = nib.load(paths["bold"])
    data = img.get_fdata(dtype=np.float32)
    data[5, 5, 5, 3] = np.nan
    data[5, 5, 4, 7] = np.inf
    nib.save(nib.Nifti1Image(data, AFFINE), paths["bold"])
    with pytest.raises(MRIInputError, match="2 NaN/inf values"):
        _extract(run)


def test_truncated_gzip(tmp_path):
    run, paths = _single(tmp_path, n_vols=30)
    raw = paths["bold"].read_bytes()
    paths["bold"].write_bytes(raw[: len(raw) // 2])
    with pytest.raises(MRIInputError, match="truncated or corrupt|cannot read"):
        _extract(run)
    # not even a gzip file
    paths["bold"].write_bytes(gzip.compress(b"not a nifti"))
    with pytest.raises(MRIInputError, match="sub-01: cannot read BOLD image"):
        _extract(run)


def test_missing_repetition_time(tmp_path):
    paths = make_run(tmp_path, n_vols=30, write_tr=False)
    with pytest.raises(MRIInputError, match="no RepetitionTime"):
        find_runs(tmp_path, paths["fmriprep"], "01")


def test_tr_from_raw_sidecar_and_header(tmp_path):
    paths = make_run(tmp_path, n_vols=30, write_tr=False)
    raw = tmp_path / "task-rest_bold.json"  # top-level inherited sidecar
    raw.write_text(json.dumps({"RepetitionTime": 2.5}))
    assert find_runs(tmp_path, paths["fmriprep"], "01")[0].tr == 2.5
    raw.unlink()
    img = nib.load(paths["bold"])
    img.header["pixdim"][4] = 1.5
    nib.save(nib.Nifti1Image(np.asarray(img.dataobj), AFFINE, img.header), paths["bold"])
    with pytest.warns(UserWarning, match="NIfTI header"):
        assert find_runs(tmp_path, paths["fmriprep"], "01")[0].tr == 1.5


def test_tr_in_milliseconds(tmp_path):
    paths = make_run(tmp_path, n_vols=30)
    sidecar = paths["bold"].with_name(paths["bold"].name.replace(".nii.gz", ".json"))
    sidecar.write_text(json.dumps({"RepetitionTime": 2000}))
    with pytest.raises(MRIInputError, match="milliseconds"):
        find_runs(tmp_path, paths["fmriprep"], "01")


def test_too_short_after_scrubbing(tmp_path):
    spikes = list(range(3, 40, 4))  # every 4th volume: scrubbing's min segment removes all
    run, paths = _single(tmp_path, n_vols=40, spikes=spikes)
    settings = {**FAST, "confounds": {"strategy": "scrubbing"}}
    with pytest.raises(RunTooShortError, match="volumes remain"):
        extract_run_timeseries(run, toy_atlas(), settings)
    out = process_subject("01", tmp_path, paths["fmriprep"], toy_atlas(), tmp_path / "o", settings)
    qc = read_tsv(out["qc"])
    assert not bool(qc["included"].iloc[0])
    assert "kept after scrubbing" in qc["reason"].iloc[0]
    assert read_tsv(out["features"]).drop(columns="participant_id").isna().all(axis=None)


def test_unknown_strategy(tmp_path):
    run, _ = _single(tmp_path, n_vols=30)
    with pytest.raises(MRIInputError, match="Unknown confounds strategy"):
        extract_run_timeseries(run, toy_atlas(), {**FAST, "confounds": {"strategy": "magic"}})


def test_missing_confound_columns(tmp_path):
    run, paths = _single(tmp_path, n_vols=30)
    table = pd.read_csv(paths["confounds"], sep="\t")
    table.drop(columns=["csf", "white_matter"]).to_csv(
        paths["confounds"], sep="\t", index=False, na_rep="n/a"
    )
    with pytest.raises(MRIInputError, match="cannot select confounds"):
        _extract(run)


def test_several_resolutions_need_a_choice(tmp_path):
    paths = make_run(tmp_path, n_vols=30)
    for ext in (".nii.gz", ".json"):
        src = paths["bold"].with_name(paths["bold"].name.replace(".nii.gz", ext))
        dst = src.with_name(src.name.replace("_desc-preproc", "_res-2_desc-preproc"))
        dst.write_bytes(src.read_bytes())
    with pytest.raises(MRIInputError, match="several versions of one run"):
        find_runs(tmp_path, paths["fmriprep"], "01")
    runs = find_runs(tmp_path, paths["fmriprep"], "01", res="2")
    assert len(runs) == 1 and "_res-2_" in runs[0].bold.name
