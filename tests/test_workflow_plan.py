import pandas as pd
import pytest

from psymodal.tables import write_tsv
from psymodal.workflow_plan import StudyPlan, subject_outputs


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


def test_plan_reads_participants_and_batches(tmp_path):
    ids = [f"sub-{i:02d}" for i in range(1, 24)]
    write_tsv(
        pd.DataFrame({"participant_id": ids, "diagnosis": "control"}), tmp_path / "participants.tsv"
    )
    plan = StudyPlan(bids_config(tmp_path, batch_size=10))
    assert plan.subjects == ids
    assert [len(b) for b in plan.batches()] == [10, 10, 3]
    assert plan.fmriprep_dir == tmp_path / "derivatives" / "fmriprep"
    out = plan.mri_outputs("sub-01")
    assert (
        out["features"].name == "sub-01_task-rest_atlas-dosenbach160_desc-correlation_features.tsv"
    )
    assert plan.speech_outputs("sub-01")["qc"].parent.name == "audio"


def test_plan_lists_subject_files_so_edits_trigger_reruns(tmp_path):
    write_tsv(pd.DataFrame({"participant_id": ["sub-01"]}), tmp_path / "participants.tsv")
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


def test_subject_outputs_rejects_unknown_modality(tmp_path):
    with pytest.raises(ValueError, match="modality"):
        subject_outputs("eeg", "sub-01", tmp_path, {})
