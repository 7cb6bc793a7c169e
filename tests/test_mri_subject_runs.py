"""Phase-1 tests of psymodal.mri on a synthetic fMRIPrep-like run."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from _helpers import FAST, LABELS, NAMES, make_run, toy_atlas
from psymodal.io.tables import read_tsv
from psymodal.mri.connectome import connectivity_features, edge_names
from psymodal.mri.layout import find_runs
from psymodal.mri.subject_runs import process_subject
from psymodal.mri.timeseries import extract_run_timeseries


def _run(tmp_path, **kw):
    paths = make_run(tmp_path, **kw)
    runs = find_runs(tmp_path, paths["fmriprep"], "01")
    assert len(runs) == 1
    return runs[0], paths


def test_find_runs_fields(tmp_path):
    make_run(tmp_path, run="1", seed=1)
    make_run(tmp_path, run="2", seed=2)
    runs = find_runs(tmp_path, tmp_path / "derivatives" / "fmriprep", "sub-01")
    assert [r.run for r in runs] == ["1", "2"]
    r = runs[0]
    assert r.subject == "01" and r.task == "rest" and r.session is None
    assert r.confounds.name == "sub-01_task-rest_run-1_desc-confounds_timeseries.tsv"
    assert r.mask.name.endswith("_desc-brain_mask.nii.gz")
    assert r.tr == 2.0
    assert find_runs(tmp_path, tmp_path / "derivatives" / "fmriprep", "01", task="other") == []


def test_columns_stable_and_denoised(tmp_path):
    run, paths = _run(tmp_path)
    ts, qc = extract_run_timeseries(run, toy_atlas(), FAST)
    assert list(ts.columns) == NAMES
    assert qc["n_volumes"] == 100 and qc["n_dummy"] == 1 and qc["n_volumes_kept"] == 99
    assert qc["missing_regions"] == []
    assert np.isfinite(ts.to_numpy()).all()
    # z-scored per region
    np.testing.assert_allclose(ts.std(ddof=1).to_numpy(), 1.0, atol=1e-6)
    assert qc["tsnr_median"] > 10 and 0 < qc["mean_fd"] < 0.5
    # planted A-B coupling survives, A-C does not appear
    feats = connectivity_features(ts)
    assert feats["RegA__RegB"] > 0.5
    assert abs(feats["RegA__RegC"]) < 0.4


def test_confound_regression_removes_motion_artefact(tmp_path):
    from nilearn.signal import clean

    run, paths = _run(tmp_path, artefact=60.0, motion_scale=0.05)
    # the artefact as the masker sees it: trans_x after dummy removal, detrend and band-pass
    trans_x = clean(
        paths["params"][1:, :1],
        detrend=True,
        high_pass=0.01,
        low_pass=0.1,
        t_r=2.0,
        standardize=False,
    )[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # nilearn: empty strategy
        raw, _ = extract_run_timeseries(run, toy_atlas(), {**FAST, "confounds": {"strategy": []}})
    clean_ts, _ = extract_run_timeseries(run, toy_atlas(), FAST)

    def max_abs_corr(ts):
        return max(abs(np.corrcoef(ts[c].to_numpy(), trans_x)[0, 1]) for c in ts.columns)

    assert max_abs_corr(raw) > 0.5
    assert max_abs_corr(clean_ts) < 0.1


def test_region_outside_mask_is_nan_not_shifted(tmp_path):
    run_full, _ = _run(tmp_path / "a", seed=3)
    run_cut, _ = _run(tmp_path / "b", seed=3, mask_out=(2,))
    full, _ = extract_run_timeseries(run_full, toy_atlas(), FAST)
    cut, qc = extract_run_timeseries(run_cut, toy_atlas(), FAST)
    assert list(cut.columns) == NAMES
    assert cut["RegC"].isna().all()
    assert qc["missing_regions"] == ["RegC"] and qc["n_missing_regions"] == 1
    others = [n for n in NAMES if n != "RegC"]
    np.testing.assert_allclose(cut[others].to_numpy(), full[others].to_numpy(), atol=1e-5)
    feats = connectivity_features(cut)
    assert list(feats.index) == edge_names(NAMES)
    assert feats["RegA__RegC"] != feats["RegA__RegC"]  # NaN
    assert np.isfinite(feats["RegA__RegB"])


def test_scrubbing_removes_volumes(tmp_path):
    spikes = [30, 60]
    run, _ = _run(tmp_path, spikes=spikes)
    ts, qc = extract_run_timeseries(
        run, toy_atlas(), {**FAST, "confounds": {"strategy": "scrubbing"}}
    )
    assert qc["n_volumes_kept"] < 99
    assert len(ts) == qc["n_volumes_kept"]
    for s in spikes:
        assert s not in ts.index
    assert 0 in ts.index or 0 not in ts.index  # index holds original volume numbers
    assert 0 not in ts.index  # dummy volume dropped
    assert 0 < qc["fraction_scrubbed"] < 0.5


def test_process_subject_writes_files(tmp_path):
    paths = make_run(tmp_path)
    out = process_subject("01", tmp_path, paths["fmriprep"], toy_atlas(), tmp_path / "out", FAST)
    func = tmp_path / "out" / "sub-01" / "func"
    assert out["features"] == func / "sub-01_task-rest_atlas-toy_desc-correlation_features.tsv"
    assert out["qc"] == func / "sub-01_task-rest_desc-qc.tsv"
    assert out["timeseries"] == [func / "sub-01_task-rest_atlas-toy_timeseries.tsv"]
    feats = read_tsv(out["features"])
    assert list(feats.columns) == ["participant_id"] + edge_names(NAMES)
    assert feats["participant_id"].tolist() == ["sub-01"]
    qc = read_tsv(out["qc"])
    assert list(qc.columns[:4]) == ["participant_id", "modality", "included", "reason"]
    assert bool(qc["included"].iloc[0]) and qc["modality"].iloc[0] == "fmri"
    ts = read_tsv(out["timeseries"][0])
    assert list(ts.columns) == NAMES


def test_exclusion_by_fd_still_writes(tmp_path):
    paths = make_run(tmp_path, motion_scale=0.6)
    out = process_subject("01", tmp_path, paths["fmriprep"], toy_atlas(), tmp_path / "out", FAST)
    qc = read_tsv(out["qc"])
    assert not bool(qc["included"].iloc[0])
    assert "mean FD" in qc["reason"].iloc[0]
    feats = read_tsv(out["features"])
    assert feats.drop(columns="participant_id").isna().all(axis=None)


def test_two_runs_mean_and_concatenate(tmp_path):
    p1 = make_run(tmp_path, run="1", seed=1)
    make_run(tmp_path, run="2", seed=2)
    out = process_subject("01", tmp_path, p1["fmriprep"], toy_atlas(), tmp_path / "m", FAST)
    names = [p.name for p in out["timeseries"]]
    assert names == [
        "sub-01_task-rest_run-1_atlas-toy_timeseries.tsv",
        "sub-01_task-rest_run-2_atlas-toy_timeseries.tsv",
    ]
    mean = read_tsv(out["features"]).drop(columns="participant_id").iloc[0]
    runs = find_runs(tmp_path, p1["fmriprep"], "01")
    per_run = [connectivity_features(extract_run_timeseries(r, toy_atlas(), FAST)[0]) for r in runs]
    np.testing.assert_allclose(mean.to_numpy(), (per_run[0] + per_run[1]).to_numpy() / 2, atol=1e-8)
    out_c = process_subject(
        "01",
        tmp_path,
        p1["fmriprep"],
        toy_atlas(),
        tmp_path / "c",
        {**FAST, "combine_runs": "concatenate"},
    )
    conc = read_tsv(out_c["features"]).drop(columns="participant_id").iloc[0]
    assert not np.allclose(conc.to_numpy(), mean.to_numpy())
    assert read_tsv(out_c["qc"])["n_runs_included"].iloc[0] == 2


def test_process_subject_without_runs(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = process_subject("07", tmp_path, tmp_path, toy_atlas(), tmp_path / "out", FAST)
    qc = read_tsv(out["qc"])
    assert not bool(qc["included"].iloc[0]) and "no BOLD run for task-rest" in qc["reason"].iloc[0]


@pytest.mark.parametrize("kind", ["partial correlation", "covariance"])
def test_other_kinds(tmp_path, kind):
    run, _ = _run(tmp_path)
    ts, _ = extract_run_timeseries(run, toy_atlas(), FAST)
    feats = connectivity_features(ts, kind)
    assert len(feats) == len(LABELS) * (len(LABELS) - 1) // 2
    assert np.isfinite(feats).all()
    assert isinstance(feats, pd.Series)


def test_qc_figure_and_byte_identical_reruns(tmp_path):
    paths = make_run(tmp_path, spikes=[30], mask_out=(2,))
    settings = {**FAST, "qc_figure": True, "confounds": {"strategy": "scrubbing"}}
    a = process_subject("01", tmp_path, paths["fmriprep"], toy_atlas(), tmp_path / "a", settings)
    b = process_subject("01", tmp_path, paths["fmriprep"], toy_atlas(), tmp_path / "b", settings)
    assert [p.name for p in a["figures"]] == ["sub-01_task-rest_atlas-toy_desc-qc_bold.png"]
    assert a["figures"][0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for key in ("features", "qc", "runs_qc"):
        assert a[key].read_bytes() == b[key].read_bytes()
    assert a["figures"][0].read_bytes() == b["figures"][0].read_bytes()
    assert a["timeseries"][0].read_bytes() == b["timeseries"][0].read_bytes()
