"""Peaks of a 1D signal by height and prominence: ``scipy.signal.find_peaks``'s result.

The speech features need only these two conditions of ``scipy.signal.find_peaks``. Importing
``scipy.signal`` (which brings ``scipy.stats``) cost about 1.3 s of every speech job's start-up,
more than the recordings of a small batch take to analyse; this kernel runs the same steps
(``_local_maxima_1d``, then the height condition, then ``_peak_prominences`` without a window)
on the same float64 values, so the indices are identical (``tests/test_speech_peaks.py``
compares them with scipy's on random and plateau-rich signals).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["find_peaks"]


def find_peaks(
    x: np.ndarray, height: float | None = None, prominence: float | None = None
) -> np.ndarray:
    """Indices of the local maxima of ``x`` that reach ``height`` and ``prominence``.

    Parameters
    ----------
    x : array-like
        1D signal (compared as float64, as scipy does).
    height : float, optional
        Smallest peak value kept (``height <= x[peak]``).
    prominence : float, optional
        Smallest prominence kept (scipy's definition, no window: ``wlen=None``).

    Returns
    -------
    numpy.ndarray of intp
        The kept peaks, in increasing order; a flat peak is reported at its middle sample
        (rounded down), as ``scipy.signal.find_peaks(x, height=..., prominence=...)[0]``.
    """
    x = np.asarray(x, order="C", dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("`x` must be a 1-D array")
    return _find_peaks(
        x,
        height is not None,
        0.0 if height is None else float(height),
        prominence is not None,
        0.0 if prominence is None else float(prominence),
    )


@numba.njit(cache=True)
def _find_peaks(x, use_height, height, use_prominence, prominence):  # pragma: no cover - JIT
    n = x.shape[0]
    peaks = np.empty(n // 2, dtype=np.intp)
    m = 0
    # local maxima (scipy's _local_maxima_1d): a plateau counts once, at its middle
    i = 1
    i_max = n - 1
    while i < i_max:
        if x[i - 1] < x[i]:
            i_ahead = i + 1
            while i_ahead < i_max and x[i_ahead] == x[i]:
                i_ahead += 1
            if x[i_ahead] < x[i]:
                peaks[m] = (i + i_ahead - 1) // 2
                m += 1
                i = i_ahead
        i += 1
    keep = np.empty(m, dtype=np.intp)
    k = 0
    for j in range(m):
        peak = peaks[j]
        if use_height and not height <= x[peak]:
            continue
        if use_prominence:
            # scipy's _peak_prominences with no window: the lowest point on each side before
            # the signal rises above the peak; prominence above the higher of the two
            left_min = x[peak]
            i = peak
            while 0 <= i and x[i] <= x[peak]:
                if x[i] < left_min:
                    left_min = x[i]
                i -= 1
            right_min = x[peak]
            i = peak
            while i <= n - 1 and x[i] <= x[peak]:
                if x[i] < right_min:
                    right_min = x[i]
                i += 1
            base = left_min if left_min > right_min else right_min
            if not prominence <= x[peak] - base:
                continue
        keep[k] = peak
        k += 1
    return keep[:k].copy()
