from pathlib import Path

import pandas as pd
import pytest

from psymodal.io.tables import write_tsv
from psymodal.workflow.plan import StudyPlan


def bids_config(bids_dir, **extra):
    config = {
        "dataset": {"source": "bids", "bids_dir": str(bids_dir), "fmriprep_dir": None},
        "results_dir": str(bids_dir / "derivatives" / "psymodal"),
        "mri": {"enabled": True, "task": "rest", "atlas": {"name": "dosenbach160"}},
        "speech": {"enabled": True, "task": "reading"},
        "learn": {},
    }
    config.update(extra)
    return config


def write_two_subjects(path):
    """A participants table the plan accepts: BIDS ids and both classes."""
    table = pd.DataFrame(
        {"participant_id": ["sub-01", "sub-02"], "diagnosis": ["patient", "control"]}
    )
    write_tsv(table, path)


def test_plan_reads_participants_and_batches(tmp_path):
    ids = [f"sub-{i:02d}" for i in range(1, 24)]
    write_tsv(
        pd.DataFrame(
            {"participant_id": ids, "diagnosis": ["patient", "control"] * 11 + ["control"]}
        ),
        tmp_path / "participants.tsv",
    )
    plan = StudyPlan(bids_config(tmp_path, batch_size=10))
    assert plan.subjects == ids
    assert [len(b) for b in plan.batches()] == [10, 10, 3]
    assert plan.fmriprep_dir == tmp_path / "derivatives" / "fmriprep"
    assert plan.modalities == ["mri", "anat", "speech"]
    assert plan.group_table("anat", "qc").parent.parent == plan.stage_dir("mri")
    assert plan.batch_table("speech", 2, "features").name == "speech_batch-2_features.tsv"


def test_plan_lists_subject_files_so_edits_trigger_reruns(tmp_path):
    write_two_subjects(tmp_path / "participants.tsv")
    audio = tmp_path / "sub-01" / "audio" / "sub-01_task-reading_audio.wav"
    audio.parent.mkdir(parents=True)
    audio.write_bytes(b"")
    plan = StudyPlan(bids_config(tmp_path))
    assert audio in plan.subject_inputs(["sub-01"], "speech")


@pytest.mark.parametrize(
    "content, message",
    [
        ("participant_id\tdiagnosis\n01\tcontrol\n", "sub-<label>"),
        ("subject\tdiagnosis\nsub-01\tcontrol\n", "participant_id"),
        ("participant_id\nsub-01\nsub-01\n", "duplicated"),
    ],
)
def test_bad_participants_table_is_a_clear_error(tmp_path, content, message):
    (tmp_path / "participants.tsv").write_text(content)
    with pytest.raises(ValueError, match=message):
        StudyPlan(bids_config(tmp_path))


def test_missing_participants_table(tmp_path):
    with pytest.raises(FileNotFoundError, match="participants.tsv"):
        StudyPlan(bids_config(tmp_path))


def test_stage_folders_are_keyed_by_settings_and_runs_by_config(tmp_path):
    write_two_subjects(tmp_path / "participants.tsv")
    base = StudyPlan(bids_config(tmp_path))
    other = bids_config(tmp_path)
    other["learn"] = {"cv": {"seed": 3}}
    changed = StudyPlan(other)
    assert changed.stage_dir("mri") == base.stage_dir("mri")
    assert changed.run_dir != base.run_dir
    other["mri"] = {**other["mri"], "connectivity": "covariance"}
    assert StudyPlan(other).stage_dir("mri") != base.stage_dir("mri")


def test_reusing_a_run_label_with_another_config_is_refused(tmp_path):
    write_two_subjects(tmp_path / "participants.tsv")
    first = StudyPlan(bids_config(tmp_path, run_label="mine"))
    first.write_run_config()
    first.check_run_is_not_overwritten()
    second = bids_config(tmp_path, run_label="mine")
    second["learn"] = {"cv": {"seed": 3}}
    # an unfinished run (no manifest: it failed or was interrupted) does not hold its label
    StudyPlan(second).check_run_is_not_overwritten()
    (first.run_dir / "provenance" / "manifest.json").write_text("{}")
    with pytest.raises(ValueError, match="another config"):
        StudyPlan(second).check_run_is_not_overwritten()


def test_timeseries_source_reads_abide_phenotypes(tmp_path):
    functional = tmp_path / "Functional"
    functional.mkdir()
    (functional / "50003.mat").write_bytes(b"")
    (functional / "50005.mat").write_bytes(b"")
    pd.DataFrame(
        {
            "SUB_ID": [50003, 50004, 50005],
            "DX_GROUP": [1, 0, 0],
            "AGE_AT_SCAN": [20.0, 22.0, 21.0],
            "SEX": [1, 2, 1],
            "SITE_ID": ["PITT", "PITT", "PITT"],
        }
    ).to_csv(tmp_path / "phenotypic.csv", index=False)
    config = bids_config(tmp_path)
    config["dataset"] = {
        "source": "timeseries",
        "bids_dir": str(tmp_path),
        "participants": str(tmp_path / "phenotypic.csv"),
        "participants_format": "abide",
        "timeseries_dir": str(functional),
        "timeseries_pattern": "{label}.mat",
    }
    plan = StudyPlan(config)
    assert plan.subjects == ["sub-50003", "sub-50005"]  # 50004 has no file
    assert plan.modalities == ["mri", "speech"]
    assert functional / "50003.mat" in plan.subject_inputs(["sub-50003"], "mri")


def test_slurm_profile_groups_every_group_level_rule():
    """A group-level rule left out of the SLURM group splits it, which Snakemake refuses."""
    import re

    import yaml

    repo = Path(__file__).resolve().parents[1]
    profile = yaml.safe_load((repo / "profiles" / "slurm" / "config.yaml").read_text())
    grouped = {entry.split("=")[0] for entry in profile["groups"]}
    rules = set()
    for name in ("group", "learn", "provenance"):
        text = (repo / "workflow" / "rules" / f"{name}.smk").read_text()
        rules |= set(re.findall(r"^\s*rule (\w+):", text, flags=re.MULTILINE))
    assert rules and rules <= grouped, sorted(rules - grouped)
