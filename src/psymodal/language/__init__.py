"""Language stage: what participants say, from transcripts or offline speech recognition.

Public API
----------
find_sources, read_transcript, Transcript, TranscriptError
    Transcripts next to the recordings (``sub-XX/audio/*_transcript.tsv`` or ``.txt``).
recognise, recognise_file
    Offline speech recognition (pocketsphinx) with word timings.
extract_features, feature_names
    Lexical, pronoun, filler, speech-graph and coherence features of one transcript.
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
