"""openSMILE's spectral enhancement (cSpecScale) leaves the first 3 bins and the Nyquist bin
as they are (benchmarks/egemaps_pitch_probe.py, round 10 of RESULTS.md)."""

from __future__ import annotations

import numpy as np

from psymodal.speech.shs import _keep_edge_bins


def test_the_first_three_bins_and_the_nyquist_bin_keep_their_magnitude():
    spec = (np.arange(1, 10) * (1 + 1j))[None, :].astype(np.complex64)  # n_fft 16: 9 bins
    magnitude = np.zeros((1, 9), dtype=np.float32)
    _keep_edge_bins(magnitude, spec, 16)
    expected = np.zeros(9)
    expected[[0, 1, 2, 8]] = np.abs(spec[0, [0, 1, 2, 8]])
    np.testing.assert_allclose(magnitude[0], expected, rtol=1e-6)


def test_an_emulated_higher_rate_has_no_nyquist_bin_to_keep():
    # 6 of the 9 bins of a 16-point spectrum hold content (a signal resampled down): the
    # higher rate's Nyquist bin is empty, only the first 3 are restored.
    spec = np.ones((2, 6), dtype=np.complex64)
    magnitude = np.zeros((2, 6), dtype=np.float32)
    _keep_edge_bins(magnitude, spec, 16)
    np.testing.assert_array_equal(magnitude, np.r_[1, 1, 1, 0, 0, 0][None, :].repeat(2, 0))
