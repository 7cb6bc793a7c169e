"""Tests of the embedded demo study generator (small variant, generated once per module)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from psymodal.demo import DemoSpec, generate, plan
from psymodal.demo.bold import MOTION_COLUMNS, framewise_displacement
from psymodal.demo.spec import N_DUMMY, subject_parameters, symptom_score
from psymodal.io.tables import read_tsv

SPACE = "MNI152NLin2009cAsym"
SPEC = DemoSpec.small()


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("demo") / "bids", SPEC)


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _prep(study: Path, sub: str) -> Path:
    return study / "derivatives" / "fmriprep" / sub


def test_small_spec():
    assert SPEC.n_subjects == 12 and SPEC.n_volumes == 100
    assert SPEC.speech_seconds == (8.0, 12.0)
    assert DemoSpec.small(seed=3).seed == 3
    with pytest.raises(ValueError):
        DemoSpec(n_subjects=2)


def test_plan_design():
    table = plan(DemoSpec())
    assert list(table.columns) == [
        "participant_id",
        "diagnosis",
        "age",
        "sex",
        "site",
        "has_fmri",
        "has_speech",
    ]
    assert len(table) == 40 and table["participant_id"].iloc[0] == "sub-01"
    assert (table["diagnosis"] == "patient").sum() == 20
    assert set(table["site"]) == {"site-A", "site-B"}
    assert set(table["sex"]) <= {"M", "F"}
    assert (~table["has_fmri"]).sum() >= 1 and (~table["has_speech"]).sum() >= 1
    assert not (~table["has_fmri"] & ~table["has_speech"]).any()
    # diagnosis balanced within site
    counts = pd.crosstab(table["site"], table["diagnosis"])
    assert (counts.max(axis=1) - counts.min(axis=1)).max() <= 1
    pd.testing.assert_frame_equal(plan(DemoSpec()), table)


def test_shuffle_labels_permutes_only_diagnosis():
    base, null = plan(SPEC), plan(DemoSpec.small(shuffle_labels=True))
    cols = ["participant_id", "age", "sex", "site", "has_fmri", "has_speech"]
    pd.testing.assert_frame_equal(base[cols], null[cols])
    assert sorted(base["diagnosis"]) == sorted(null["diagnosis"])
    assert (base["diagnosis"] != null["diagnosis"]).any()


def test_layout(study):
    for name in [
        "participants.tsv",
        "participants.json",
        "dataset_description.json",
        ".bidsignore",
        "README",
        "ground_truth/README.md",
        "ground_truth/connectivity.tsv",
        "ground_truth/speech_parameters.tsv",
    ]:
        assert (study / name).is_file(), name
    assert "ground_truth/" in (study / ".bidsignore").read_text()
    description = json.loads((study / "dataset_description.json").read_text())
    assert description["DatasetType"] == "raw" and "BIDSVersion" in description
    table = plan(SPEC)
    for row in table.itertuples(index=False):
        sub = row.participant_id
        assert (study / sub / "anat" / f"{sub}_T1w.nii.gz").is_file()
        anat = _prep(study, sub) / "anat"
        for suffix in ["desc-preproc_T1w", "desc-brain_mask", "label-GM_probseg"]:
            assert (anat / f"{sub}_space-{SPACE}_{suffix}.nii.gz").is_file()
        func = _prep(study, sub) / "func"
        bold_files = [
            study / sub / "func" / f"{sub}_task-rest_bold.nii.gz",
            study / sub / "func" / f"{sub}_task-rest_bold.json",
            func / f"{sub}_task-rest_space-{SPACE}_desc-preproc_bold.nii.gz",
            func / f"{sub}_task-rest_space-{SPACE}_desc-preproc_bold.json",
            func / f"{sub}_task-rest_space-{SPACE}_desc-brain_mask.nii.gz",
            func / f"{sub}_task-rest_desc-confounds_timeseries.tsv",
            func / f"{sub}_task-rest_desc-confounds_timeseries.json",
        ]
        assert all(p.is_file() == row.has_fmri for p in bold_files), sub
        wav = study / sub / "audio" / f"{sub}_task-reading_audio.wav"
        assert wav.is_file() == row.has_speech
        assert wav.with_suffix(".json").is_file() == row.has_speech


def test_participants_match_plan(study):
    written = read_tsv(study / "participants.tsv")
    assert list(written.columns) == [
        "participant_id",
        "diagnosis",
        "age",
        "sex",
        "site",
        "symptom_score",
    ]
    expected = plan(SPEC)[list(written.columns[:-1])].assign(
        symptom_score=[symptom_score(SPEC, p) for p in subject_parameters(SPEC)]
    )
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    meta = json.loads((study / "participants.json").read_text())
    assert set(written.columns) <= set(meta)


def test_images(study):
    sub = "sub-01" if plan(SPEC).loc[0, "has_fmri"] else "sub-02"
    func = _prep(study, sub) / "func"
    img = nib.load(func / f"{sub}_task-rest_space-{SPACE}_desc-preproc_bold.nii.gz")
    assert img.ndim == 4 and img.shape[-1] == SPEC.n_volumes
    assert img.get_data_dtype() == np.float32
    assert np.allclose(img.header.get_zooms(), (4, 4, 4, SPEC.tr))
    mask = nib.load(func / f"{sub}_task-rest_space-{SPACE}_desc-brain_mask.nii.gz")
    assert mask.shape == img.shape[:3] and np.allclose(mask.affine, img.affine)
    sidecar = json.loads((study / sub / "func" / f"{sub}_task-rest_bold.json").read_text())
    assert sidecar == {"RepetitionTime": SPEC.tr, "TaskName": "rest"}
    gm = nib.load(_prep(study, sub) / "anat" / f"{sub}_space-{SPACE}_label-GM_probseg.nii.gz")
    values = np.asarray(gm.dataobj)
    assert values.min() >= 0 and values.max() <= 1 and values.max() > 0.5


def test_confounds(study):
    for row in plan(SPEC).itertuples(index=False):
        if not row.has_fmri:
            continue
        sub = row.participant_id
        path = _prep(study, sub) / "func" / f"{sub}_task-rest_desc-confounds_timeseries.tsv"
        assert "n/a" in path.read_text().splitlines()[1]
        table = read_tsv(path)
        assert len(table) == SPEC.n_volumes
        for name in MOTION_COLUMNS + ("csf", "white_matter", "global_signal"):
            for suffix in ["", "_derivative1", "_power2", "_derivative1_power2"]:
                assert name + suffix in table
        for name in [
            "framewise_displacement",
            "dvars",
            "std_dvars",
            "a_comp_cor_05",
            "cosine00",
            "non_steady_state_outlier_00",
        ]:
            assert name in table, name
        first_nan = table.iloc[0].isna()
        assert first_nan["framewise_displacement"] and first_nan["std_dvars"]
        assert not table.iloc[1:].isna().any().any()
        fd = framewise_displacement(table[list(MOTION_COLUMNS)].to_numpy())
        np.testing.assert_allclose(table["framewise_displacement"][1:], fd[1:], rtol=1e-6)
        trans = table[["trans_x", "trans_y", "trans_z"]].diff().abs().sum(axis=1)
        rot = table[["rot_x", "rot_y", "rot_z"]].diff().abs().sum(axis=1) * 50
        np.testing.assert_allclose(
            table["framewise_displacement"][1:], (trans + rot)[1:], rtol=1e-6
        )
        outliers = table.filter(like="non_steady_state").to_numpy()
        assert outliers.shape[1] == N_DUMMY and outliers.sum() == N_DUMMY
        fd = table["framewise_displacement"].fillna(0)
        flagged = (fd > 0.5) | (table["std_dvars"].fillna(0) > 1.5)
        assert table.filter(like="motion_outlier").shape[1] == flagged.sum()
        meta = json.loads(path.with_suffix(".json").read_text())
        assert meta["a_comp_cor_00"]["Mask"] == "combined"


def test_nilearn_reads_confounds(study):
    from nilearn.interfaces.fmriprep import load_confounds_strategy

    sub = next(r.participant_id for r in plan(SPEC).itertuples() if r.has_fmri)
    img = _prep(study, sub) / "func" / f"{sub}_task-rest_space-{SPACE}_desc-preproc_bold.nii.gz"
    confounds, sample_mask = load_confounds_strategy(str(img), denoise_strategy="simple")
    assert len(confounds) == SPEC.n_volumes
    assert sample_mask is not None and len(sample_mask) == SPEC.n_volumes - N_DUMMY


def test_speech(study):
    truth = read_tsv(study / "ground_truth" / "speech_parameters.tsv")
    table = plan(SPEC)
    assert sorted(truth["participant_id"]) == sorted(
        table.loc[table["has_speech"], "participant_id"]
    )
    for col in [
        "f0_mean_hz",
        "f0_sd_semitones",
        "pause_ratio",
        "mean_pause_s",
        "speech_rate_syll_per_s",
        "articulation_rate",
        "n_syllables",
    ]:
        assert truth[col].notna().all(), col
    lo, hi = SPEC.speech_seconds
    for row in truth.itertuples(index=False):
        sub = row.participant_id
        audio, rate = sf.read(study / sub / "audio" / f"{sub}_task-reading_audio.wav")
        assert rate == 16000 and audio.ndim == 1
        assert lo - 1e-6 <= len(audio) / rate <= hi + 1e-6
        assert abs(len(audio) / rate - row.duration_s) < 1e-3
        assert 0.05 < np.abs(audio).max() <= 1.0
    males = truth[truth["sex"] == "M"]["f0_mean_hz"]
    females = truth[truth["sex"] == "F"]["f0_mean_hz"]
    assert males.mean() < females.mean()
    assert (truth["pause_ratio"] > 0).all() and (truth["pause_ratio"] < 0.6).all()


def test_planted_edges_differ(study):
    """Region-averaged correlations of the planted edges are higher in patients."""
    from nilearn.image import resample_to_img

    from psymodal.mri.atlas import load_default_atlas

    edges = read_tsv(study / "ground_truth" / "connectivity.tsv")
    assert 8 <= len(edges) <= 12
    atlas = load_default_atlas()
    names = atlas.region_names
    for e in edges.itertuples(index=False):
        assert e.edge == f"{e.region_a}__{e.region_b}"
        assert names.index(e.region_a) < names.index(e.region_b)
    index = atlas.labels.set_index("name")["index"]
    table = plan(SPEC)
    effect = {"patient": [], "control": []}
    labels = None
    for row in table.itertuples(index=False):
        if not row.has_fmri:
            continue
        sub = row.participant_id
        func = _prep(study, sub) / "func"
        img = nib.load(func / f"{sub}_task-rest_space-{SPACE}_desc-preproc_bold.nii.gz")
        if labels is None:
            labels = (
                resample_to_img(
                    atlas.labels_img,
                    img,
                    interpolation="nearest",
                    force_resample=True,
                    copy_header=True,
                )
                .get_fdata()
                .ravel()
            )
        data = np.asarray(img.dataobj).reshape(-1, img.shape[-1])
        conf = read_tsv(func / f"{sub}_task-rest_desc-confounds_timeseries.tsv")
        cols = [c for c in conf if c.startswith(("trans", "rot", "cosine"))]
        cols += ["csf", "white_matter"]
        design = conf[cols].fillna(0).to_numpy()[N_DUMMY:]
        design = np.column_stack([np.ones(len(design)), design])
        r = []
        for e in edges.itertuples(index=False):
            pair = [
                data[labels == index[name]].mean(0)[N_DUMMY:] for name in (e.region_a, e.region_b)
            ]
            pair = np.column_stack(pair)
            resid = pair - design @ np.linalg.lstsq(design, pair, rcond=None)[0]
            r.append(np.arctanh(np.corrcoef(resid.T)[0, 1]))
        effect[row.diagnosis].append(np.mean(r))
    difference = np.mean(effect["patient"]) - np.mean(effect["control"])
    assert difference > 0.2, effect
    assert min(effect["patient"]) > max(effect["control"]) - 0.1, effect


def test_byte_identical_regeneration(tmp_path):
    """The same spec gives the same bytes, whatever the number of worker processes."""
    spec = DemoSpec.small(n_subjects=4, n_volumes=30, speech_seconds=(4.0, 5.0), seed=7)
    first = generate(tmp_path / "first", spec, n_jobs=1)
    second = generate(tmp_path / "second", spec, n_jobs=2)
    assert _digests(first) == _digests(second)
    assert len(_digests(first)) > 30
    # a null study: same data, only the labels (and the texts describing them) change
    null = generate(tmp_path / "null", replace(spec, shuffle_labels=True), n_jobs=2)
    documents = ("participants.tsv", "README", "dataset_description.json", "ground_truth/")
    same = {k: v for k, v in _digests(first).items() if not k.startswith(documents)}
    assert same == {k: v for k, v in _digests(null).items() if not k.startswith(documents)}
    labels = read_tsv(null / "participants.tsv")["diagnosis"]
    assert list(labels) == list(plan(replace(spec, shuffle_labels=True))["diagnosis"])
    truth = read_tsv(null / "ground_truth" / "subjects.tsv")
    assert list(truth["diagnosis"]) == list(read_tsv(first / "participants.tsv")["diagnosis"])
    assert "SHUFFLED" in (null / "README").read_text()


def test_gzip_header_deterministic(tmp_path):
    from psymodal.demo.write import write_nifti

    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    a = write_nifti(tmp_path / "a.nii.gz", data, np.eye(4)).read_bytes()
    b = write_nifti(tmp_path / "b.nii.gz", data, np.eye(4)).read_bytes()
    assert a == b
    assert a[4:8] == b"\0\0\0\0"  # gzip mtime field
    np.testing.assert_array_equal(np.asarray(nib.load(tmp_path / "a.nii.gz").dataobj), data)
