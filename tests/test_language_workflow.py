"""The language stage in the study plan, the command line builder and the CLI."""

from __future__ import annotations

import json

import pandas as pd

from psymodal.cli import main
from psymodal.io.tables import read_tsv, write_tsv
from psymodal.workflow.commands import language_command
from psymodal.workflow.plan import StudyPlan


def _study(root, transcripts=True):
    write_tsv(
        pd.DataFrame({"participant_id": ["sub-01", "sub-02"], "diagnosis": ["patient", "control"]}),
        root / "participants.tsv",
    )
    for sub in ("sub-01", "sub-02"):
        folder = root / sub / "audio"
        folder.mkdir(parents=True)
        (folder / f"{sub}_task-reading_audio.wav").write_bytes(b"RIFF")
        if transcripts:
            text = " ".join(["the farmer planted wheat and barley in the field"] * 8)
            (folder / f"{sub}_task-interview_transcript.txt").write_text(text)
    return {
        "dataset": {"source": "bids", "bids_dir": str(root), "fmriprep_dir": None},
        "results_dir": str(root / "derivatives" / "psymodal"),
        "mri": {"enabled": False},
        "speech": {"enabled": True, "task": "reading"},
        "language": {"enabled": True, "task": "interview"},
        "learn": {},
    }


def test_plan_learns_from_the_language_stage_and_tracks_transcripts(tmp_path):
    plan = StudyPlan(_study(tmp_path))
    assert plan.modalities == ["speech", "language"] and plan.stages == ["speech", "language"]
    assert plan.stage_dir("language").name.startswith("language-")
    assert plan.batch_table("language", 0, "qc").name == "language_batch-0_qc.tsv"
    inputs = [p.name for p in plan.subject_inputs(["sub-01"], "language")]
    assert "sub-01_task-interview_transcript.txt" in inputs
    assert "sub-01_task-reading_audio.wav" not in inputs  # another task


def test_a_dataset_without_transcripts_or_recordings_of_the_task_skips_the_stage(tmp_path):
    plan = StudyPlan(_study(tmp_path, transcripts=False))
    assert plan.modalities == ["speech"]
    assert (
        "language is enabled but the dataset holds no transcript"
        in (plan.skipped_stages["language"])
    )


def test_the_command_line_runs_a_batch(tmp_path):
    config = _study(tmp_path)
    plan = StudyPlan(config)
    out = plan.stage_dir("language")
    command = language_command(
        plan.config, ["sub-01", "sub-02"], tmp_path, out, batch=0, batch_dir=out / "batches"
    )
    assert command[:3] == ["language", "--subjects", "sub-01"]
    assert json.loads(command[-1]) == plan.config["language"]
    assert main(command) == 0
    qc = read_tsv(out / "batches" / "language_batch-0_qc.tsv")
    assert list(qc["included"]) == [True, True] and list(qc["word_count"]) == [72, 72]
