"""Subharmonic summation (psymodal.speech.shs) and its use in eGeMAPS' voicing."""

import numpy as np
import pytest

from psymodal.settings import defaults
from psymodal.speech.audio import frame_signal
from psymodal.speech.egemaps import _gaussian_window, _voice_periodic_frames
from psymodal.speech.prosody import PitchTrack
from psymodal.speech.shs import shs_pitch


def _frames(y, sr):
    length = int(round(0.060 * sr))
    return frame_signal(y, length, sr // 100)[10:20] * _gaussian_window(length)


@pytest.mark.parametrize("sr", [8000, 16000, 22050])
@pytest.mark.parametrize("f0", [90.0, 150.0, 300.0, 600.0])
def test_shs_finds_the_pitch_of_a_harmonic_complex(sr, f0):
    t = np.arange(sr // 2) / sr
    y = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 20) if k * f0 < sr / 2)
    pitch, harmonicity = shs_pitch(_frames(y, sr), sr)
    assert np.all(np.abs(pitch / f0 - 1) < 0.01), pitch
    assert np.all(harmonicity > 0.7), harmonicity


@pytest.mark.parametrize("sr", [8000, 16000])
def test_shs_harmonicity_of_noise_is_low_and_silence_is_unpitched(sr):
    noise = np.random.default_rng(0).standard_normal(sr // 2)
    _, harmonicity = shs_pitch(_frames(noise, sr), sr)
    assert np.all(harmonicity < defaults("speech.egemaps")["shs_harmonicity"]), harmonicity
    pitch, harmonicity = shs_pitch(np.zeros((3, 480)), sr)
    assert np.all(np.isnan(pitch)) and np.all(harmonicity == 0)
    assert shs_pitch(np.zeros((0, 480)), sr)[0].shape == (0,)


def test_shs_gate_limits_the_frames_voiced_beyond_the_tracker():
    """A frame YIN left unvoiced is voiced (with SHS's pitch) only where the gate agrees."""
    n = 12
    f0 = np.full(n, np.nan)
    f0[:4] = 120.0
    track = PitchTrack(
        f0=f0,
        voiced=np.isfinite(f0),
        aperiodicity=np.where(np.isfinite(f0), 0.1, 0.3),
        candidate=np.full(n, 240.0),
        periodic_f0=f0,
    )
    gate_ok = np.zeros(n, dtype=bool)
    gate_ok[4:8] = True
    asked = []

    def gate(idx):
        asked.append(idx)
        return gate_ok.copy(), np.full(n, 121.0)

    out = _voice_periodic_frames(f0, track, n, 0.5, gate)
    np.testing.assert_array_equal(asked[0], np.arange(4, n))
    np.testing.assert_array_equal(out[:4], 120.0)
    np.testing.assert_array_equal(out[4:8], 121.0)
    assert np.all(np.isnan(out[8:]))
    # Without the gate, YIN's aperiodicity alone voices them all, with YIN's candidate.
    out = _voice_periodic_frames(f0, track, n, 0.5)
    np.testing.assert_array_equal(out[4:], 240.0)


def test_added_frames_far_from_the_tracked_pitch_are_dropped():
    """SHS's argmax on a decaying vowel tail can pick a harmonic: such frames stay unvoiced."""
    from psymodal.speech.egemaps import _drop_pitch_jumps

    f0 = np.array([np.nan, 120.0, 121.0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan])
    candidate = np.array([118.0, 0, 0, 125.0, 480.0, np.nan, 200.0, 200.0, 200.0])
    extra = np.array([True, False, False, True, True, False, True, True, True])
    voiced = np.isfinite(f0)
    _drop_pitch_jumps(extra, voiced, f0, candidate)
    # Frames 0 and 3 continue the tracked pitch; frame 4 is two octaves up; frames 6-8 are a
    # stretch of their own (no tracked frame to compare with).
    np.testing.assert_array_equal(np.flatnonzero(extra), [0, 3, 6, 7, 8])
