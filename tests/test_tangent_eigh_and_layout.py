"""The in-fold tangent CV's faster pieces give what the plain computations give."""

from __future__ import annotations

import numpy as np
import pytest

from psymodal.learn.transformers import _kept_positions, tangent_layout
from psymodal.mri import tangent


def test_direct_lapack_eigh_matches_numpy():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 7, 30))
    stack = a @ np.swapaxes(a, 1, 2) / 30
    vals, vecs = tangent._eigh(stack)
    np.testing.assert_allclose(vals, np.linalg.eigvalsh(stack), rtol=1e-12, atol=1e-12)
    rebuilt = (vecs * vals[:, None, :]) @ np.swapaxes(vecs, 1, 2)
    np.testing.assert_allclose(rebuilt, stack, atol=1e-12)
    one_vals, one_vecs = tangent._eigh(stack[2])  # a single matrix: the same shapes as numpy
    assert one_vals.shape == (7,) and one_vecs.shape == (7, 7)
    np.testing.assert_array_equal(one_vals, vals[2])


def test_curvature_step_is_one_for_equal_spectra_and_smaller_for_dispersed_ones():
    assert tangent._curvature_step(np.zeros((4, 5))) == pytest.approx(1.0)
    theta = np.array([[0.0, 2.0]])  # one pair, x = 1: the factor 1 / tanh(1)
    expected = 4 / (2 + 2 / np.tanh(1.0))
    assert tangent._curvature_step(theta) == pytest.approx(expected)


@pytest.mark.parametrize("discard", [True, False])
def test_kept_positions_match_the_output_names(discard):
    regions = [f"R{k}" for k in range(6)]
    edges = [f"{a}__{b}" for k, a in enumerate(regions) for b in regions[k:]]
    _, names = tangent_layout(edges, discard)
    keep = np.array([0, 2, 3, 5])
    kept = [regions[k] for k in keep]
    _, kept_names = tangent_layout([f"{a}__{b}" for a in kept for b in kept], discard)
    full = {n: k for k, n in enumerate(names)}
    assert list(_kept_positions(keep, len(regions), discard)) == [full[n] for n in kept_names]
