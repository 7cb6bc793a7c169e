"""Compile the speech features' numba kernels ahead of the first recording.

numba compiles a kernel on its first call and caches the machine code (``NUMBA_CACHE_DIR``,
or ``__pycache__`` next to the source). In a fresh environment that first call would make the
first recording of a run tens of seconds slower than the rest; ``make install`` runs this
module once so that the cache is filled before any data is analysed::

    python -m psymodal.speech.warmup
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["compile_kernels"]


def _voice(sr: int) -> np.ndarray:
    """1.2 s of a gliding pulse-train vowel with a pause: every kernel runs on it."""
    t = np.arange(int(0.5 * sr)) / sr
    f0 = 120.0 + 20.0 * t
    vowel = np.sign(np.sin(2 * np.pi * np.cumsum(f0) / sr)) * np.hanning(len(t))
    silence = np.zeros(int(0.2 * sr))
    rng = np.random.default_rng(0)
    y = np.concatenate([silence, vowel, silence, vowel, silence])
    return 0.3 * y + 1e-4 * rng.standard_normal(len(y))


def compile_kernels(sample_rate: int = 16000) -> float:
    """Run the speech features once on a generated signal, and once on one at 22.05 kHz
    (a file above the analysis rate: eGeMAPS' native-rate spectra and the SHS emulation of
    that rate take kernels and signatures of their own); returns the seconds it took."""
    from .features import extract_features

    start = time.perf_counter()
    extract_features(_voice(sample_rate), sample_rate)
    if sample_rate < 22050:
        extract_features(_voice(22050), 22050)
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"speech kernels compiled and cached in {compile_kernels():.1f} s")
