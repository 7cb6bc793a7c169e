"""eGeMAPS' model of openSMILE's pitch smoother: the smoother sees every frame and the
energy gate comes after it (benchmarks/egemaps_pitch_probe.py, round 10 of RESULTS.md)."""

from __future__ import annotations

import numpy as np

import psymodal.speech.egemaps as egemaps

SR = 16000


def _f0_with_voicing(monkeypatch, voicing, loud):
    """``_opensmile_f0`` with the SHS voicing of each frame given (F0 200 Hz everywhere)."""
    voicing = np.asarray(voicing, dtype=float)
    asked = []

    def fake(y, sr, hop, idx, native_sr=None):
        asked.append(np.asarray(idx))
        return np.full(len(idx), 200.0), voicing[idx], None

    monkeypatch.setattr(egemaps, "opensmile_pitch_of_signal", fake)
    y = np.zeros((len(voicing) + 1) * 160)
    f0, _ = egemaps._opensmile_f0(y, SR, 160, np.asarray(loud, dtype=bool), 0.7)
    return f0, asked[0]


def test_quiet_frames_inside_a_voiced_run_keep_its_loud_frames_voiced(monkeypatch):
    # One voiced run of 8 frames (2-9); only frames 2, 3, 5 and 6 are above the energy floor.
    # openSMILE smooths the whole run (kept) and then zeroes the quiet frames; gating first
    # would leave two 2-frame runs, which the smoother model drops.
    voicing = np.zeros(16)
    voicing[2:10] = 0.9
    loud = np.zeros(16, dtype=bool)
    loud[[2, 3, 5, 6]] = True
    f0, _ = _f0_with_voicing(monkeypatch, voicing, loud)
    np.testing.assert_array_equal(np.flatnonzero(np.isfinite(f0)), [2, 3, 5, 6])


def test_a_short_loud_run_stays_unvoiced_when_the_whole_run_is_short(monkeypatch):
    # The voiced run (frames 4-5) is 2 frames long, quiet frames or not: dropped.
    voicing = np.zeros(16)
    voicing[4:6] = 0.9
    loud = np.ones(16, dtype=bool)
    loud[5] = False
    f0, _ = _f0_with_voicing(monkeypatch, voicing, loud)
    assert not np.isfinite(f0).any()


def test_only_frames_within_the_models_reach_of_a_loud_frame_are_analysed(monkeypatch):
    loud = np.zeros(30, dtype=bool)
    loud[[10, 20]] = True
    _, asked = _f0_with_voicing(monkeypatch, np.zeros(30), loud)
    np.testing.assert_array_equal(asked, np.r_[7:14, 17:24])
