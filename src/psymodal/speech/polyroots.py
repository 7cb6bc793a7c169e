"""Roots of many small real polynomials at once (the LPC polynomials of the formant tracker).

``numpy.linalg.eigvals`` of the companion matrices (what ``numpy.roots`` does) costs about
60 microseconds per order-11 polynomial through LAPACK's general ``dgeev``, most of it call
and workspace overhead at this size: it was the largest single cost of eGeMAPS' formants. The
kernel here runs the same algorithm family on each companion matrix in a numba loop: balancing
(powers of two, as LAPACK's ``dgebal``), then the Francis double-shift QR iteration on the
upper-Hessenberg matrix (the EISPACK ``hqr`` algorithm, Wilkinson & Reinsch 1971). Both are
backward stable, so the roots agree with LAPACK's to rounding; a polynomial whose iteration
does not converge is handed to ``numpy.linalg.eigvals``.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["monic_roots"]

# Iterations allowed per root before a polynomial is handed to LAPACK (EISPACK's limit).
_MAX_ITERATIONS = 30


def monic_roots(coefs: np.ndarray) -> np.ndarray:
    """Complex roots of monic real polynomials, one polynomial per row.

    Parameters
    ----------
    coefs : numpy.ndarray, shape (n, order)
        Coefficients ``a_1 .. a_order`` of ``z^order + a_1 z^(order-1) + ... + a_order``.

    Returns
    -------
    numpy.ndarray, shape (n, order), complex
        The roots of each row, in no particular order (the eigenvalues of the companion matrix
        whose first row is ``-coefs``).
    """
    coefs = np.ascontiguousarray(coefs, dtype=np.float64)
    n, order = coefs.shape
    if order == 0:
        return np.empty((n, 0), dtype=complex)
    re, im, ok = _companion_roots(coefs)
    roots = re + 1j * im
    if not ok.all():
        roots[~ok] = np.linalg.eigvals(_companion(coefs[~ok]))
    return roots


def _companion(coefs: np.ndarray) -> np.ndarray:
    """Companion matrices (first row ``-coefs``, ones below the diagonal), as ``numpy.roots``."""
    n, order = coefs.shape
    comp = np.zeros((n, order, order))
    comp[:, 0, :] = -coefs
    comp[:, np.arange(1, order), np.arange(order - 1)] = 1.0
    return comp


@numba.njit(cache=True)
def _companion_roots(coefs):  # pragma: no cover - JIT
    """Real and imaginary parts of each row's roots, and whether the iteration converged."""
    n, order = coefs.shape
    re = np.zeros((n, order))
    im = np.zeros((n, order))
    ok = np.ones(n, dtype=np.bool_)
    a = np.empty((order, order))
    for row in range(n):
        a[:, :] = 0.0
        for j in range(order):
            a[0, j] = -coefs[row, j]
        for i in range(1, order):
            a[i, i - 1] = 1.0
        _balance(a)
        ok[row] = _hqr(a, re[row], im[row])
    return re, im, ok


@numba.njit(cache=True)
def _balance(a):  # pragma: no cover - JIT
    """Scale rows and columns by powers of 2 so that their norms are similar (in place)."""
    n = a.shape[0]
    radix = 2.0
    sqrdx = radix * radix
    done = False
    while not done:
        done = True
        for i in range(n):
            r = 0.0
            c = 0.0
            for j in range(n):
                if j != i:
                    c += abs(a[j, i])
                    r += abs(a[i, j])
            if c != 0.0 and r != 0.0:
                g = r / radix
                f = 1.0
                s = c + r
                while c < g:
                    f *= radix
                    c *= sqrdx
                g = r * radix
                while c > g:
                    f /= radix
                    c /= sqrdx
                if (c + r) / f < 0.95 * s:
                    done = False
                    g = 1.0 / f
                    for j in range(n):
                        a[i, j] *= g
                    for j in range(n):
                        a[j, i] *= f


