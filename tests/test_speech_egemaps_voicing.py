"""eGeMAPS definitions matched to openSMILE: permissive voicing
(speech.egemaps.voicing_aperiodicity), HTK mel filters, Peaks2 slopes."""

from __future__ import annotations

import numpy as np

from psymodal.settings import defaults
from psymodal.speech.egemaps import _voice_periodic_frames
from psymodal.speech.prosody import PitchTrack
from psymodal.speech.spectral import hz_to_mel, mel_filterbank


def _track(periodic, candidate, aperiodicity):
    periodic = np.asarray(periodic, dtype=float)
    return PitchTrack(
        f0=periodic,
        voiced=np.isfinite(periodic),
        aperiodicity=np.asarray(aperiodicity, dtype=float),
        candidate=np.asarray(candidate, dtype=float),
        periodic_f0=periodic,
    )


def test_moderately_periodic_frames_are_voiced_with_yins_candidate():
    nan = np.nan
    periodic = [nan, 100, 100, nan, nan, nan, nan, nan, nan, nan]
    candidate = [90, 101, 102, 103, 104, 80, 81, 82, 83, 84]
    aperiodicity = [0.3, 0.1, 0.1, 0.3, 0.6, 0.3, 0.6, 0.2, 0.2, 0.2]
    pitch = _track(periodic, candidate, aperiodicity)
    f0 = _voice_periodic_frames(pitch.periodic_f0, pitch, 10, 0.4)
    # Frames 0 and 3 join tracked voicing; frame 4 is too aperiodic; frame 5 alone is a blip
    # (fewer than 3 frames away from tracked voicing); frames 7-9 form a run of 3.
    expected = [90, 100, 100, 103, nan, nan, nan, 82, 83, 84]
    np.testing.assert_array_equal(f0, expected)
    # Off (0) keeps the tracker's voicing.
    off = _voice_periodic_frames(pitch.periodic_f0, pitch, 10, 0.0)
    np.testing.assert_array_equal(off, periodic)


def test_the_setting_is_gated_by_subharmonic_summation_by_default():
    # YIN's aperiodicity alone (0.4) raised agreement with openSMILE but cost the demo's
    # planted voice-quality signal; gated by SHS harmonicity it raises both (RESULTS.md).
    ege = defaults("speech.egemaps")
    assert ege["voicing_aperiodicity"] == 0.5 and ege["shs_harmonicity"] == 0.4


def test_mel_filters_are_triangles_on_the_mel_scale():
    freqs = np.linspace(0.0, 8000.0, 4001)
    bank = mel_filterbank(freqs, 26, 20.0, 8000.0)
    edges = np.linspace(hz_to_mel(20.0), hz_to_mel(8000.0), 28)
    mel = hz_to_mel(freqs)
    k = 10  # any band: halfway (in mel) up its rising edge the weight is one half
    half = np.argmin(np.abs(mel - 0.5 * (edges[k] + edges[k + 1])))
    assert abs(bank[k, half] - 0.5) < 0.01
    assert bank[k, np.argmin(np.abs(mel - edges[k + 1]))] > 0.99


def test_slopes_run_from_each_prominent_peak_to_the_lowest_points_beside_it():
    from psymodal.speech.egemaps import _slopes

    # Up 1 per frame for 10 frames, down 2 per frame for 5, with a ripple too small to count.
    x = np.concatenate([np.arange(11.0), 10.0 - 2.0 * np.arange(1, 6)])
    x[4] = 2.5  # a dip after frame 3: a peak of prominence 0.5, under 10 % of the range
    rise_mean, rise_sd, fall_mean, fall_sd, n_peaks = _slopes(x, 0.01)
    assert n_peaks == 1 and rise_sd == 0.0 and fall_sd == 0.0
    # units per second; the last segment, from the peak to the contour's end, is signed as
    # openSMILE's Peaks2 signs it (tests/test_speech_egemaps_peaks2.py)
    assert np.isclose(rise_mean, 100.0) and np.isclose(fall_mean, -200.0)
