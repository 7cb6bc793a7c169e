"""The Viterbi-smoothed YIN tracker: continuity over octave errors, voicing over fast glides."""

from __future__ import annotations

import numpy as np
import pytest

from psymodal.speech.prosody import PITCH_DEFAULTS, track_pitch, viterbi_pitch

SR = 16000
HOP = 160
COSTS = {k: v for k, v in PITCH_DEFAULTS["viterbi"].items() if k.endswith("_cost")}


def harmonic(f0, sr=SR, n_harmonics=8, amplitude=0.3):
    """Harmonic complex following the per-sample F0 contour ``f0``."""
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = sum(np.sin(k * phase) / k for k in range(1, n_harmonics + 1))
    return amplitude * y / np.max(np.abs(y))


def test_viterbi_keeps_the_continuous_candidate_over_a_short_octave_error():
    n = 20
    f0 = np.column_stack([np.full(n, 200.0), np.full(n, 100.0)])
    aper = np.column_stack([np.full(n, 0.05), np.full(n, 0.2)])
    # Frames 8-10: the octave-below candidate looks slightly better, as in a creaky stretch.
    f0[8:11] = [100.0, 200.0]
    aper[8:11] = [0.04, 0.06]
    path, _ = viterbi_pitch(f0, aper, np.ones(n, dtype=bool), **COSTS)
    np.testing.assert_allclose(path, 200.0)


def test_viterbi_voicing_has_hysteresis_and_respects_the_gate():
    n = 30
    f0 = np.full((n, 1), 150.0)
    aper = np.full((n, 1), 0.9)
    aper[5:25] = 0.1
    aper[14] = 0.45  # one weak frame inside voicing: bridged, not a voice break
    allowed = np.ones(n, dtype=bool)
    path, _ = viterbi_pitch(f0, aper, allowed, **COSTS)
    voiced = np.isfinite(path)
    assert voiced[5:25].all() and not voiced[:5].any() and not voiced[25:].any()
    allowed[10:12] = False
    path, _ = viterbi_pitch(f0, aper, allowed, **COSTS)
    assert not np.isfinite(path[10:12]).any() and np.isfinite(path[12:25]).all()


@pytest.mark.parametrize("smoothing", [True, False])
def test_fast_fall_stays_voiced_and_tracked(smoothing):
    # 250 -> 140 Hz in 150 ms (a falling accent, ~10 semitones), between steady parts.
    t = np.arange(int(0.6 * SR)) / SR
    f0 = np.interp(t, [0.0, 0.2, 0.35, 0.6], [250.0, 250.0, 140.0, 140.0])
    y = harmonic(f0) + np.random.default_rng(0).normal(0, 1e-4, len(t))
    settings = {"viterbi": {**PITCH_DEFAULTS["viterbi"], "enabled": smoothing}}
    track = track_pitch(y, SR, 640, HOP, settings)
    frames = np.arange(len(track.f0)) * HOP
    inside = (frames > 0.05 * SR) & (frames < 0.55 * SR)
    assert track.voiced[inside].mean() > 0.95
    truth = np.interp(frames[inside] / SR, t, f0)
    err = np.abs(12 * np.log2(track.f0[inside] / truth))
    assert np.nanmedian(err) < 0.3
    if smoothing:
        assert np.nanmax(err) < 2.0  # no octave errors anywhere


def test_periodic_f0_ignores_the_speech_activity_gate():
    y = harmonic(np.full(int(0.5 * SR), 180.0))
    gate = np.ones(len(y) // HOP + 1, dtype=bool)
    gate[20:30] = False
    track = track_pitch(y, SR, 640, HOP, sounding=gate)
    assert not track.voiced[20:30].any()
    assert np.isfinite(track.periodic_f0[20:30]).all()
