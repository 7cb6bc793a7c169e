"""Language stage: what participants say, from transcripts or offline speech recognition.

Public API
----------
find_sources, read_transcript, Transcript, TranscriptError
    Transcripts next to the recordings (``sub-XX/audio/*_transcript.tsv`` or ``.txt``).
recognise, recognise_file, ASRModelError
    Offline speech recognition (pocketsphinx, or a lab's faster-whisper model) with word
    timings; ASRModelError: the configured recogniser's model or package is missing.
extract_features, feature_names
    Lexical, pronoun, filler, speech-graph, coherence and tangentiality features of one
    transcript.
process_subject
    Per-subject stage used by the workflow.
"""

import importlib

# Imported on first use: ``psymodal.language.paths`` (read by the workflow) must stay light.
_EXPORTS = {
    "Transcript": "transcripts",
    "TranscriptError": "transcripts",
    "find_sources": "transcripts",
    "read_transcript": "transcripts",
    "ASRModelError": "asr",
    "recognise": "asr",
    "recognise_file": "asr",
    "extract_features": "features",
    "feature_names": "features",
    "process_subject": "pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
