"""Real, messy studies (issue 13): one bad subject never stops a study, paths with spaces,
non-regular files, audio QC, speech-only/MRI-only datasets, TR sources, tracked inputs.

Fast tests call the library and the command line on tiny generated inputs; the workflow tests
are dry runs or one cheap job, except the one marked slow.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shlex
import shutil
import subprocess

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from _helpers import (
    AFFINE,
    FAST,
    REPO,
    SNAKEMAKE,
    SR,
    TEST_CORES,
    make_run,
    pulse_vowel,
    toy_atlas,
    with_silence,
    write_timeseries_study,
)
from psymodal.io.files import file_problem
from psymodal.io.tables import read_tsv, write_tsv
from psymodal.mri.atlas import write_atlas
from psymodal.mri.errors import MRIInputError
from psymodal.mri.layout import find_runs, resolve_tr
from psymodal.mri.sources import MriSource, process_mri_subject
from psymodal.mri.timeseries import load_header
from psymodal.settings import SettingsError, resolve_config
from psymodal.speech.audio import AudioError, read_audio
from psymodal.speech.features import extract_features, feature_names
from psymodal.speech.pipeline import find_recordings, process_subject, recordings_searched
from psymodal.workflow import commands
from psymodal.workflow.plan import StudyPlan
from psymodal.workflow.summary import error_lines, failed_job_logs, print_run_summary

MRI_SETTINGS = {**FAST, "anat": {"enabled": False}}


# ---- 1. one bad subject never stops a study -------------------------------------------------
def _truncate(paths):
    raw = paths["bold"].read_bytes()
    paths["bold"].write_bytes(raw[: len(raw) // 2])


def _three_d(paths):
    img = nib.load(paths["bold"])
    nib.save(nib.Nifti1Image(img.get_fdata()[..., 0], AFFINE), paths["bold"])


def _nan_voxels(paths):
    img = nib.load(paths["bold"])
    data = img.get_fdata(dtype=np.float32)
    data[5, 5, 5, 3] = np.nan
    nib.save(nib.Nifti1Image(data, AFFINE, img.header), paths["bold"])


def _short_confounds(paths):
    table = pd.read_csv(paths["confounds"], sep="\t")
    table.iloc[:-2].to_csv(paths["confounds"], sep="\t", index=False, na_rep="n/a")


def _not_gzip(paths):
    paths["bold"].write_bytes(gzip.compress(b"not a nifti"))


BREAKS = {
    "truncated": (_truncate, "truncated or corrupt|cannot read"),
    "3d": (_three_d, "4D"),
    "nan": (_nan_voxels, "NaN/inf values"),
    "short_confounds": (_short_confounds, "rows but the BOLD image"),
    "not_nifti": (_not_gzip, "cannot read BOLD image"),
}


def _two_subjects(root):
    good = make_run(root, subject="01", n_vols=40, seed=1)
    bad = make_run(root, subject="02", n_vols=40, seed=2)
    return good, bad


def _process(root, subject, strict=False, settings=MRI_SETTINGS):
    source = MriSource("fmriprep", bids_dir=root, fmriprep_dir=root / "derivatives" / "fmriprep")
    return process_mri_subject(subject, source, toy_atlas(), root / "out", settings, strict=strict)


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_a_bad_bold_becomes_the_subjects_qc_row(tmp_path, case, capsys):
    good, bad = _two_subjects(tmp_path)
    breaker, message = BREAKS[case]
    breaker(bad)
    ok = _process(tmp_path, "sub-01")["mri"]
    out = _process(tmp_path, "sub-02")["mri"]
    qc = read_tsv(out["qc"]).iloc[0]
    assert not bool(qc["included"])
    assert re.search(message, qc["reason"]), qc["reason"]
    # the reason names the subject and the file, as the error does
    assert "sub-02" in qc["reason"]
    bad_file = bad["confounds"] if case == "short_confounds" else bad["bold"]
    assert bad_file.name in qc["reason"]
    # same feature columns as a good subject, all n/a
    features, reference = read_tsv(out["features"]), read_tsv(ok["features"])
    assert list(features.columns) == list(reference.columns)
    assert features.drop(columns="participant_id").isna().all(axis=None)
    assert list(read_tsv(out["qc"]).columns) == list(read_tsv(ok["qc"]).columns)
    assert "sub-02: mri excluded:" in capsys.readouterr().err
    # strict: fail fast with the same message
    with pytest.raises(MRIInputError, match=message):
        _process(tmp_path, "sub-02", strict=True)


def test_a_bad_grey_matter_map_excludes_anat_only(tmp_path):
    make_run(tmp_path, subject="01", n_vols=40)
    anat = tmp_path / "derivatives" / "fmriprep" / "sub-01" / "anat"
    anat.mkdir(parents=True)
    probseg = anat / "sub-01_space-MNI152NLin2009cAsym_label-GM_probseg.nii.gz"
    probseg.write_bytes(b"\x1f\x8b broken")
    out = _process(tmp_path, "sub-01", settings=FAST)
    assert bool(read_tsv(out["mri"]["qc"]).loc[0, "included"])
    qc = read_tsv(out["anat"]["qc"]).iloc[0]
    assert not bool(qc["included"]) and probseg.name in qc["reason"]
    assert read_tsv(out["anat"]["features"]).shape[1] > 3


def test_a_bad_time_series_file_is_a_qc_row_and_stacks_with_the_others(tmp_path):
    from psymodal.io.tables import concat_rows

    write_timeseries_study(tmp_path, n=2)
    (tmp_path / "ts" / "sub-02.tsv").write_text("R1\tR2\nnot\ta number\n")
    source = MriSource(
        "timeseries", timeseries_dir=tmp_path / "ts", timeseries_pattern="{participant_id}.tsv"
    )
    settings = {"qc": {"min_minutes": None}, "timeseries": {"tr": 2.0}}
    out = [
        process_mri_subject(s, source, None, tmp_path / "out", settings)["mri"]
        for s in ("sub-01", "sub-02")
    ]
    qc = read_tsv(out[1]["qc"]).iloc[0]
    assert not bool(qc["included"]) and "sub-02.tsv" in qc["reason"]
    table = concat_rows([o["features"] for o in out], tmp_path / "features.tsv")
    assert list(table.columns) == list(read_tsv(out[0]["features"]).columns)
    assert table.set_index("participant_id").loc["sub-02"].isna().all()


def _cli_atlas(tmp_path):
    nii, tsv = write_atlas(toy_atlas(), tmp_path / "atlas")
    return ["--atlas", str(nii), "--atlas-labels", str(tsv), "--atlas-name", "toy"]


def test_the_batch_goes_on_and_strict_stops_it(tmp_path, capsys):
    from psymodal.cli import main

    _, bad = _two_subjects(tmp_path)
    _truncate(bad)
    args = [
        "mri",
        "--subjects",
        "sub-02",
        "sub-01",
        "--bids-dir",
        str(tmp_path),
        "--fmriprep-dir",
        str(tmp_path / "derivatives" / "fmriprep"),
        *_cli_atlas(tmp_path),
        "--out-dir",
        str(tmp_path / "out"),
        "--batch-dir",
        str(tmp_path / "batches"),
        "--settings",
        json.dumps(MRI_SETTINGS),
    ]
    assert main(args) == 0
    qc = read_tsv(tmp_path / "batches" / "mri_batch-0_qc.tsv").set_index("participant_id")
    assert qc["included"].to_dict() == {"sub-01": True, "sub-02": False}
    features = read_tsv(tmp_path / "batches" / "mri_batch-0_features.tsv")
    assert features.set_index("participant_id").loc["sub-01"].notna().all()
    capsys.readouterr()
    assert main([*args, "--strict"]) == 2
    err = capsys.readouterr().err
    assert "sub-02" in err and bad["bold"].name in err and "truncated or corrupt" in err


def test_strict_setting_is_in_the_schema_and_the_commands():
    assert resolve_config({})["strict"] is False
    with pytest.raises(SettingsError, match="strict"):
        resolve_config({"strict": "yes"})
    config = resolve_config({})
    assert "--strict" not in commands.mri_command(config, ["sub-01"], "b", "o", "a")
    assert "--strict" not in commands.speech_command(config, ["sub-01"], "b", "o")
    config = resolve_config({"strict": True})
    assert "--strict" in commands.mri_command(config, ["sub-01"], "b", "o", "a")
    assert "--strict" in commands.speech_command(config, ["sub-01"], "b", "o")


# ---- the end-of-run summary ------------------------------------------------------------------
def _bids_plan(root, **extra):
    write_tsv(
        pd.DataFrame(
            {
                "participant_id": ["sub-01", "sub-02", "sub-03"],
                "diagnosis": ["patient"] * 2 + ["control"],
            }
        ),
        root / "participants.tsv",
    )
    config = {
        "dataset": {"source": "bids", "bids_dir": str(root)},
        "results_dir": str(root / "results"),
        "batch_size": 2,
        **extra,
    }
    return StudyPlan(config)


def test_summary_names_excluded_subjects_and_failed_jobs(tmp_path):
    plan = _bids_plan(tmp_path)
    qc = pd.DataFrame(
        {
            "participant_id": ["sub-01", "sub-02"],
            "modality": ["speech", "speech"],
            "included": [True, False],
            "reason": ["", "no usable recording: sub-02/audio/x_audio.wav: truncated"],
        }
    )
    write_tsv(qc, plan.batch_table("speech", 0, "qc"))
    job_log = plan.stage_dir("mri") / "logs" / "mri_batch-1.log"
    job_log.parent.mkdir(parents=True)
    job_log.write_text(
        "loading\npsymodal mri: failed on sub-03\n"
        "psymodal mri: error: sub-03: BOLD image /d/sub-03_bold.nii.gz is truncated\n"
    )
    snakemake_log = tmp_path / "snakemake.log"
    snakemake_log.write_text(
        "Error in rule mri_batch:\n    message: None\n    jobid: 3\n"
        f"    log: {job_log} (check log file(s) for error details)\n    shell:\n        x\n"
    )
    assert failed_job_logs(snakemake_log) == [("mri_batch", job_log)]
    assert failed_job_logs([str(snakemake_log)]) == [("mri_batch", job_log)]  # as handlers get it
    assert error_lines(job_log)[-1].endswith("is truncated")
    out = io.StringIO()
    print_run_summary(plan, snakemake_log, failed=True, file=out)
    text = out.getvalue()
    assert "sub-02 [speech]: no usable recording: sub-02/audio/x_audio.wav: truncated" in text
    assert "mri_batch (subjects sub-03)" in text
    assert "sub-03: BOLD image /d/sub-03_bold.nii.gz is truncated" in text
    out = io.StringIO()
    print_run_summary(plan, None, file=out)
    assert "sub-01" not in out.getvalue() and "sub-02 [speech]" in out.getvalue()


def test_snakefile_calls_the_summary_on_success_and_on_error():
    text = (REPO / "Snakefile").read_text()
    assert re.search(r"onsuccess:\s+print_run_summary\(PLAN, log\)", text)
    assert re.search(r"onerror:\s+print_run_summary\(PLAN, log, failed=True\)", text)


# ---- 2. paths with spaces ----------------------------------------------------------------
def _space_workdir(tmp_path):
    workdir = tmp_path / "work"
    config = yaml.safe_load((REPO / ".test" / "config-small-demo.yaml").read_text())
    config["results_dir"] = str(workdir / "My Study" / "results")
    (workdir / "config").mkdir(parents=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    (workdir / "My").write_text("precious data\n")
    return workdir


def _snakemake(workdir, *args):
    return subprocess.run(
        [*SNAKEMAKE, "--directory", str(workdir), "--cores", "1", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_every_shell_command_quotes_a_results_dir_with_a_space(tmp_path):
    workdir = _space_workdir(tmp_path)
    result = _snakemake(workdir, "--dry-run", "--printshellcmds", "--forceall")
    assert result.returncode == 0, result.stderr[-3000:]
    commands_seen = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if "psymodal.cli" in line or line.lstrip().startswith(("(echo", "echo"))
    ]
    assert len(commands_seen) > 5
    results_dir = str(workdir / "My Study" / "results")
    for line in commands_seen:
        tokens = shlex.split(line)
        # every token naming the results folder names it whole: never split at the space
        for token in tokens:
            if "Study" in token:
                assert "My Study" in token, (token, line)
        assert not any(t.endswith(str(workdir / "My")) for t in tokens), line
        if "My Study" in line:
            assert any(results_dir in t for t in tokens), line


def test_a_job_with_a_space_in_results_dir_writes_nothing_outside(tmp_path):
    workdir = _space_workdir(tmp_path)
    before = sorted(p.name for p in workdir.iterdir())
    result = _snakemake(workdir, "--until", "atlas")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (workdir / "My").read_text() == "precious data\n"
    assert sorted(p.name for p in workdir.iterdir()) == sorted({*before, ".snakemake", "My Study"})
    (log,) = (workdir / "My Study" / "results").glob("mri-*/logs/atlas.log")
    assert "atlas written to" in log.read_text()


# ---- 3. audio QC ---------------------------------------------------------------------------
def _speech(seconds=2.0):
    return with_silence(pulse_vowel(seconds))


def test_clipping_is_flagged_or_excludes(tmp_path):
    y = _speech()
    y = 0.5 * y / np.max(np.abs(y))
    y[1000:-1000:25] = 1.0  # 4 % of the samples at full scale
    rec = tmp_path / "sub-01" / "audio" / "sub-01_task-reading_audio.wav"
    rec.parent.mkdir(parents=True)
    sf.write(rec, y, SR, subtype="FLOAT")
    out = tmp_path / "f.tsv", tmp_path / "q.tsv"
    process_subject("sub-01", [rec], *out, {"qc_figure": False}, dataset_dir=tmp_path)
    qc = read_tsv(out[1]).iloc[0]
    assert bool(qc["included"]) and qc["clipping_fraction"] > 0.01
    assert "sub-01/audio/sub-01_task-reading_audio.wav: clipped" in qc["notes"]
    settings = {"qc_figure": False, "qc": {"clipping_action": "exclude"}}
    process_subject("sub-01", [rec], *out, settings, dataset_dir=tmp_path)
    qc = read_tsv(out[1]).iloc[0]
    assert not bool(qc["included"]) and "clipped" in qc["reason"]
    settings = {"qc_figure": False, "qc": {"max_clipping_fraction": None}}
    process_subject("sub-01", [rec], *out, settings, dataset_dir=tmp_path)
    assert pd.isna(read_tsv(out[1]).loc[0, "notes"])


def test_stereo_policy_and_channel_count_in_qc(tmp_path):
    left = _speech()
    stereo = np.stack([left, 0.1 * left[::-1]], axis=1)
    rec = tmp_path / "stereo.wav"
    sf.write(rec, stereo, SR, subtype="FLOAT")
    assert read_audio(rec).channels_used == "mean"
    np.testing.assert_allclose(read_audio(rec, channels="left").y, left - left.mean(), atol=1e-6)
    assert read_audio(rec, channels="right").channels_used == "right"
    out = tmp_path / "f.tsv", tmp_path / "q.tsv"
    process_subject("sub-01", [rec], *out, {"qc_figure": False, "channels": "left"})
    qc = read_tsv(out[1]).iloc[0]
    assert qc["n_channels"] == 2 and qc["channels_used"] == "left"
    mono = tmp_path / "mono.wav"
    sf.write(mono, left, SR)
    process_subject("sub-01", [mono], *out, {"qc_figure": False})
    qc = read_tsv(out[1]).iloc[0]
    assert qc["n_channels"] == 1 and qc["channels_used"] == "mono"


def test_truncated_wav_is_named_as_truncated(tmp_path):
    rec = tmp_path / "sub-01" / "audio" / "sub-01_task-reading_audio.wav"
    rec.parent.mkdir(parents=True)
    sf.write(rec, _speech(1.5), SR, subtype="PCM_16")
    data = rec.read_bytes()
    rec.write_bytes(data[: 44 + 2 * int(0.45 * SR)])  # the header still claims ~2 s
    with pytest.raises(AudioError, match=r"truncated: the WAV header declares 2\.\d+ s .* 0\.45 s"):
        read_audio(rec)
    out = tmp_path / "f.tsv", tmp_path / "q.tsv"
    process_subject("sub-01", [rec], *out, {"qc_figure": False}, dataset_dir=tmp_path)
    reason = read_tsv(out[1]).loc[0, "reason"]
    assert "truncated" in reason and "silent" not in reason
    # relative to the dataset, never absolute
    assert "sub-01/audio/sub-01_task-reading_audio.wav" in reason
    assert str(tmp_path) not in reason
    with pytest.raises(AudioError, match="truncated"):
        process_subject(
            "sub-01", [rec], *out, {"qc_figure": False}, dataset_dir=tmp_path, strict=True
        )


def test_corrupt_audio_reason_has_no_absolute_path(tmp_path):
    rec = tmp_path / "sub-01" / "audio" / "sub-01_task-reading_audio.wav"
    rec.parent.mkdir(parents=True)
    rec.write_bytes(b"RIFF not really a wave file")
    out = tmp_path / "f.tsv", tmp_path / "q.tsv"
    process_subject("sub-01", [rec], *out, {"qc_figure": False}, dataset_dir=tmp_path)
    reason = read_tsv(out[1]).loc[0, "reason"]
    assert "sub-01/audio/sub-01_task-reading_audio.wav: cannot be decoded" in reason
    assert str(tmp_path) not in reason


def test_sample_rate_none_keeps_the_files_rate(tmp_path):
    y = with_silence(pulse_vowel(1.0, sr=22050), sr=22050)
    feats = extract_features(y, 22050, {"sample_rate": None})
    assert set(feature_names({"sample_rate": None})) <= set(feats)
    assert np.isfinite(feats["f0_mean_hz"])
    rec = tmp_path / "r.wav"
    sf.write(rec, y, 22050)
    assert read_audio(rec, None).sr == 22050
    assert resolve_config({"speech": {"sample_rate": None}})["speech"]["sample_rate"] is None


# ---- 4. non-regular files --------------------------------------------------------------------
@pytest.fixture
def odd_files(tmp_path):
    fifo = tmp_path / "fifo_bold.nii.gz"
    os.mkfifo(fifo)
    dangling = tmp_path / "dangling_bold.nii.gz"
    dangling.symlink_to(tmp_path / "gone.nii.gz")
    devnull = tmp_path / "null_bold.nii.gz"
    devnull.symlink_to("/dev/null")
    return {"fifo": fifo, "dangling": dangling, "devnull": devnull}


EXPECTED = {
    "fifo": r"is not a regular file \(a FIFO",
    "dangling": r"is a dangling link \(to .*gone\.nii\.gz",
    "devnull": r"is not a regular file \(a link to /dev/null, a character device\)",
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_non_regular_files_get_an_accurate_message(odd_files, kind):
    path = odd_files[kind]
    assert re.search(EXPECTED[kind], file_problem(path))
    with pytest.raises(MRIInputError, match=EXPECTED[kind]) as error:
        load_header(path, "BOLD image", "01")
    assert "does not exist" not in str(error.value)
    wav = path.with_name(path.name.replace("_bold.nii.gz", "_audio.wav"))
    os.rename(path, wav)
    with pytest.raises(AudioError, match=EXPECTED[kind]):
        read_audio(wav)


def test_a_dangling_recording_is_reported_not_ignored(tmp_path):
    folder = tmp_path / "sub-01" / "audio"
    folder.mkdir(parents=True)
    (folder / "sub-01_task-reading_audio.wav").symlink_to(tmp_path / "elsewhere.wav")
    found = find_recordings(tmp_path, "sub-01", "reading")
    assert len(found) == 1
    out = tmp_path / "f.tsv", tmp_path / "q.tsv"
    process_subject("sub-01", found, *out, {"qc_figure": False}, dataset_dir=tmp_path)
    assert "dangling link" in read_tsv(out[1]).loc[0, "reason"]


# ---- 5. speech-only and MRI-only studies ---------------------------------------------------
def test_a_modality_without_inputs_is_skipped_at_plan_time(tmp_path):
    rec = tmp_path / "sub-01" / "audio" / "sub-01_task-reading_audio.wav"
    rec.parent.mkdir(parents=True)
    sf.write(rec, _speech(0.5), SR)
    plan = _bids_plan(tmp_path)
    assert plan.modalities == ["speech"] and plan.stages == ["speech"]
    (line,) = plan.skipped_stages.values()
    assert "mri is enabled but the dataset holds no BOLD run" in line and "skipped" in line
    # MRI-only
    rec.unlink()
    make_run(tmp_path, subject="01", n_vols=30)
    plan = _bids_plan(tmp_path)
    assert plan.modalities == ["mri", "anat"] and list(plan.skipped_stages) == ["speech"]


def test_workflow_prints_the_skipped_stage(tmp_path):
    bids = tmp_path / "bids"
    rec = bids / "sub-01" / "audio" / "sub-01_task-reading_audio.wav"
    rec.parent.mkdir(parents=True)
    sf.write(rec, _speech(0.5), SR)
    _bids_plan(bids)
    workdir = tmp_path / "work"
    (workdir / "config").mkdir(parents=True)
    config = {"dataset": {"source": "bids", "bids_dir": str(bids)}, "results_dir": "results"}
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    result = _snakemake(workdir, "--dry-run")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("the mri stage is skipped") == 1
    assert "mri_batch" not in result.stdout + result.stderr


def test_reason_for_no_recordings_names_task_and_pattern(tmp_path):
    out = tmp_path / "f.tsv", tmp_path / "q.tsv"
    searched = recordings_searched("sub-07", "reading")
    process_subject("sub-07", [], *out, None, searched=searched)
    reason = read_tsv(out[1]).loc[0, "reason"]
    assert reason.startswith("no recordings found for task-reading")
    assert "sub-07/[ses-*/]audio/sub-07[_ses-*]_task-reading[_*]_audio.{wav,flac,ogg}" in reason


# ---- 6. repetition time --------------------------------------------------------------------
def _set_header_tr(bold, tr):
    img = nib.load(bold)
    img.header["pixdim"][4] = tr
    nib.save(nib.Nifti1Image(np.asarray(img.dataobj), AFFINE, img.header), bold)


def test_tr_disagreement_and_missing_sidecar_are_qc_notes(tmp_path):
    paths = make_run(tmp_path, subject="01", n_vols=40)
    _set_header_tr(paths["bold"], 3.0)
    with pytest.warns(UserWarning, match="TR differs"):
        tr, note = resolve_tr(paths["bold"], tmp_path, "01")
    assert tr == 2.0 and "sidecar" in note and "3 s" in note and "tr_source: sidecar" in note
    with pytest.warns(UserWarning):
        assert resolve_tr(paths["bold"], tmp_path, "01", "header")[0] == 3.0
        runs = find_runs(tmp_path, paths["fmriprep"], "01", tr_source="header")
    assert runs[0].tr == 3.0
    with pytest.warns(UserWarning):
        out = _process(tmp_path, "sub-01", settings={**MRI_SETTINGS, "tr_source": "header"})
    notes = read_tsv(out["mri"]["qc"]).loc[0, "notes"]
    assert "task-rest: TR differs" in notes and "3 s used (mri.tr_source: header)" in notes
    # no sidecar: the header's TR, said in the QC table
    paths["bold"].with_name(paths["bold"].name.replace(".nii.gz", ".json")).unlink()
    with pytest.warns(UserWarning, match="NIfTI header"):
        out = _process(tmp_path, "sub-01")
    notes = read_tsv(out["mri"]["qc"]).loc[0, "notes"]
    assert "TR 3 s from the NIfTI header (no JSON sidecar has one)" in notes


def test_agreeing_tr_gives_no_note(tmp_path):
    paths = make_run(tmp_path, subject="01", n_vols=40)
    assert resolve_tr(paths["bold"], tmp_path, "01") == (2.0, "")
    assert pd.isna(read_tsv(_process(tmp_path, "sub-01")["mri"]["qc"]).loc[0, "notes"])


# ---- 7. every input tracked ------------------------------------------------------------------
def test_masks_gm_maps_and_sidecars_are_subject_inputs(tmp_path):
    paths = make_run(tmp_path, subject="01", n_vols=30)
    anat = paths["fmriprep"] / "sub-01" / "anat"
    anat.mkdir()
    probseg = anat / "sub-01_space-MNI152NLin2009cAsym_label-GM_probseg.nii.gz"
    brain = anat / "sub-01_desc-brain_mask.nii.gz"
    for f in (probseg, brain):
        f.write_bytes(b"x")
    raw_sidecar = tmp_path / "sub-01" / "func" / "sub-01_task-rest_bold.json"
    raw_sidecar.parent.mkdir(parents=True)
    raw_sidecar.write_text("{}")
    top = tmp_path / "task-rest_bold.json"
    top.write_text("{}")
    dangling = (
        paths["fmriprep"] / "sub-01" / "func" / "sub-01_task-rest_run-9_desc-preproc_bold.nii.gz"
    )
    dangling.symlink_to(tmp_path / "gone.nii.gz")
    plan = _bids_plan(tmp_path)
    inputs = set(plan.subject_inputs(["sub-01"], "mri"))
    sidecar = paths["bold"].with_name(paths["bold"].name.replace(".nii.gz", ".json"))
    for f in (paths["bold"], paths["mask"], paths["confounds"], sidecar, probseg, brain):
        assert f in inputs, f
    assert raw_sidecar in inputs and top in inputs
    assert dangling not in inputs  # Snakemake would refuse to plan; the job reports it


# ---- the whole study: one corrupt BOLD, one corrupt WAV, a results folder with a space ------
@pytest.mark.slow
def test_study_with_corrupt_files_and_a_space_finishes_with_a_summary(small_demo, tmp_path):
    # the small demo's study, read as a BIDS dataset (generating it again costs a minute)
    bids = tmp_path / "bids"
    shutil.copytree(small_demo / "resources" / "demo", bids, symlinks=True)
    bold = sorted(bids.glob("derivatives/fmriprep/sub-*/func/*_desc-preproc_bold.nii.gz"))[0]
    _truncate({"bold": bold})
    bold_subject = bold.name.split("_")[0]
    wav = next(
        p
        for p in sorted(bids.glob("sub-*/audio/*_audio.wav"))
        if not p.name.startswith(bold_subject)
    )
    wav.write_bytes(b"RIFF not really a wave file")
    wav_subject = wav.name.split("_")[0]
    workdir = tmp_path / "work"
    config = yaml.safe_load((REPO / ".test" / "config-small-demo.yaml").read_text())
    config["dataset"] = {"source": "bids", "bids_dir": str(bids)}
    config["results_dir"] = str(workdir / "My Study" / "results")
    # what is checked here is the QC rows and the console: learning only has to finish
    config["learn"]["permutation"] = {"n": 0}
    config["learn"]["explain"] = {"enabled": False}
    config["learn"]["added_value"] = False
    config["learn"]["metrics"] = {"bootstrap": 0}
    # two batches per stage, and no language stage: the corrupt files are MRI and speech ones
    config["batch_size"] = 6
    config["language"] = {"enabled": False}
    (workdir / "config").mkdir(parents=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    (workdir / "My").write_text("precious data\n")
    result = _snakemake(workdir, "--cores", str(TEST_CORES))
    assert result.returncode == 0, result.stderr[-5000:]
    assert (workdir / "My").read_text() == "precious data\n"
    results = workdir / "My Study" / "results"
    label = (results / "LATEST").read_text().strip()
    metrics = read_tsv(results / "runs" / label / "learn" / "metrics.tsv")
    assert len(metrics) and metrics["roc_auc"].notna().all()
    (mri_qc,) = results.glob("mri-*/group/mri_qc.tsv")
    qc = read_tsv(mri_qc).set_index("participant_id")
    assert not qc.loc[bold_subject, "included"] and bold.name in qc.loc[bold_subject, "reason"]
    (speech_qc,) = results.glob("speech-*/group/speech_qc.tsv")
    reason = read_tsv(speech_qc).set_index("participant_id").loc[wav_subject, "reason"]
    assert f"{wav_subject}/audio/" in reason and str(bids) not in reason
    console = result.stderr
    # the summary quotes the QC reason, which names the file inside the fMRIPrep folder
    inside = bold.relative_to(bids / "derivatives" / "fmriprep")
    assert f"{bold_subject} [mri]: {bold_subject}: BOLD image {inside}" in console
    assert str(bold) not in qc.loc[bold_subject, "reason"]
    assert f"{wav_subject} [speech]: no usable recording: {wav_subject}/audio/" in console


def test_mri_reasons_name_files_inside_the_dataset_not_the_machines_folders(tmp_path):
    from psymodal.mri.errors import MRIInputError
    from psymodal.mri.sources import input_error_reason

    root = tmp_path / "study" / "derivatives" / "fmriprep"
    bold = root / "sub-01" / "func" / "sub-01_task-rest_bold.nii.gz"
    err = MRIInputError(f"sub-01: BOLD image {bold} is truncated or corrupt")
    reason = input_error_reason(err, (root, tmp_path / "study", None))
    assert (
        reason
        == "sub-01: BOLD image sub-01/func/sub-01_task-rest_bold.nii.gz is truncated or corrupt"
    )
    assert str(tmp_path) not in reason
    assert input_error_reason(err) == str(err)  # without roots: the message as it is
