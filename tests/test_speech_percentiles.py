"""psymodal.speech.percentiles.percentile gives numpy.percentile's values bit for bit."""

import numpy as np
import pytest

from psymodal.speech.percentiles import percentile


@pytest.mark.parametrize("q", [99, 10, 0, 100, 37.5, [20, 50, 80], [20, 80], [0.1, 99.9]])
def test_percentile_equals_numpy(q):
    rng = np.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(1, 40)) if trial % 10 else int(rng.integers(40, 3000))
        x = rng.standard_normal(n) * 10 ** rng.uniform(-3, 3)
        if trial % 7 == 0:
            x = np.round(x, 1)  # ties
        if trial % 13 == 0:
            x[rng.integers(0, n)] = np.nan
        if trial % 17 == 0:
            x[:] = 3.3
        ref, ours = np.percentile(x, q), percentile(x, q)
        assert type(ours) is type(ref)
        np.testing.assert_array_equal(ours, ref)


def test_percentile_other_input_is_numpys_call():
    x = np.arange(10, dtype=np.float32)
    assert percentile(x, 50).dtype == np.percentile(x, 50).dtype
    with pytest.raises(IndexError):
        percentile(np.empty(0), 50)  # numpy's own error for empty input
