"""frame_signal's strided view is sliding_window_view's (values, strides, read-only)."""

import numpy as np
import pytest

from psymodal.speech.audio import frame_signal, n_frames


@pytest.mark.parametrize(
    ("n", "length", "hop"), [(1, 5, 2), (5, 5, 2), (16000, 640, 160), (7, 960, 160), (3, 4, 8)]
)
def test_frame_signal_equals_sliding_window_view(n, length, hop):
    y = np.random.default_rng(n).standard_normal(n)
    padded = np.zeros(n + length)
    padded[length // 2 : length // 2 + n] = y
    ref = np.lib.stride_tricks.sliding_window_view(padded, length)[::hop][: n_frames(n, hop)]
    got = frame_signal(y, length, hop)
    assert got.shape == ref.shape and got.strides == ref.strides
    np.testing.assert_array_equal(got, ref)
    assert not got.flags.writeable
    assert got.flags.c_contiguous == ref.flags.c_contiguous
