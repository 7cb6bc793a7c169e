"""Offline speech recognition (pocketsphinx, model in its wheel) and its place in the stage."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from psymodal.io.tables import read_tsv
from psymodal.language.asr import SAMPLE_RATE, model_files, recognise
from psymodal.language.paths import asr_transcript, subject_outputs
from psymodal.language.pipeline import process_subject
from psymodal.language.transcripts import find_sources

TESTCLEAN = Path("/work/shared/data/speech/librispeech_testclean")


def test_the_shipped_model_is_found_and_a_bad_model_dir_is_named(tmp_path):
    files = model_files(None)
    assert all(Path(p).exists() for p in files.values())
    with pytest.raises(FileNotFoundError, match="must hold one acoustic-model folder"):
        model_files(str(tmp_path))


def test_digital_silence_gives_no_words():
    transcript = recognise(np.zeros(SAMPLE_RATE))
    assert transcript.source == "asr" and transcript.confidence is None
    assert transcript.words == []


def test_a_recording_without_transcript_is_recognised_and_its_words_kept(tmp_path):
    folder = tmp_path / "sub-01" / "audio"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    sf.write(folder / "sub-01_task-talk_audio.wav", 0.01 * rng.standard_normal(SAMPLE_RATE), 16000)
    out = tmp_path / "out"
    paths = subject_outputs("sub-01", out, None)
    process_subject(
        "sub-01",
        find_sources(tmp_path, "sub-01"),
        paths["features"],
        paths["qc"],
        {"source": "auto"},
        out_dir=out,
        dataset_dir=tmp_path,
    )
    qc = read_tsv(paths["qc"]).iloc[0]
    # one second of noise: no usable words, said in the reason; the recognised words are kept
    assert not qc["included"]
    assert re.search(
        r"sub-01_task-talk_audio\.wav: (no words recognised|low ASR confidence|language not)",
        qc["reason"],
    )
    assert asr_transcript(out, "sub-01", Path("sub-01_task-talk_audio.wav")).is_file()


def _wer(reference: list[str], hypothesis: list[str]) -> float:
    d = np.arange(len(hypothesis) + 1)
    for i, ref in enumerate(reference, start=1):
        prev, d[0] = d.copy(), i
        for j, hyp in enumerate(hypothesis, start=1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (ref != hyp))
    return d[-1] / len(reference)


@pytest.mark.shared
@pytest.mark.skipif(not TESTCLEAN.is_dir(), reason="../shared LibriSpeech clips absent")
def test_a_real_recording_is_recognised_end_to_end(tmp_path):
    """LibriSpeech test-clean through the stage: word error rate, timings, QC row."""
    lines = (TESTCLEAN / "1089-134691.trans.txt").read_text().splitlines()
    reference = dict(line.split(" ", 1) for line in lines)
    utterance = "1089-134691-0000"  # "he could wait no longer", 2 s
    folder = tmp_path / "sub-01" / "audio"
    folder.mkdir(parents=True)
    recording = folder / "sub-01_task-read_audio.flac"
    recording.symlink_to(TESTCLEAN / f"{utterance}.flac")  # read in place, never copied
    out = tmp_path / "out"
    paths = subject_outputs("sub-01", out, None)
    process_subject(
        "sub-01",
        find_sources(tmp_path, "sub-01"),
        paths["features"],
        paths["qc"],
        {"qc": {"min_words": 3}},
        out_dir=out,
        dataset_dir=tmp_path,
    )
    qc = read_tsv(paths["qc"]).iloc[0]
    assert qc["included"] and qc["source"] == "asr" and qc["asr_confidence"] > 0.5
    words = read_tsv(asr_transcript(out, "sub-01", recording))
    assert _wer(reference[utterance].lower().split(), list(words["word"])) <= 0.2
    duration = sf.info(recording).duration
    ends = words["onset"] + words["duration"]
    assert words["onset"].is_monotonic_increasing and ends.max() <= duration + 0.05
    features = read_tsv(paths["features"]).iloc[0]
    assert features["word_count"] == qc["word_count"] == len(words)
