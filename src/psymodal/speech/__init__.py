"""Speech stage: audio loading, voice activity, prosody and spectral features."""
