"""Each kind of bad transcript reaches its subject's QC row with a clear reason (the stage goes
on instead of failing)."""

from __future__ import annotations

import json

import pytest

from psymodal.io.tables import read_tsv
from psymodal.language.paths import subject_outputs
from psymodal.language.pipeline import process_subject
from psymodal.language.transcripts import find_sources

HEADER = b"onset\tduration\tword\n"
BAD = {
    "empty": (b"", "empty transcript"),
    "wrong encoding": (HEADER + "0\t0.3\tcaf\u00e9\n".encode("latin-1"), "not UTF-8"),
    "unsorted onsets": (HEADER + b"1.0\t0.3\ta\n0.5\t0.3\tb\n", "onsets not sorted"),
    "words outside the recording": (
        HEADER + b"1.0\t0.3\ta\n9.0\t0.3\tb\n",
        "outside the recording",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_transcript_is_the_subjects_qc_reason(tmp_path, case):
    data, message = BAD[case]
    folder = tmp_path / "sub-01" / "audio"
    folder.mkdir(parents=True)
    (folder / "sub-01_task-talk_transcript.tsv").write_bytes(data)
    # the recording's length from its sidecar (5 s): no audio file needed
    (folder / "sub-01_task-talk_audio.json").write_text(json.dumps({"RecordingDuration": 5.0}))
    paths = subject_outputs("sub-01", tmp_path / "out", "talk")
    process_subject(
        "sub-01",
        find_sources(tmp_path, "sub-01", "talk"),
        paths["features"],
        paths["qc"],
        {"task": "talk", "source": "transcript"},
        dataset_dir=tmp_path,
    )
    qc = read_tsv(paths["qc"]).iloc[0]
    assert not qc["included"]
    assert qc["reason"].startswith(
        "no usable transcript: sub-01/audio/sub-01_task-talk_transcript.tsv: "
    )
    assert message in qc["reason"]
    features = read_tsv(paths["features"])
    assert features.drop(columns="participant_id").isna().all(axis=None)
