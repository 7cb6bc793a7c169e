"""Rising/falling slopes and peak counts as openSMILE's ``Peaks2`` (eGeMAPS' options) reports them.

The expectations were read from openSMILE 2.6.0 run as a black box: a probe configuration
with the ``cFunctionals`` ``Peaks2`` options of eGeMAPSv02 (``relThresh`` 0.1, ``norm``
seconds) and its position debug output, each contour given to it as a 100 Hz signal (values
halved to stay inside the 16-bit range, slopes doubled back). Its source was not read.
"""

import numpy as np
import pytest

from psymodal.speech.egemaps import _count_peaks, _peaks2_extrema, _slopes

# contour -> (maxima/minima openSMILE reported, (rise mean, rise SD, fall mean, fall SD))
CASES = {
    "one peak": ([0, 0.1, 0.2, 0.3, 0.4, 0.3, 0.2, 0.1, 0], [(4, 1)], (10, 0, -10, 0)),
    "two peaks": (
        [0, 0.2, 0.4, 0.2, 0, 0.2, 0.4, 0.2, 0],
        [(2, 1), (4, 0), (6, 1)],
        (20, 0, 0, 14.141),
    ),
    "unequal peaks": (
        [0, 0.2, 0.4, 0.2, 0, 0.1, 0.2, 0.1, 0],
        [(2, 1), (4, 0), (6, 1)],
        (15, 5, 5, 10.607),
    ),
    "rising end": ([0, 0.2, 0.4, 0.2, 0, 0.1, 0.2, 0.3, 0.4], [(2, 1), (4, 0)], (15, 3.536, 20, 0)),
    "small bump": (
        [0, 0.2, 0.4, 0.2, 0.1, 0.15, 0.1, 0.05, 0],
        [(2, 1), (4, 0), (5, 1)],
        (12.5, 7.5, 5, 7.071),
    ),
    "dip above threshold": (
        [0, 0.2, 0.4, 0.35, 0.4, 0.2, 0],
        [(2, 1), (3, 0), (4, 1)],
        (12.5, 7.5, -7.5, 8.839),
    ),
    "dip below threshold": ([0, 0.2, 0.4, 0.37, 0.4, 0.2, 0], [(2, 1)], (20, 0, -10, 0)),
    "notch": ([0, 0.2, 0.3, 0.28, 0.4, 0.2, 0], [(4, 1)], (10, 0, -20, 0)),
    "starts high": ([0.4, 0.2, 0, 0.2, 0.4, 0.2, 0], [(2, 0), (4, 1)], (20, 0, 0, 14.142)),
    "plateau": ([0, 0.2, 0.4, 0.4, 0.4, 0.2, 0, 0, 0], [], (0, 0, 0, 0)),
    "turns at the edges": ([0, 0.4, 0.3, 0.32, 0.1, 0], [], (0, 0, 0, 0)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_extrema_and_slopes_are_opensmiles(name):
    x, extrema, slopes = CASES[name]
    x = np.asarray(x, dtype=float)
    idx, is_max = _peaks2_extrema(x)
    assert list(zip(idx.tolist(), is_max.astype(int).tolist(), strict=True)) == extrema
    rise_m, rise_s, fall_m, fall_s, n_peaks = _slopes(x, 0.01)
    assert [rise_m, rise_s, fall_m, fall_s] == pytest.approx(list(slopes), abs=2e-3)
    assert n_peaks == _count_peaks(x) == sum(m for _, m in extrema)
