"""Language stage inputs: transcript files next to the recordings, and bad transcripts in QC."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from psymodal.io.tables import read_tsv, write_tsv
from psymodal.language.paths import subject_outputs
from psymodal.language.pipeline import process_subject
from psymodal.language.transcripts import (
    TranscriptError,
    find_sources,
    read_transcript,
)

WORDS = (
    "the farmer planted wheat in the field and the rain helped the crops grow tall "
    "at harvest the farmer cut the wheat and stored the grain in the barn "
).split()


def _timed(words, start=0.0, step=0.4, speaker=None):
    rows = {"onset": start + step * np.arange(len(words)), "duration": 0.3, "word": words}
    if speaker is not None:
        rows["speaker"] = speaker
    return pd.DataFrame(rows)


def _audio_dir(root, sub="sub-01"):
    folder = root / sub / "audio"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_tsv_drops_the_interviewer_and_splits_utterances_at_pauses_and_turns(tmp_path):
    table = pd.concat(
        [
            _timed(["how", "are", "you"], 0.0, speaker="Interviewer"),
            _timed(["i", "am", "fine"], 2.0, speaker="participant"),
            _timed(["um", "thanks"], 4.0, speaker="participant"),  # 0.8 s pause: new utterance
            _timed(["good"], 6.0, speaker="INTERVIEWER"),
            _timed(["yes"], 7.0, speaker="participant"),  # after a turn: new utterance
        ]
    )
    path = tmp_path / "t.tsv"
    write_tsv(table, path)
    transcript = read_transcript(path, ["interviewer"], utterance_pause_s=0.5)
    assert transcript.words == ["i", "am", "fine", "um", "thanks", "yes"]
    assert list(transcript.utterances) == [0, 0, 0, 1, 1, 2]
    assert transcript.onsets[0] == pytest.approx(2.0) and transcript.excluded_words == 4


def test_text_transcript_with_speaker_prefixes_and_sentences(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(
        "Interviewer: Tell me about your day.\nParticipant: I went out. We ate soup!\n"
        "It was good\nINT: And then?\nP: Nothing.\n",
        encoding="utf-8",
    )
    transcript = read_transcript(path, ["interviewer", "int"])
    assert transcript.words == "i went out we ate soup it was good nothing".split()
    assert list(transcript.utterances) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]
    assert not transcript.timed


def test_find_sources_pairs_transcripts_with_recordings(tmp_path):
    folder = _audio_dir(tmp_path)
    for name in (
        "sub-01_task-interview_transcript.txt",
        "sub-01_task-interview_transcript.tsv",
        "sub-01_task-interview_audio.wav",
        "sub-01_task-reading_audio.wav",
        "sub-01_task-story_run-2_transcript.txt",
        "sub-02_task-interview_transcript.tsv",  # another subject's name
    ):
        (folder / name).write_text("x")
    sources = find_sources(tmp_path, "sub-01")
    assert [(s.stem, bool(s.transcript), bool(s.audio)) for s in sources] == [
        ("sub-01_task-interview", True, True),
        ("sub-01_task-reading", False, True),
        ("sub-01_task-story_run-2", True, False),
    ]
    assert sources[0].transcript.name.endswith(".tsv")  # TSV preferred to text
    assert [s.stem for s in find_sources(tmp_path, "01", "reading")] == ["sub-01_task-reading"]


BAD = {
    "empty": (b"", "empty transcript"),
    "header only": (b"onset\tduration\tword\n", "header without rows"),
    "latin-1": ("onset\tduration\tword\n0\t0.3\tcaf\u00e9\n".encode("latin-1"), "not UTF-8"),
    "unsorted": (b"onset\tduration\tword\n1.0\t0.3\ta\n0.5\t0.3\tb\n", "onsets not sorted"),
    "outside": (b"onset\tduration\tword\n1.0\t0.3\ta\n9.0\t0.3\tb\n", "outside the recording"),
    "missing column": (b"onset\tword\n1.0\ta\n", "missing column(s) duration"),
    "not a number": (b"onset\tduration\tword\nsoon\t0.3\ta\n", "onset 'soon' is not a number"),
    "interviewer only": (
        b"onset\tduration\tword\tspeaker\n0\t0.3\thello\tinterviewer\n",
        "no participant words",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_transcripts_raise_a_clear_reason(tmp_path, case):
    data, message = BAD[case]
    path = tmp_path / "sub-01_task-x_transcript.tsv"
    path.write_bytes(data)
    # the recording's length from its sidecar (no audio file needed)
    (tmp_path / "sub-01_task-x_audio.json").write_text(json.dumps({"RecordingDuration": 5.0}))
    from psymodal.language.transcripts import recording_duration

    duration = recording_duration(None, path)
    assert duration == 5.0
    with pytest.raises(TranscriptError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_transcript(path, ["interviewer"], duration_s=duration)


def test_a_bad_transcript_excludes_its_subject_with_the_reason_and_the_run_goes_on(tmp_path):
    good = _timed(WORDS * 3)
    write_tsv(good, _audio_dir(tmp_path, "sub-01") / "sub-01_task-talk_transcript.tsv")
    bad = _audio_dir(tmp_path, "sub-02") / "sub-02_task-talk_transcript.tsv"
    bad.write_bytes("onset\tduration\tword\n0\t0.3\tna\u00efve\n".encode("latin-1"))
    short = _audio_dir(tmp_path, "sub-03") / "sub-03_task-talk_transcript.txt"
    short.write_text("I went home.")
    out = tmp_path / "out"
    rows = {}
    for sub in ("sub-01", "sub-02", "sub-03", "sub-04"):
        paths = subject_outputs(sub, out, "talk")
        process_subject(
            sub,
            find_sources(tmp_path, sub, "talk"),
            paths["features"],
            paths["qc"],
            {"task": "talk", "source": "transcript"},
            out_dir=out,
            dataset_dir=tmp_path,
        )
        rows[sub] = read_tsv(paths["qc"]).iloc[0]
    assert rows["sub-01"]["included"] and rows["sub-01"]["word_count"] == 3 * len(WORDS)
    assert not rows["sub-02"]["included"]
    reason = rows["sub-02"]["reason"]
    assert "sub-02/audio/sub-02_task-talk_transcript.tsv: not UTF-8" in reason
    assert str(tmp_path) not in reason  # never an absolute path
    assert "too few words (3 < qc.min_words 50)" in rows["sub-03"]["reason"]
    assert "no transcripts or recordings found" in rows["sub-04"]["reason"]
    features = read_tsv(subject_outputs("sub-02", out, "talk")["features"])
    assert features.drop(columns="participant_id").isna().all(axis=None)


def test_language_source_transcript_never_recognises_a_recording(tmp_path):
    (_audio_dir(tmp_path) / "sub-01_task-talk_audio.wav").write_bytes(b"RIFF")
    paths = subject_outputs("sub-01", tmp_path / "out", None)
    process_subject(
        "sub-01",
        find_sources(tmp_path, "sub-01"),
        paths["features"],
        paths["qc"],
        {"source": "transcript"},
        dataset_dir=tmp_path,
    )
    qc = read_tsv(paths["qc"]).iloc[0]
    assert not qc["included"]
    assert "sub-01/audio/sub-01_task-talk_audio.wav: no transcript" in qc["reason"]
