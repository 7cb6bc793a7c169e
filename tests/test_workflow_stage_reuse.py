"""Stages share their work between runs: a job's command line (and so Snakemake's rerun
decision) depends only on the settings it reads. Changing ``learn`` reruns learning alone."""

from __future__ import annotations

import copy
import re
import shutil

import pytest
import yaml

from _helpers import run_snakemake
from psymodal.workflow import commands
from psymodal.workflow.plan import StudyPlan

#: Jobs that may rerun when only learning settings change (the run folder is new).
LEARN_SIDE = {
    "all",
    "learn",
    "record_config",
    "derivatives_description",
    "report_figures",
    "connectome_figures",
    "qc_gallery",
    "manifest",
    "point_latest",
}


def _timeseries_config(tmp_path) -> dict:
    (tmp_path / "ts").mkdir()
    (tmp_path / "ts" / "sub-01.tsv").write_text("A\tB\n1\t2\n2\t1\n")
    (tmp_path / "participants.tsv").write_text(
        "participant_id\tdiagnosis\nsub-01\tpatient\nsub-02\tcontrol\n"
    )
    return {
        "dataset": {
            "source": "timeseries",
            "bids_dir": str(tmp_path),
            "participants": str(tmp_path / "participants.tsv"),
            "timeseries_dir": str(tmp_path / "ts"),
            "timeseries_pattern": "{participant_id}.tsv",
        },
        "results_dir": str(tmp_path / "results"),
    }


def test_stage_commands_and_keys_ignore_learning_settings(tmp_path):
    config = _timeseries_config(tmp_path)
    other = copy.deepcopy(config)
    other["learn"] = {"cv": {"strategy": "site_stratified", "folds": 3}, "models": ["svm"]}
    base, changed = StudyPlan(config), StudyPlan(other)
    assert base.stage_dir("mri") == changed.stage_dir("mri")
    assert base.run_dir != changed.run_dir
    for plan in (base, changed):
        plan.jobs = (
            commands.import_participants_command(plan.config, plan.participants_tsv),
            commands.mri_command(plan.config, ["sub-01"], plan.bids_dir, "mri", "atlas", 0, "b"),
            commands.speech_command(plan.config, ["sub-01"], plan.bids_dir, "speech", 0, "b"),
        )
    assert base.jobs == changed.jobs
    assert "learn" not in " ".join(base.jobs[0])


@pytest.mark.slow
def test_changing_the_cv_strategy_reruns_no_mri_or_speech_job(small_demo, tmp_path):
    workdir = tmp_path / "work"
    shutil.copytree(small_demo, workdir, symlinks=True)
    config_file = workdir / "config" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    config["learn"]["cv"]["strategy"] = "site_stratified"
    config_file.write_text(yaml.safe_dump(config))

    result = run_snakemake(workdir, "--dry-run", "--quiet", "rules", cores=1)
    assert result.returncode == 0, result.stderr[-3000:]
    # the job-stats table: "<rule> <count>" lines
    jobs = set(re.findall(r"^(\w+)\s+\d+\s*$", result.stdout, flags=re.MULTILINE)) - {"total"}
    assert "learn" in jobs, result.stdout
    assert jobs <= LEARN_SIDE, sorted(jobs - LEARN_SIDE)
