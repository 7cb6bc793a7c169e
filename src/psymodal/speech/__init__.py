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

from .audio import AudioError, load_audio, read_audio
from .features import DEFAULT_SETTINGS, extract_features, feature_names, qc_names, resolve_settings
from .pipeline import find_recordings, process_subject

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
