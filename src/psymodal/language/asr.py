"""Offline speech recognition, for recordings without a transcript.

``language.asr.engine`` chooses the recogniser: ``pocketsphinx`` (the default, below) or
``faster_whisper`` (a lab's own Whisper model folder; :mod:`psymodal.language.asr_whisper`).
A recogniser that cannot be used as configured (a model folder missing or incomplete, the
optional package absent) raises :class:`ASRModelError`: a settings problem, so it stops the
run instead of becoming every subject's QC reason.

pocketsphinx 5.1.1 (BSD licence) ships a US English acoustic model, a trigram language model
and the CMU pronouncing dictionary in its wheel; a lab's own model folder can replace them
(``language.asr.model_dir``). Nothing is downloaded. Each recognised word comes with its
start and end time (10 ms frames) and its posterior probability, whose mean is the
recording's ASR confidence.

Recognised words carry no speaker: every word of the recording counts as the participant's
(there is no diarisation). Interviews with an interviewer need a transcript with a speaker
column, or the participant's channel alone.

Recordings longer than ``max_segment_s`` are cut at pauses by pocketsphinx's voice-activity
endpointer and recognised segment by segment (one long utterance degrades the search).

Reference
---------
Huggins-Daines, D., Kumar, M., Chan, A., Black, A. W., Ravishankar, M., & Rudnicky, A. I.
(2006). PocketSphinx: a free, real-time continuous speech recognition system for hand-held
devices. ICASSP 2006.
"""

from __future__ import annotations

import functools
import io
import re
from pathlib import Path

import numpy as np

from .transcripts import Transcript

__all__ = ["ENGINES", "SAMPLE_RATE", "ASRModelError", "model_files", "recognise", "recognise_file"]

#: The values of ``language.asr.engine``.
ENGINES = ("pocketsphinx", "faster_whisper")

#: The rate pocketsphinx's models expect (Hz).
SAMPLE_RATE = 16000
#: Peak level under which a recording is silent (-80 dBFS): nothing to recognise.
_SILENT = 1e-4
_ALTERNATIVE = re.compile(r"\(\d+\)$")  # ``the(2)``: the second pronunciation of ``the``


class ASRModelError(ValueError):
    """The configured recogniser cannot be used (its model or package is missing)."""


def model_files(model_dir: str | None) -> dict[str, str]:
    """``hmm``, ``lm`` and ``dict`` paths of a pocketsphinx model folder (None: the shipped
    US English model)."""
    if model_dir is None:
        from pocketsphinx import get_model_path

        base = Path(get_model_path()) / "en-us"
        return {
            "hmm": str(base / "en-us"),
            "lm": str(base / "en-us.lm.bin"),
            "dict": str(base / "cmudict-en-us.dict"),
        }
    folder = Path(model_dir)
    hmm = sorted(p.parent for p in folder.rglob("mdef"))
    lm = sorted(folder.rglob("*.lm.bin")) or sorted(folder.rglob("*.lm"))
    dic = sorted(folder.rglob("*.dict")) or sorted(folder.rglob("*.dic"))
    if len(hmm) != 1 or len(lm) != 1 or len(dic) != 1:
        raise FileNotFoundError(
            f"language.asr.model_dir {folder} must hold one acoustic-model folder (with mdef), "
            f"one language model (*.lm.bin or *.lm) and one dictionary (*.dict); found "
            f"{len(hmm)}, {len(lm)} and {len(dic)}"
        )
    return {"hmm": str(hmm[0]), "lm": str(lm[0]), "dict": str(dic[0])}


@functools.lru_cache(maxsize=2)
def _decoder(model_dir: str | None):
    from pocketsphinx import Decoder

    return Decoder(loglevel="FATAL", samprate=SAMPLE_RATE, **model_files(model_dir))


