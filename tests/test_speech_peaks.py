"""psymodal.speech.peaks.find_peaks gives scipy.signal.find_peaks's indices (height, prominence)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import find_peaks as scipy_find_peaks

from _helpers import modules_imported_by
from psymodal.speech.peaks import find_peaks


def _signals():
    rng = np.random.default_rng(0)
    for n in (0, 1, 2, 3, 4, 5, 17, 400):
        yield rng.standard_normal(n)
    for _ in range(30):
        n = int(rng.integers(3, 600))
        # coarse values: many plateaus, flat peaks of even and odd widths, flat ends
        yield np.round(rng.standard_normal(n).cumsum() * rng.uniform(0.2, 3))
        yield rng.integers(0, 4, n).astype(np.float32)
        yield np.sin(np.linspace(0, rng.uniform(3, 60), n)) + 0.05 * rng.standard_normal(n)
    yield np.zeros(50)
    yield np.array([0.0, 1, 1, 1, 0, 2, 2, 0, 3, 3, 3, 3])
    yield np.array([0.0, np.nan, 1, 0, 2, np.inf, 2, -np.inf, 1, 0])


@pytest.mark.parametrize("height", [None, -0.5, 0.0, 1.0])
@pytest.mark.parametrize("prominence", [None, 0.0, 0.3, 1.0, 2.5])
def test_same_indices_as_scipy(height, prominence):
    for x in _signals():
        expected = scipy_find_peaks(x, height=height, prominence=prominence)[0]
        got = find_peaks(x, height=height, prominence=prominence)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_speech_stage_does_not_import_scipy_signal():
    """The point of the kernel: a speech job starts without scipy.signal (and scipy.stats)."""
    statement = "import psymodal.speech.pipeline, psymodal.speech.egemaps"
    assert modules_imported_by(statement, ("scipy.signal", "scipy.stats")) == []
