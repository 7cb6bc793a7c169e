"""eGeMAPS' formant LLD reproduces openSMILE's frame by frame; psymodal's resonance formants
follow the vowel."""

from __future__ import annotations

import numpy as np
import pytest

from _helpers import SR, pulse_vowel, with_silence
from psymodal.speech import extract_features
from psymodal.speech.audio import resample
from psymodal.speech.egemaps import (
    _harmonic_llds,
    _opensmile_formants,
    psymodal_name,
    resonance_formants,
)

# openSMILE 2.6.0's cFormantLpc output (eGeMAPSv02 settings, read through a probe
# configuration by benchmarks/egemaps_formant_probe.py) for pulse_vowel(0.5) (formants
# 700 / 1200 / 2600 Hz, F0 120 Hz) at 16 kHz, frames 10, 20, 30, 40 (frame i starts at
# sample 160 i): F1-F3 frequency and bandwidth, Hz.
_OPENSMILE_FREQS = [
    [1157.87, 2413.48, 3743.76],
    [1157.44, 2413.33, 3743.51],
    [1156.64, 2414.16, 3744.13],
    [1157.40, 2413.85, 3743.29],
]
_OPENSMILE_BANDWIDTHS = [
    [998.66, 751.81, 828.68],
    [997.98, 749.77, 827.82],
    [999.41, 753.99, 838.86],
    [998.98, 753.59, 832.26],
]


def test_formant_lld_matches_opensmile_frame_by_frame():
    y = pulse_vowel(0.5, formants=(700, 1200, 2600))
    # psymodal's grid frame i + 1 (centred) holds openSMILE's frame i (left-aligned).
    freqs, bws = _opensmile_formants(y, SR, 160, np.array([11, 21, 31, 41]))
    np.testing.assert_allclose(freqs, _OPENSMILE_FREQS, atol=1.0)
    np.testing.assert_allclose(bws, _OPENSMILE_BANDWIDTHS, atol=2.0)


def test_formant_lld_of_a_resampled_file_follows_its_native_rate():
    """openSMILE analyses a 22.05 kHz file at 22.05 kHz (bins up to 4.7 kHz, not 3.4 kHz);
    the same frame read from the file resampled to 16 kHz gives its values."""
    native = pulse_vowel(1.0, formants=(500, 1500, 2500), sr=22050)
    y16 = resample(native, 22050, SR)
    first = np.array([1])
    at_native, emulated, plain = [], [], []
    # One frame at a time, its 20 ms starting at t on both rates (the values of this LLD
    # move by hundreds of Hz with a sub-sample shift of a periodic frame).
    for t in np.arange(0.1, 0.9, 0.04):
        at_native.append(_opensmile_formants(native, 22050, round(22050 * t) + 220, first)[0])
        hop = round(SR * t) + 160
        emulated.append(_opensmile_formants(y16, SR, hop, first, native_sr=22050)[0])
        plain.append(_opensmile_formants(y16, SR, hop, first)[0])
    np.testing.assert_allclose(np.vstack(emulated), np.vstack(at_native), rtol=0.02)
    assert np.median(np.abs(np.vstack(plain) / np.vstack(at_native) - 1)) > 0.05


def test_resonance_formants_of_synthetic_vowel():
    y = pulse_vowel(1.0, formants=(700, 1200, 2600))
    freqs, _ = resonance_formants(y, SR, 160, np.arange(10, 90))
    assert np.nanmedian(freqs, axis=0) == pytest.approx([700, 1200, 2600], rel=0.1)


def test_formant_amplitude_counts_frames_without_f0_at_opensmiles_floor():
    """openSMILE's formant amplitude LLD is -201 dB where F0 is 0, and its functionals
    take every non-zero value: a pause pulls the mean towards -201."""
    vowel = pulse_vowel(0.5)
    name = psymodal_name("F1amplitudeLogRelF0_sma3nz_amean")
    alone = extract_features(vowel, SR)[name]
    with_pause = extract_features(with_silence(vowel), SR)[name]
    assert -60 < alone < 20
    assert with_pause < alone - 50


def test_formant_amplitude_is_the_strongest_harmonic_within_20_percent():
    """openSMILE's formant amplitude: the strongest harmonic within +-20 % of the formant
    frequency relative to H1 (not the harmonic nearest the formant, nor one beyond 20 %)."""
    t = np.arange(SR) / SR
    levels = {1: 1.0, 10: 0.1, 12: 0.5, 13: 2.0}  # formant at 1,000 Hz: harmonics 8-12 count
    y = sum(levels.get(h, 0.05) * np.sin(2 * np.pi * 100.0 * h * t) for h in range(1, 40))
    hop = 160
    f0 = np.full(SR // hop, 100.0)
    idx = np.arange(20, 80)
    formants = np.tile([1000.0, 1000.0, 1000.0], (len(idx), 1))
    amplitude = _harmonic_llds(y, SR, hop, f0, idx, formants)["a1"]
    # -6 dB (0.5 re 1; the nearest harmonic would give -20 dB, the 13th +6 dB), within the
    # strong 13th harmonic's leakage into the 12th's +-F0/2 window.
    np.testing.assert_allclose(amplitude, 20 * np.log10(0.5), atol=1.0)
