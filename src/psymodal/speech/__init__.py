"""Speech stage: audio loading, voice activity, prosody and spectral features.

Public API
----------
load_audio, read_audio, AudioError
    Decode a file into a fixed-rate mono signal.
extract_features, feature_names, qc_names, resolve_settings, DEFAULT_SETTINGS
    Features of one recording.
find_recordings, process_subject
    Per-subject stage used by the workflow.
"""

import importlib

# Imported on first use: ``psymodal.speech.paths`` (read by the workflow and the report) must
# not load librosa and numba.
_EXPORTS = {
    "AudioError": "audio",
    "load_audio": "audio",
    "read_audio": "audio",
    "DEFAULT_SETTINGS": "features",
    "extract_features": "features",
    "feature_names": "features",
    "qc_names": "features",
    "resolve_settings": "features",
    "find_recordings": "pipeline",
    "process_subject": "pipeline",
}

__all__ = [
    "AudioError",
    "DEFAULT_SETTINGS",
    "extract_features",
    "feature_names",
    "find_recordings",
    "load_audio",
    "process_subject",
    "qc_names",
    "read_audio",
    "resolve_settings",
]


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