@numba.njit(cache=True)
def _hqr(a, wr, wi):  # pragma: no cover - JIT
    """Eigenvalues of the upper-Hessenberg ``a`` (destroyed) into ``wr`` + i ``wi``.

    Francis double-shift QR with deflation on negligible subdiagonal elements and exceptional
    shifts after 10 and 20 iterations (EISPACK ``hqr``). Returns False when a root needs more
    than ``_MAX_ITERATIONS`` iterations.
    """
    n = a.shape[0]
    anorm = 0.0
    for i in range(n):
        for j in range(max(i - 1, 0), n):
            anorm += abs(a[i, j])
    nn = n - 1
    t = 0.0
    p = q = r = s = w = x = y = z = 0.0
    while nn >= 0:
        its = 0
        while True:
            # Look for a single small subdiagonal element.
            low = nn
            while low >= 1:
                s = abs(a[low - 1, low - 1]) + abs(a[low, low])
                if s == 0.0:
                    s = anorm
                if abs(a[low, low - 1]) + s == s:
                    a[low, low - 1] = 0.0
                    break
                low -= 1
            x = a[nn, nn]
            if low == nn:  # one root found
                wr[nn] = x + t
                wi[nn] = 0.0
                nn -= 1
                break
            y = a[nn - 1, nn - 1]
            w = a[nn, nn - 1] * a[nn - 1, nn]
            if low == nn - 1:  # two roots found
                p = 0.5 * (y - x)
                q = p * p + w
                z = np.sqrt(abs(q))
                x += t
                if q >= 0.0:  # a real pair
                    z = p + (z if p >= 0.0 else -z)
                    wr[nn - 1] = wr[nn] = x + z
                    if z != 0.0:
                        wr[nn] = x - w / z
                    wi[nn - 1] = wi[nn] = 0.0
                else:  # a complex pair
                    wr[nn - 1] = wr[nn] = x + p
                    wi[nn - 1] = -z
                    wi[nn] = z
                nn -= 2
                break
            if its == _MAX_ITERATIONS:
                return False
            if its == 10 or its == 20:  # exceptional shift
                t += x
                for i in range(nn + 1):
                    a[i, i] -= x
                s = abs(a[nn, nn - 1]) + abs(a[nn - 1, nn - 2])
                y = x = 0.75 * s
                w = -0.4375 * s * s
            its += 1
            # Form the shift and look for two consecutive small subdiagonal elements.
            m = nn - 2
            while m >= low:
                z = a[m, m]
                r = x - z
                s = y - z
                p = (r * s - w) / a[m + 1, m] + a[m, m + 1]
                q = a[m + 1, m + 1] - z - r - s
                r = a[m + 2, m + 1]
                s = abs(p) + abs(q) + abs(r)
                p /= s
                q /= s
                r /= s
                if m == low:
                    break
                u = abs(a[m, m - 1]) * (abs(q) + abs(r))
                v = abs(p) * (abs(a[m - 1, m - 1]) + abs(z) + abs(a[m + 1, m + 1]))
                if u + v == v:
                    break
                m -= 1
            for i in range(m + 2, nn + 1):
                a[i, i - 2] = 0.0
                if i != m + 2:
                    a[i, i - 3] = 0.0
            # Double QR step on rows low..nn and columns m..nn.
            for k in range(m, nn):
                if k != m:
                    p = a[k, k - 1]
                    q = a[k + 1, k - 1]
                    r = 0.0
                    if k != nn - 1:
                        r = a[k + 2, k - 1]
                    x = abs(p) + abs(q) + abs(r)
                    if x != 0.0:
                        p /= x
                        q /= x
                        r /= x
                s = np.sqrt(p * p + q * q + r * r)
                if p < 0.0:
                    s = -s
                if s != 0.0:
                    if k == m:
                        if low != m:
                            a[k, k - 1] = -a[k, k - 1]
                    else:
                        a[k, k - 1] = -s * x
                    p += s
                    x = p / s
                    y = q / s
                    z = r / s
                    q /= p
                    r /= p
                    for j in range(k, nn + 1):  # row modification
                        p = a[k, j] + q * a[k + 1, j]
                        if k != nn - 1:
                            p += r * a[k + 2, j]
                            a[k + 2, j] -= p * z
                        a[k + 1, j] -= p * y
                        a[k, j] -= p * x
                    mmin = nn if nn < k + 3 else k + 3
                    for i in range(low, mmin + 1):  # column modification
                        p = x * a[i, k] + y * a[i, k + 1]
                        if k != nn - 1:
                            p += z * a[i, k + 2]
                            a[i, k + 2] -= p * r
                        a[i, k + 1] -= p * q
                        a[i, k] -= p
    return True
