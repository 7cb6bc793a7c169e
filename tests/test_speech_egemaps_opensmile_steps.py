"""eGeMAPS of a file above the analysis rate: openSMILE's frame steps and its bin spacing.

openSMILE frames a file at its own rate, stepping 10 ms rounded half up (221 samples at
22.05 kHz); psymodal analyses such a file at a lower rate and emulates that spectrum's bins
(benchmarks/egemaps_pitch_probe.py measures both against openSMILE's exported levels).
"""

import numpy as np
import pytest

from psymodal.speech import extract_features
from psymodal.speech.audio import frame_signal, resample
from psymodal.speech.egemaps import EGEMAPS_DEFAULTS, _gaussian_window, _on_opensmile_steps
from psymodal.speech.shs import opensmile_pitch, opensmile_pitch_on_steps


def _harmonic_voice(sr: int, f0: float, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return 0.1 * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 25) if k * f0 < 7000)


@pytest.mark.parametrize("native_sr", [22050, 44100, 48000])
@pytest.mark.parametrize("f0", [110.0, 230.0])
def test_the_emulated_spectrum_of_a_higher_rate_keeps_the_pitch(native_sr, f0):
    # The analysis-rate FFT is a size with small prime factors near the one that gives the
    # native spectrum's bin spacing; the pitch read on its bins is rescaled. Without that,
    # 48 kHz read 1.1 % (0.19 semitones) low: 1,350 points stood for 1,365.3.
    sr = 16000
    y = resample(_harmonic_voice(native_sr, f0), native_sr, sr)
    length = int(round(0.060 * sr))
    frames = frame_signal(y, length, 160)[10:30] * _gaussian_window(length)
    pitch, voicing = opensmile_pitch(frames, sr, native_sr=native_sr)
    semitones = 12 * np.log2(pitch / f0)
    assert np.all(np.abs(semitones) < 0.03), semitones
    assert np.all(voicing > 0.7)


def test_a_drifting_step_puts_the_grid_on_opensmiles_frames():
    cfg = dict(EGEMAPS_DEFAULTS)
    y = _harmonic_voice(22050, 150.0)
    stepped, rate = _on_opensmile_steps(y, 22050, 16000, 160, cfg)
    # 160 samples at that rate last 221 at 22.05 kHz: openSMILE's step, 10.023 ms
    assert 160 / rate == pytest.approx(221 / 22050, rel=1e-12)
    assert len(stepped) == pytest.approx(len(y) * rate / 22050, abs=1)
    # where openSMILE steps 10 ms exactly, or the tracker's grid is used, nothing changes
    for native_sr in (44100, 48000):
        assert _on_opensmile_steps(y, native_sr, 16000, 160, cfg) is None
    assert _on_opensmile_steps(y, 22050, 16000, 160, {**cfg, "pitch_method": "yin"}) is None


@pytest.mark.parametrize("settings", [{}, {"sample_rate": None}])
def test_voiced_segments_of_a_22khz_file_are_counted_in_opensmiles_frames(settings):
    # Bursts of a harmonic voice between silences: the segment lengths are whole numbers of
    # openSMILE's 221-sample frames at 22.05 kHz (a 10 ms grid gives whole 10 ms instead),
    # whether the file is resampled to 16 kHz or kept at its rate (a 220-sample grid).
    sr = 22050
    burst = _harmonic_voice(sr, 140.0, seconds=0.33)
    gap = np.zeros(int(0.25 * sr))
    y = np.concatenate([gap, burst, gap, burst, gap, burst, gap])
    y = y + 1e-4 * np.random.default_rng(0).standard_normal(len(y))
    feats = extract_features(y, sr, settings)
    frames = feats["MeanVoicedSegmentLengthSec"] / (221 / sr)
    assert feats["VoicedSegmentsPerSec"] > 0
    assert frames == pytest.approx(round(frames), abs=1e-6)
    assert abs(feats["MeanVoicedSegmentLengthSec"] / 0.010 - round(frames)) > 0.01


def test_the_pitch_on_openSMILEs_steps_reads_its_own_frames():
    # Frame j of a 22.05 kHz file: 1,323 samples from j * 221 on, Gaussian-windowed, zero
    # outside the signal (the grid's first frames read frames -3 to -1).
    sr = 22050
    t = np.arange(int(0.4 * sr)) / sr
    y = 0.1 * sum(np.sin(2 * np.pi * k * (150 + 40 * t) * t) / k for k in range(1, 30))
    frames = np.array([-3, -1, 0, 5, 17, 30, 36])
    length = 1323
    padded = np.concatenate([np.zeros(3 * 221), y, np.zeros(length)])
    expected = np.stack([padded[(j + 3) * 221 : (j + 3) * 221 + length] for j in frames])
    want_f0, want_voicing = opensmile_pitch(expected * _gaussian_window(length), sr)
    f0, voicing = opensmile_pitch_on_steps(y, sr, frames)
    np.testing.assert_allclose(voicing, want_voicing, atol=1e-6)
    np.testing.assert_allclose(f0, want_f0, rtol=1e-6)
    assert np.isfinite(f0[3:]).all() and np.all(voicing[3:] > 0.7)
