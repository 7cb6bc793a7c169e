"""eGeMAPS' F0 and voicing reproduce openSMILE's subharmonic-summation levels frame by frame."""

from __future__ import annotations

import numpy as np
import pytest

from _helpers import SR, pulse_vowel
from psymodal.speech.audio import frame_signal, resample
from psymodal.speech.egemaps import _gaussian_window, _opensmile_f0
from psymodal.speech.shs import opensmile_pitch


def _signal():
    """A 120 Hz vowel, 0.3 s of noise, a 210 Hz vowel (16 kHz)."""
    a = pulse_vowel(0.5, f0=120.0)
    noise = 0.05 * np.random.default_rng(3).standard_normal(int(0.3 * SR))
    b = pulse_vowel(0.4, f0=210.0, formants=(500, 1500, 2500))
    return np.concatenate([a, noise, b]).astype(np.float32).astype(float)


def _opensmile_frames(y, sr=SR):
    """openSMILE's 60 ms Gaussian frames: frame k starts at k hops."""
    length, hop = int(round(0.060 * sr)), sr // 100
    n = (len(y) - length) // hop + 1
    return y[np.arange(n)[:, None] * hop + np.arange(length)] * _gaussian_window(length)


# openSMILE 2.6.0's cPitchShs output for _signal() (eGeMAPSv02 settings, read through the
# probe configuration of benchmarks/egemaps_pitch_probe.py), frames 5, 13, ..., 109: the best
# candidate's voicing probability and F0 (Hz). It reads the 120 Hz pulse train as 240 Hz (the
# octave above), as its eGeMAPS F0 does; frames 53-69 are the noise.
_FRAMES = np.arange(5, 115, 8)
_OS_VOICING = [0.8334, 0.8338, 0.8347, 0.8337, 0.8349, 0.8239, 0.4641, 0.4232, 0.4420, 0.7205]
_OS_VOICING += [0.8687, 0.8673, 0.8653, 0.8662]
_OS_F0 = [240.5313, 240.4473, 240.3095, 240.3102, 240.4383, 240.5354, 368.5908, 315.9174]
_OS_F0 += [361.2453, 210.2153, 210.2830, 210.3170, 210.1076, 210.1460]
_NOISE = slice(6, 9)


def test_shs_voicing_and_pitch_match_opensmile_frame_by_frame():
    f0, voicing = opensmile_pitch(_opensmile_frames(_signal())[_FRAMES], SR)
    np.testing.assert_allclose(voicing, _OS_VOICING, atol=0.015)
    tonal = np.ones(len(_FRAMES), dtype=bool)
    tonal[_NOISE] = False
    semitones = 12 * np.abs(np.log2(f0[tonal] / np.array(_OS_F0)[tonal]))
    assert np.all(semitones < 0.1), semitones
    assert np.all(voicing[_NOISE] < 0.7)


def test_egemaps_f0_is_openSMILEs_on_the_centred_grid():
    """Grid frame k + 3 (centred) is openSMILE's frame k; the noise stays unvoiced."""
    y = _signal()
    n = len(frame_signal(y, 160, 160))
    f0, _ = _opensmile_f0(y, SR, 160, np.ones(n, dtype=bool), 0.7)
    voiced = np.array(_OS_VOICING) >= 0.7
    np.testing.assert_array_equal(np.isfinite(f0[_FRAMES + 3]), voiced)
    np.testing.assert_allclose(f0[_FRAMES + 3][voiced], np.array(_OS_F0)[voiced], rtol=0.01)


def test_smoother_model_drops_blips_and_bridges_one_frame_gaps(monkeypatch):
    import psymodal.speech.egemaps as egemaps

    voicing = np.array([0.9, 0, 0, 0.9, 0.9, 0.9, 0, 0.9, 0.9, 0.9, 0, 0, 0.9, 0.9, 0])
    monkeypatch.setattr(
        egemaps,
        "opensmile_pitch_of_signal",
        lambda y, sr, hop, idx, native_sr=None: (np.full(15, 200.0), voicing, None),
    )
    y = np.zeros(16 * 160)
    f0, _ = egemaps._opensmile_f0(y, SR, 160, np.ones(15, dtype=bool), 0.7)
    expected = np.zeros(15, dtype=bool)
    expected[3:10] = True  # runs of 1 and 2 frames dropped, the 1-frame gap voiced
    np.testing.assert_array_equal(np.isfinite(f0), expected)


@pytest.mark.parametrize("native", [22050])
def test_a_resampled_file_reads_as_openSMILE_reads_it_at_its_own_rate(native):
    """openSMILE's octave scale has as many points as its spectrum at the file's rate; the
    spectrum emulated from the file resampled to 16 kHz gives that rate's voicing."""
    y = pulse_vowel(0.6, f0=150.0, sr=native)
    at_native = opensmile_pitch(_opensmile_frames(y, native)[5:40], native)
    y16 = resample(y, native, SR)
    frames16 = _opensmile_frames(y16)[5:40]
    emulated = opensmile_pitch(frames16, SR, native_sr=native)
    np.testing.assert_allclose(emulated[0], at_native[0], rtol=0.01)
    np.testing.assert_allclose(emulated[1], at_native[1], atol=0.03)


def test_opensmile_pitch_of_silence_and_of_no_frames():
    f0, voicing = opensmile_pitch(np.zeros((3, 960)), SR)
    assert np.all(np.isnan(f0)) and np.all(voicing == 0)
    assert opensmile_pitch(np.zeros((0, 960)), SR)[0].shape == (0,)
