"""``psymodal import-audio``: a folder of recordings plus a label table becomes the BIDS dataset
of a speech-only study."""

from __future__ import annotations

import wave

import pytest

from psymodal.cli import main
from psymodal.workflow.participants import read_table
from psymodal.workflow.plan import StudyPlan


def _wav(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(b"\0\0" * 160)


def _recordings(root):
    for name in ("a.wav", "b.wav", "visit2/a2.WAV", "c.flac"):
        _wav(root / name)
    table = root.parent / "labels.csv"
    table.write_text(
        "file,participant_id,diagnosis,age\n"
        "a.wav,P-001,patient,31\nb.wav,P-002,control,29\nvisit2/a2.WAV,P-001,patient,31\n"
        "c.flac,P-003,control,40\n"
    )
    return table


def test_recordings_and_labels_become_a_speech_only_study(tmp_path):
    table = _recordings(tmp_path / "recordings")
    out = tmp_path / "bids"
    assert main(["import-audio", str(tmp_path / "recordings"), str(table), str(out)]) == 0
    audio = sorted(p.relative_to(out).as_posix() for p in out.glob("sub-*/audio/*"))
    assert audio == [
        "sub-P001/audio/sub-P001_task-speech_run-1_audio.wav",
        "sub-P001/audio/sub-P001_task-speech_run-2_audio.wav",
        "sub-P002/audio/sub-P002_task-speech_audio.wav",
        "sub-P003/audio/sub-P003_task-speech_audio.flac",
    ]
    columns, rows = read_table(out / "participants.tsv")
    assert columns == ["participant_id", "diagnosis", "age"]
    assert [r["participant_id"] for r in rows] == ["sub-P001", "sub-P002", "sub-P003"]
    plan = StudyPlan(
        {
            "dataset": {"source": "bids", "bids_dir": str(out)},
            "results_dir": str(tmp_path / "results"),
            "learn": {"confounds": ["age"]},
        }
    )
    assert plan.stages == ["speech"] and len(plan.subject_inputs(plan.subjects, "speech")) == 5


def test_missing_recordings_and_colliding_ids_are_refused(tmp_path):
    table = _recordings(tmp_path / "recordings")
    table.write_text(table.read_text() + "gone.wav,P-004,control,30\n../x.wav,P-005,control,1\n")
    with pytest.raises(ValueError, match=r"gone.wav is not .*\.\./x.wav is outside"):
        _import(tmp_path, table)
    table.write_text("file,participant_id,diagnosis\na.wav,P-001,patient\nb.wav,P001,control\n")
    with pytest.raises(ValueError, match="both give sub-P001"):
        _import(tmp_path, table)


def _import(tmp_path, table):
    from psymodal.speech.import_audio import import_audio

    return import_audio(tmp_path / "recordings", table, tmp_path / "bids")
