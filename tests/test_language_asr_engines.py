"""language.asr.engine: pocketsphinx or a lab's own faster-whisper model, never a download.

The engine selection and the error paths are tested without faster-whisper. Where the package
is installed, its real code runs on a tiny random-weight model made by the test
(tests/_tiny_whisper.py); a real recognition test runs only where PSYMODAL_WHISPER_MODEL_DIR
names a local CTranslate2 Whisper model folder.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from psymodal.io.tables import read_tsv
from psymodal.language import asr_whisper
from psymodal.language.asr import SAMPLE_RATE, ASRModelError
from psymodal.language.paths import subject_outputs
from psymodal.language.pipeline import process_subject
from psymodal.language.transcripts import Transcript, find_sources
from psymodal.settings import resolve_section

TESTCLEAN = Path("/work/shared/data/speech/librispeech_testclean")


def _recording(root, seconds=1.0):
    folder = root / "sub-01" / "audio"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    path = folder / "sub-01_task-talk_audio.wav"
    sf.write(path, 0.1 * rng.standard_normal(int(seconds * SAMPLE_RATE)), SAMPLE_RATE)
    return path


def _run(root, asr, min_words=3):
    paths = subject_outputs("sub-01", root / "out", None)
    process_subject(
        "sub-01",
        find_sources(root, "sub-01"),
        paths["features"],
        paths["qc"],
        {"asr": asr, "qc": {"min_words": min_words, "min_english_fraction": None}},
        out_dir=root / "out",
        dataset_dir=root,
    )
    return read_tsv(paths["qc"]).iloc[0]


def _fake_model_dir(root):
    folder = root / "whisper-ct2"
    folder.mkdir()
    for name in (*asr_whisper.MODEL_FILES, "vocabulary.json"):
        (folder / name).write_text("{}")
    return folder


def test_engine_is_a_checked_setting():
    assert resolve_section("language", None)["asr"]["engine"] == "pocketsphinx"
    with pytest.raises(Exception, match="engine"):
        resolve_section("language", {"asr": {"engine": "whisper"}})


@pytest.mark.parametrize(
    ("model_dir", "message"),
    [
        (None, "faster_whisper needs language.asr.model_dir"),
        ("absent", "is not a folder"),
        ("empty", "model.bin, config.json, tokenizer.json, vocabulary.* missing"),
    ],
)
def test_a_missing_whisper_model_stops_the_run_with_a_clear_error(tmp_path, model_dir, message):
    _recording(tmp_path)
    (tmp_path / "empty").mkdir()
    folder = None if model_dir is None else str(tmp_path / model_dir)
    with pytest.raises(ASRModelError, match=message):
        _run(tmp_path, {"engine": "faster_whisper", "model_dir": folder})
    assert not (tmp_path / "out").exists()  # nothing written: not a subject's QC reason


def test_a_bad_pocketsphinx_model_dir_stops_the_run_too(tmp_path):
    _recording(tmp_path)
    with pytest.raises(ASRModelError, match="must hold one acoustic-model folder"):
        _run(tmp_path, {"model_dir": str(tmp_path)})


def test_without_faster_whisper_installed_the_error_says_how_to_install(tmp_path, monkeypatch):
    folder = _fake_model_dir(tmp_path)
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # import fails as if absent
    asr_whisper._model.cache_clear()
    with pytest.raises(ASRModelError, match=r"pip install 'psymodal\[whisper\]'"):
        asr_whisper.recognise(np.zeros(SAMPLE_RATE), str(folder))
    asr_whisper._model.cache_clear()


def test_the_faster_whisper_engine_is_the_one_used(tmp_path, monkeypatch):
    folder = _fake_model_dir(tmp_path)
    _recording(tmp_path, seconds=2.0)
    calls = []

    def fake(audio, model_dir):
        calls.append((len(audio), model_dir))
        words = "the farmer planted wheat in the field".split()
        onsets = 0.25 * np.arange(len(words))
        return Transcript(words, np.zeros(len(words), int), onsets, onsets + 0.2, 0.9, "asr")

    monkeypatch.setattr(asr_whisper, "recognise", fake)
    qc = _run(tmp_path, {"engine": "faster_whisper", "model_dir": str(folder)})
    assert calls == [(2 * SAMPLE_RATE, str(folder))]
    assert qc["included"] and qc["source"] == "asr" and qc["asr_confidence"] == 0.9
    assert qc["word_count"] == 7


def test_faster_whisper_runs_offline_on_a_tiny_random_model(tmp_path):
    """faster-whisper's real loading and decoding (word timestamps) from a local folder, and
    the stage's QC on what a random model recognises; skipped without faster-whisper."""
    pytest.importorskip("faster_whisper")
    from _tiny_whisper import make_tiny_whisper
    from psymodal.language.asr import recognise_file

    folder = make_tiny_whisper(tmp_path / "tiny-ct2")
    recording = _recording(tmp_path, seconds=2.0)
    asr_whisper._model.cache_clear()
    first = recognise_file(recording, str(folder), engine="faster_whisper")
    again = recognise_file(recording, str(folder), engine="faster_whisper")
    assert first.source == "asr" and first.words == again.words  # deterministic
    assert np.array_equal(first.onsets, again.onsets)
    assert np.all(first.offsets >= first.onsets) and np.all(first.offsets <= 2.0 + 0.05)
    qc = _run(tmp_path, {"engine": "faster_whisper", "model_dir": str(folder)})
    assert not qc["included"]  # random weights: no usable words, said in the reason
    assert "sub-01_task-talk_audio.wav: " in qc["reason"]
    asr_whisper._model.cache_clear()


@pytest.mark.shared
@pytest.mark.skipif(
    not os.environ.get("PSYMODAL_WHISPER_MODEL_DIR"),
    reason="no local Whisper model (set PSYMODAL_WHISPER_MODEL_DIR to a CTranslate2 folder)",
)
@pytest.mark.skipif(not TESTCLEAN.is_dir(), reason="../shared LibriSpeech clips absent")
def test_a_real_whisper_decode(tmp_path):
    pytest.importorskip("faster_whisper")
    from psymodal.language.asr import recognise_file

    transcript = recognise_file(
        TESTCLEAN / "1089-134691-0000.flac",
        os.environ["PSYMODAL_WHISPER_MODEL_DIR"],
        engine="faster_whisper",
    )
    assert transcript.words == "he could wait no longer".split(), json.dumps(transcript.words)
    assert np.all(np.diff(transcript.onsets) >= 0) and 0 < transcript.confidence <= 1
