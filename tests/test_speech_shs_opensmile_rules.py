"""openSMILE's cSpecScale enhancement and cPitchShs candidates, as measured on its exported
levels (benchmarks/egemaps_pitch_probe.py; openSMILE itself is not needed here)."""

from __future__ import annotations

import numpy as np

from psymodal.speech.shs import (
    _N_CANDIDATES,
    _best_peak,
    _enhanced_magnitude,
    _harmonic_shifts,
    opensmile_pitch,
)


def _enhance(magnitude, to_nyquist=True):
    parts = np.zeros((1, 2 * len(magnitude)), dtype=np.float32)
    parts[0, 0::2] = magnitude
    return _enhanced_magnitude(parts, len(magnitude), to_nyquist)[0]


def test_enhancement_zeroes_only_between_two_maxima():
    # Maxima at bins 2 and 11; bins 5-8 are more than two from both. The bins below the
    # first maximum and above the last keep their magnitude.
    mag = np.array([0.5, 0.9, 3, 2, 1, 0.8, 0.7, 0.6, 0.7, 1, 2, 4, 1, 0.6, 0.5, 0.4])
    expected = mag.copy()
    expected[5:9] = 0
    np.testing.assert_array_equal(_enhance(mag), expected.astype(np.float32))


def test_an_edge_bin_above_its_neighbour_is_a_maximum():
    # Bin 0 and the last bin are maxima: the bins between them and the inner maximum at 6
    # that are more than two bins from both are zeroed (3 and 9-10).
    mag = np.array([5, 4, 3, 2, 3, 4, 6, 4, 3, 2, 1, 0.5, 0.4, 0.6])
    expected = mag.copy()
    expected[[3, 9, 10]] = 0
    np.testing.assert_array_equal(_enhance(mag), expected.astype(np.float32))


def test_a_single_maximum_keeps_only_its_neighbourhood():
    mag = np.array([1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1], dtype=float)
    expected = np.where(np.abs(np.arange(11) - 5) <= 2, mag, 0)
    np.testing.assert_array_equal(_enhance(mag), expected.astype(np.float32))


def test_an_emulated_higher_rate_zeroes_above_the_last_maximum_held():
    # The rows end below that spectrum's last bin: its further maxima lie above them.
    mag = np.array([0.5, 0.9, 3, 2, 1, 0.8, 0.7, 0.6, 0.5, 0.4])
    expected = mag.copy()
    expected[5:] = 0
    np.testing.assert_array_equal(_enhance(mag, to_nyquist=False), expected.astype(np.float32))


def test_harmonic_shifts_are_those_measured_on_opensmile():
    # Least-squares fits of openSMILE 2.6.0's exported SHS spectrum on its octave spectrum
    # (residual 1e-7): the whole number of points harmonic n is read up, at 8, 16, 22.05 kHz.
    measured = {
        8000: [0, 35, 55, 70, 81, 90, 98, 105, 111, 116, 121, 125, 129, 133, 137],
        16000: [0, 61, 97, 123, 143, 159, 173, 184, 195, 204, 213, 220, 228, 234, 240],
        22050: [0, 116, 184, 233, 270, 301, 327, 350, 369, 387, 403, 418, 431, 444, 455],
    }
    for sr, shifts in measured.items():
        n_points = int(2 ** np.ceil(np.log2(0.060 * sr))) // 2 + 1
        span = np.log2(sr / 2) - np.log2(25.0)
        assert _harmonic_shifts(n_points, span, 15) == shifts


def _row_with_maxima(points: dict[int, float], m: int = 60) -> np.ndarray:
    h = np.full((1, m), 0.01)
    for j, value in points.items():
        h[0, j] = value
    return h


def test_a_maximum_in_range_outranked_by_six_outside_is_no_candidate():
    log_pitch = np.arange(60.0) * 0.1  # the range: columns 20-40
    outside = {3: 2.0, 7: 2.0, 11: 2.0, 45: 2.0, 50: 2.0}
    five = _row_with_maxima({**outside, 30: 1.0})
    six = _row_with_maxima({**outside, 55: 2.0, 30: 1.0})
    best, _, top = _best_peak(five, log_pitch, 0.1, 2.0, 4.0, _N_CANDIDATES)
    assert best[0] == 30 and top[0] == 1.0
    best, _, _ = _best_peak(six, log_pitch, 0.1, 2.0, 4.0, _N_CANDIDATES)
    assert best[0] == -1


def test_a_maximum_interpolated_out_of_the_range_is_not_a_candidate():
    log_pitch = np.arange(60.0) * 0.1
    h = _row_with_maxima({40: 1.0, 41: 0.9, 39: 0.2, 30: 0.5})  # vertex at 4.039
    best, shift, _ = _best_peak(h, log_pitch, 0.1, 2.0, 4.0, _N_CANDIDATES)
    assert best[0] == 30 and shift[0] == 0.0
    best, shift, _ = _best_peak(h, log_pitch, 0.1, 2.0, 4.05, _N_CANDIDATES)
    assert best[0] == 40 and 0 < shift[0] < 0.5


def _frames(tones, sr=16000, seconds=0.5):
    from psymodal.speech.egemaps import _gaussian_window

    t = np.arange(int(seconds * sr)) / sr
    y = 0.05 * sum(np.sin(2 * np.pi * f * t + k) for k, f in enumerate(tones))
    length, hop = int(round(0.060 * sr)), int(0.010 * sr)
    idx = np.arange((len(y) - length) // hop + 1)[:, None] * hop + np.arange(length)
    return y[idx] * _gaussian_window(length)


def test_tones_above_the_range_leave_opensmile_without_a_candidate():
    # Eight tones of 2.5-7.5 kHz: openSMILE 2.6.0's cPitchShs gives no candidate in any
    # frame (its highest SHS maxima lie above 1 kHz); seven of 1.2-3.2 kHz: 307 Hz in every
    # frame, voicing 0.85 (both measured with benchmarks/egemaps_pitch_probe.py's levels).
    f0, voicing = opensmile_pitch(_frames([2531, 3217, 3889, 4603, 5297, 6011, 6703, 7411]), 16000)
    assert np.all(np.isnan(f0)) and np.all(voicing == 0)
    f0, voicing = opensmile_pitch(_frames([1213, 1531, 1847, 2179, 2503, 2833, 3167]), 16000)
    np.testing.assert_allclose(f0, 307, atol=0.5)