def _segments(pcm: bytes, max_segment_s: float) -> list[tuple[float, bytes]]:
    """(start time, PCM) of the stretches to recognise: the whole recording when short."""
    if len(pcm) / 2 / SAMPLE_RATE <= max_segment_s:
        return [(0.0, pcm)]
    from pocketsphinx import Segmenter

    segmenter = Segmenter(sample_rate=SAMPLE_RATE)
    found = [(seg.start_time, seg.pcm) for seg in segmenter.segment(io.BytesIO(pcm))]
    return found or [(0.0, pcm)]


def recognise(
    audio: np.ndarray, model_dir: str | None = None, max_segment_s: float = 30.0
) -> Transcript:
    """Recognise the words of a 16 kHz mono recording.

    Parameters
    ----------
    audio : numpy.ndarray
        Samples in [-1, 1] at :data:`SAMPLE_RATE`.
    model_dir : str, optional
        A pocketsphinx model folder (:func:`model_files`); the shipped English model by default.
    max_segment_s : float
        Longer recordings are cut at pauses and recognised segment by segment.

    Returns
    -------
    Transcript
        Words with onsets and offsets (s), one utterance per recognised segment stretch
        (pocketsphinx's silences of 0.5 s or more also end an utterance in the stage),
        ``confidence`` = mean word posterior, ``source="asr"``. No words: an empty transcript.
    """
    audio = np.asarray(audio, dtype=np.float64)
    if not audio.size or np.max(np.abs(audio)) < _SILENT:
        # pocketsphinx always returns its best path, even for digital silence
        return Transcript([], np.zeros(0, dtype=int), np.zeros(0), np.zeros(0), None, "asr")
    decoder = _decoder(model_dir)
    frame_s = 1.0 / float(decoder.config["frate"])
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    words, onsets, offsets, probs, utterances = [], [], [], [], []
    for k, (start, chunk) in enumerate(_segments(pcm, max_segment_s)):
        decoder.start_utt()
        decoder.process_raw(chunk, full_utt=True)
        decoder.end_utt()
        for seg in decoder.seg():
            word = _ALTERNATIVE.sub("", seg.word)
            if word.startswith(("<", "[", "+")):  # <s>, </s>, <sil>, [NOISE], ++FILLER++
                continue
            words.append(word.lower())
            onsets.append(start + seg.start_frame * frame_s)
            offsets.append(start + (seg.end_frame + 1) * frame_s)
            probs.append(min(1.0, max(0.0, float(seg.prob))))
            utterances.append(k)
    return Transcript(
        words,
        np.asarray(utterances, dtype=int),
        np.asarray(onsets, dtype=float),
        np.asarray(offsets, dtype=float),
        float(np.mean(probs)) if probs else None,
        source="asr",
    )


def _check_engine(engine: str, model_dir: str | None) -> None:
    """Raise :class:`ASRModelError` when the recogniser's model cannot be found."""
    if engine == "faster_whisper":
        from .asr_whisper import check_model_dir

        check_model_dir(model_dir)
    elif engine == "pocketsphinx":
        try:
            model_files(model_dir)
        except FileNotFoundError as err:
            raise ASRModelError(str(err)) from None
    else:
        raise ASRModelError(f"language.asr.engine {engine!r} is not one of {', '.join(ENGINES)}")


def recognise_file(
    path,
    model_dir: str | None = None,
    max_segment_s: float = 30.0,
    engine: str = "pocketsphinx",
):
    """Read a recording (channels averaged; resampled to 16 kHz when needed) and recognise it
    with ``engine`` (``pocketsphinx`` or ``faster_whisper``; see the module notes).

    Raises
    ------
    ASRModelError
        The engine's model folder is missing or incomplete, or its package is not installed;
        checked before the recording is read.
    """
    _check_engine(engine, model_dir)
    import soundfile

    audio, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    audio = audio.mean(axis=1)
    if rate != SAMPLE_RATE:  # the speech stage's deterministic soxr resampling (loads librosa)
        from psymodal.speech.audio import load_audio

        audio, _ = load_audio(path, SAMPLE_RATE)
    if engine == "faster_whisper":  # segments long recordings itself (30 s windows)
        from .asr_whisper import recognise as recognise_whisper

        return recognise_whisper(audio, model_dir)
    return recognise(audio, model_dir, max_segment_s)
