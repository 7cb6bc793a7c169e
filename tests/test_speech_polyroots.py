"""The batched polynomial-root kernel against numpy's companion-matrix eigenvalues."""

import numpy as np
import pytest

from psymodal.speech.polyroots import _companion, monic_roots


def _matched_error(ours: np.ndarray, ref: np.ndarray) -> float:
    """Largest distance from a root of ``ours`` to its partner in ``ref`` (greedy matching)."""
    worst = 0.0
    for row_ours, row_ref in zip(ours, ref, strict=True):
        left = list(row_ref)
        for root in row_ours:
            j = int(np.argmin([abs(root - other) for other in left]))
            worst = max(worst, abs(root - left.pop(j)))
    return worst


def _lpc_like(n: int, order: int, seed: int) -> np.ndarray:
    """Coefficients of polynomials with separated roots inside the unit circle (as LPC)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        pairs = order // 2
        # One resonance per band of the upper half-plane, apart as formants are.
        spacing = np.pi / max(pairs, 1)
        angle = (np.arange(pairs) + 0.5 + rng.uniform(-0.25, 0.25, pairs)) * spacing
        radius = rng.uniform(0.5, 0.98, pairs)
        roots = np.concatenate([radius * np.exp(1j * angle), radius * np.exp(-1j * angle)])
        if order % 2:
            roots = np.append(roots, rng.uniform(-0.9, 0.9))
        rows.append(np.poly(roots).real[1:])
    return np.array(rows)


@pytest.mark.parametrize("order", [1, 2, 3, 11])
def test_roots_equal_numpy_eigvals(order):
    coefs = _lpc_like(200, order, seed=order)
    ours = monic_roots(coefs)
    ref = np.linalg.eigvals(_companion(coefs))
    assert ours.shape == ref.shape
    assert _matched_error(ours, ref) < 1e-10


def test_real_and_degenerate_polynomials():
    rng = np.random.default_rng(0)
    coefs = np.vstack(
        [
            rng.standard_normal((50, 11)),  # general real polynomials
            np.zeros((1, 11)),  # z^11: eleven roots at 0
            np.poly(np.arange(1, 12) / 12.0)[1:][None, :],  # eleven real roots
            np.eye(11)[[10]],  # z^11 + 1: the 11th roots of -1
        ]
    )
    ours = monic_roots(coefs)
    ref = np.linalg.eigvals(_companion(coefs))
    assert np.all(np.isfinite(ours))
    assert _matched_error(ours[:50], ref[:50]) < 1e-10
    assert np.abs(ours[50]).max() < 1e-12
    assert _matched_error(ours[-1:], ref[-1:]) < 1e-10
    # Eleven real roots are ill-conditioned: each is found to the conditioning's accuracy.
    assert _matched_error(ours[51:52], ref[51:52]) < 1e-4
    assert monic_roots(np.empty((0, 11))).shape == (0, 11)


def test_unconverged_rows_go_to_lapack(monkeypatch):
    from psymodal.speech import polyroots

    coefs = _lpc_like(4, 11, seed=5)
    kernel = polyroots._companion_roots

    def failing(c):
        re, im, ok = kernel(c)
        ok[1] = False
        return np.full_like(re, np.nan), im, ok

    monkeypatch.setattr(polyroots, "_companion_roots", failing)
    ours = monic_roots(coefs)
    assert np.all(np.isnan(ours[[0, 2, 3]].real))
    assert _matched_error(ours[1:2], np.linalg.eigvals(_companion(coefs[1:2]))) < 1e-12
