"""Optional offline speech recognition with a lab's own Whisper model (faster-whisper).

``language.asr.engine: faster_whisper`` recognises recordings with faster-whisper 1.2
(CTranslate2; MIT licence; the ``whisper`` extra: ``pip install 'psymodal[whisper]'``) from a
CTranslate2 Whisper model folder the lab already has (``language.asr.model_dir``: ``model.bin``,
``config.json``, ``tokenizer.json`` and a vocabulary, as written by CTranslate2's
``ct2-transformers-converter``). Nothing is ever downloaded: the folder is opened with
``local_files_only``, and a missing or incomplete folder is a settings error
(:class:`psymodal.language.asr.ASRModelError`) that stops the run (without its
``tokenizer.json``, faster-whisper would fetch one from the Hugging Face Hub).

Decoding is a beam search (beam 5) at temperature 0 only (faster-whisper's fallback to
sampling at higher temperatures is off, so the words are deterministic), English, on the CPU
with int8 weights, one thread, no voice-activity filter, each 30 s window decoded without the
previous window's text, with word timestamps (Whisper's cross-attention alignment);
each word's probability is its confidence. Punctuation is stripped and each Whisper word split
into the stage's tokens (:func:`psymodal.language.lexicon.tokens`), which share its timing.

Reference
---------
Radford, A., Kim, J. W., Xu, T., Brockman, G., McLeavey, C., & Sutskever, I. (2023). Robust
speech recognition via large-scale weak supervision. ICML 2023, 28492-28518.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .lexicon import tokens
from .transcripts import Transcript

__all__ = ["MODEL_FILES", "check_model_dir", "recognise"]

#: Files a CTranslate2 Whisper model folder must hold (besides a vocabulary file).
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")


def check_model_dir(model_dir: str | None) -> Path:
    """The model folder, checked; :class:`~psymodal.language.asr.ASRModelError` says what is
    missing (nothing is downloaded in its place)."""
    from .asr import ASRModelError

    if model_dir is None:
        raise ASRModelError(
            "language.asr.engine faster_whisper needs language.asr.model_dir: a local "
            "CTranslate2 Whisper model folder (nothing is downloaded)"
        )
    folder = Path(model_dir)
    if not folder.is_dir():
        raise ASRModelError(
            f"language.asr.model_dir {folder} is not a folder: faster_whisper needs a local "
            "CTranslate2 Whisper model folder (nothing is downloaded)"
        )
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    missing += [] if any(folder.glob("vocabulary.*")) else ["vocabulary.*"]
    if missing:
        raise ASRModelError(
            f"language.asr.model_dir {folder} is not a CTranslate2 Whisper model folder: "
            f"{', '.join(missing)} missing (convert a Whisper model with "
            "ct2-transformers-converter; nothing is downloaded)"
        )
    return folder


@functools.lru_cache(maxsize=1)
def _model(model_dir: str):
    from .asr import ASRModelError

    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise ASRModelError(
            "language.asr.engine faster_whisper needs the faster-whisper package: "
            "pip install 'psymodal[whisper]'"
        ) from None
    return WhisperModel(
        str(check_model_dir(model_dir)),
        device="cpu",
        compute_type="int8",
        cpu_threads=1,
        num_workers=1,
        local_files_only=True,
    )


def recognise(audio: np.ndarray, model_dir: str | None) -> Transcript:
    """Recognise the words of a 16 kHz mono recording with a local Whisper model.

    Returns
    -------
    Transcript
        Words with onsets and offsets (s), one utterance per Whisper segment, ``confidence`` =
        mean word probability, ``source="asr"``.
    """
    folder = check_model_dir(model_dir)
    segments, _ = _model(str(folder)).transcribe(
        np.asarray(audio, dtype=np.float32),
        language="en",
        beam_size=5,
        temperature=0.0,
        word_timestamps=True,
        vad_filter=False,
        condition_on_previous_text=False,
    )
    words, onsets, offsets, probs, utterances = [], [], [], [], []
    for k, segment in enumerate(segments):
        for word in segment.words or []:
            for token in tokens(word.word):
                words.append(token)
                onsets.append(float(word.start))
                offsets.append(float(word.end))
                probs.append(float(word.probability))
                utterances.append(k)
    return Transcript(
        words,
        np.asarray(utterances, dtype=int),
        np.asarray(onsets, dtype=float),
        np.asarray(offsets, dtype=float),
        float(np.mean(probs)) if probs else None,
        source="asr",
    )
