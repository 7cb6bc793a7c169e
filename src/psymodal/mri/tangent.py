"""Tangent-space connectivity (Varoquaux et al. 2010) as a scikit-learn transformer.

Each subject's covariance matrix :math:`C_s` is whitened by a group reference :math:`G`
(the geometric/Riemannian mean of the *training* subjects' covariances) and mapped to the
tangent space: :math:`T_s = \\log(G^{-1/2} C_s G^{-1/2})`. Off-diagonal entries of
:math:`T_s` are the features, named ``regionA__regionB`` (i < j in region order). Dadi et al.
(2019) found this the best connectome for diagnosis prediction across cohorts.

The reference depends on the group, so the transformer must be fitted on the training
subjects only (inside the cross-validation loop); it follows scikit-learn's fit/transform
contract to make that the natural thing to do in a :class:`~sklearn.pipeline.Pipeline`.

Inputs (``X``) are one of

- an array of covariance matrices, shape (n_subjects, n_regions, n_regions);
- a list of time series, each (n_timepoints_s, n_regions), as arrays or DataFrames (whose
  columns name the regions); covariances are estimated with Ledoit-Wolf shrinkage.

Missing regions (NaN columns in a time series, NaN rows/columns of a covariance) are completed
from the training subjects' mean covariance (:func:`complete_covariance`: the reference's
linear prediction from the observed regions), so the filled edges sit close to the group
reference -- mean imputation in tangent space -- and the matrix stays well conditioned.
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np
import pandas as pd
from scipy.linalg.lapack import dsyevd as _syevd
from scipy.linalg.lapack import dsyevd_lwork as _syevd_lwork
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.covariance import LedoitWolf
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import get_cached_controller

from .connectome import edge_names


def _eigh(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of one symmetric matrix or a stack of them.

    LAPACK's divide-and-conquer ``dsyevd`` called directly, one matrix at a time with its
    workspace sized once: 10-20 % faster on 100-region matrices than ``numpy.linalg.eigh`` on
    the whole stack (``scipy.linalg.eigh`` loses more than that to its checks), and these
    decompositions are most of the in-fold tangent cost. Each (C-ordered) matrix is passed as
    its transpose, which is Fortran-ordered, and LAPACK reads that transpose's lower triangle
    (the matrix's upper one).
    """
    matrices = np.asarray(matrices, dtype=float)
    stack = matrices.reshape(-1, *matrices.shape[-2:])
    p = stack.shape[-1]
    if p == 0 or not len(stack):
        return np.linalg.eigh(matrices)
    lwork, liwork = _syevd_workspace(p)
    vals = np.empty(stack.shape[:-1])
    vecs = np.empty(stack.shape)
    for k, m in enumerate(stack):
        w, v, info = _syevd(m.T, compute_v=1, lower=1, lwork=lwork, liwork=liwork)
        if info != 0:
            raise np.linalg.LinAlgError(f"Eigenvalues did not converge (LAPACK info {info})")
        vals[k], vecs[k] = w, v
    return vals.reshape(matrices.shape[:-1]), vecs.reshape(matrices.shape)


@functools.lru_cache(maxsize=16)
def _syevd_workspace(p: int) -> tuple[int, int]:
    lwork, liwork, info = _syevd_lwork(p, compute_v=1, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"LAPACK dsyevd workspace query failed (info {info})")
    return int(lwork), int(liwork)


def _apply(matrices: np.ndarray, func) -> np.ndarray:
    """Apply ``func`` to the eigenvalues of one symmetric matrix or a stack of them."""
    vals, vecs = _eigh(matrices)
    return (vecs * func(vals)[..., None, :]) @ np.swapaxes(vecs, -1, -2)


def _sqrtm(m):
    return _apply(m, np.sqrt)


def _inv_sqrtm(m):
    return _apply(m, lambda v: 1.0 / np.sqrt(v))


def _logm(m):
    return _apply(m, np.log)


def _expm(m):
    return _apply(m, np.exp)


def _make_spd(m: np.ndarray, eps: float) -> np.ndarray:
    """Symmetrise and clip eigenvalues at ``eps`` times the largest one (stacks allowed)."""
    m = (m + np.swapaxes(m, -1, -2)) / 2
    vals, vecs = _eigh(m)
    floor = eps * np.maximum(vals.max(axis=-1, keepdims=True), np.finfo(float).tiny)
    return (vecs * np.maximum(vals, floor)[..., None, :]) @ np.swapaxes(vecs, -1, -2)


def _threads(n_threads):
    """Context limiting BLAS threads to ``n_threads`` (None: leave as is).

    Through threadpoolctl's cached controller: ``threadpool_limits`` scans the process's
    shared libraries on every call (~6 ms, seconds per learning stage that fits thousands of
    folds); the cached one rescans only after new modules were imported.
    """
    return get_cached_controller().limit(limits=n_threads)


def geometric_mean(
    matrices: np.ndarray,
    max_iter: int = 50,
    tol: float = 1e-6,
    init: np.ndarray | None = None,
    return_logs: bool = False,
):
    """Riemannian (affine-invariant) mean of SPD matrices by gradient descent.

    The first step's size is the inverse of the cost's mean curvature at the start
    (:func:`_curvature_step`), later ones follow from how much the last step shrank the
    gradient (:func:`_secant_step`); the step size is halved whenever the gradient norm grows
    (as in nilearn's ``_geometric_mean``), which keeps ill-conditioned sets from oscillating.

    Parameters
    ----------
    matrices : ndarray, shape (n, p, p)
    max_iter : int
    tol : float
        Stop when the norm of the mean tangent vector, relative to ``sqrt(p)``, is below
        ``tol``.
    init : ndarray, shape (p, p), optional
        Starting point; default the arithmetic mean. The log-Euclidean mean
        (:func:`log_euclidean_mean`) starts closer and saves iterations.
    return_logs : bool
        Also return ``logm(G^-1/2 C_s G^-1/2)`` of every matrix at the returned mean ``G``
        (the tangent vectors :meth:`TangentSpace.transform` computes), or None when the
        iterations ran out before convergence.
    """
    p = matrices.shape[-1]
    mean = matrices.mean(axis=0) if init is None else init
    step, previous, last = 1.0, np.inf, None
    logs = None
    for iteration in range(max_iter):
        vals, vecs = _eigh(mean)
        # as _sqrtm and _inv_sqrtm compute them, so that transform() repeats the last pass
        sq = (vecs * np.sqrt(vals)) @ vecs.T
        isq = (vecs * (1.0 / np.sqrt(vals))) @ vecs.T
        with np.errstate(invalid="ignore", divide="ignore"):
            w, v = _eigh(isq @ matrices @ isq)
            log_w = np.log(w)
        logs = (v * log_w[:, None, :]) @ np.swapaxes(v, -1, -2)
        tangent = logs.mean(axis=0)
        norm = np.linalg.norm(tangent) / np.sqrt(p)
        if not np.isfinite(norm):
            raise ValueError("Geometric mean diverged: the matrices are not all SPD.")
        if norm < tol:
            break
        logs = None  # the mean moves: these logs no longer belong to it
        if iteration == 0:
            step = _curvature_step(log_w)
        elif norm > previous:
            step /= 2
        elif last is not None:
            step = _secant_step(step, tangent, last)
        previous, last = norm, tangent
        mean = sq @ _expm(step * tangent) @ sq
        mean = (mean + mean.T) / 2
    return (mean, logs) if return_logs else mean


def _curvature_step(log_eigenvalues: np.ndarray) -> float:
    r"""Inverse of the mean curvature of the cost at the current mean, from the logarithms of
    the whitened matrices' eigenvalues.

    In the eigenbasis of a whitened matrix :math:`W_s` with log-eigenvalues :math:`l_i`, the
    Hessian of :math:`\frac12 d^2(G, C_s)` scales the :math:`(i, j)` coordinate of a step by
    :math:`\frac{\theta}{2}\coth\frac{\theta}{2} \ge 1`, :math:`\theta = l_i - l_j`.
    A unit step suits matrices close together (all factors near 1) but overshoots dispersed
    ones (the gradient grows and the step is halved, a wasted iteration); the inverse of the
    mean factor saves one of the 6-7 iterations on ABIDE connectomes.
    """
    n, p = log_eigenvalues.shape
    i, j = np.triu_indices(p, k=1)  # the factor is symmetric in (i, j) and 1 on the diagonal
    total = float(n * p)
    chunk = max(1, 2**21 // max(len(i), 1))  # subjects at a time: bounded memory
    for start in range(0, n, chunk):
        logs = log_eigenvalues[start : start + chunk]
        # x / tanh(x) -> 1 as x -> 0; the floor keeps 0 / 0 away and gives 1.0 exactly
        theta = np.maximum(np.abs(logs[:, i] - logs[:, j]) / 2, 1e-12)
        total += 2.0 * float((theta / np.tanh(theta)).sum())
    return n * p * p / total


def _secant_step(step: float, tangent: np.ndarray, last: np.ndarray) -> float:
    """Step size from how much the last step shrank the mean tangent vector.

    With a fixed step of 1 the error shrinks by a constant factor (about 0.5 for dispersed
    connectomes: the cost's curvature exceeds 1 on the SPD manifold). If the last step ``t``
    took the gradient from ``last`` to about ``c * last``, the curvature along it is
    ``(1 - c) / t`` and its inverse is the step that would have zeroed it; this cuts the
    iterations by 2-3 on ABIDE connectomes. Kept within [0.1, 1.5]; the caller still halves
    the step whenever the gradient grows, and convergence is checked on the exact gradient.
    """
    c = float(np.vdot(tangent, last) / np.vdot(last, last))
    return float(np.clip(step / max(1.0 - c, 0.2), 0.1, 1.5))


def log_euclidean_mean(logs: np.ndarray) -> np.ndarray:
    """``expm(mean_s logm(C_s))`` from the subjects' matrix logarithms."""
    return _expm(logs.mean(axis=0))


# Per-subject work that does not depend on the training fold, shared by every fold and every
# clone in this process (cross-validation clones the transformer for each fold, nested CV for
# each inner fold): a complete covariance's SPD projection and its matrix logarithm, keyed by
# the matrix's bytes and the eigenvalue floor.
_SUBJECT_CACHE: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
_SUBJECT_CACHE_BYTES = 512 * 2**20


# Fitted references, shared the same way: a permutation test re-splits the same subjects into
# folds, so a training set recurs (in the same order) across permutations, and models of the
# same block fit the same training rows (e.g. the block alone and with the confounds). Keyed by
# the training matrices' keys in order and every parameter the fit depends on; the same input
# goes through the same computation, so a hit returns the bytes a refit would compute.
_FIT_CACHE: dict[bytes, tuple[tuple, int]] = {}
_FIT_CACHE_BYTES = 256 * 2**20


# Tangent vectors of subjects under a fitted reference: cross-validation asks for the same test
# subjects' vectors under the same (cached) reference from several models of a block, and the
# permutation importance from every permuted copy of a test fold. Keyed by the reference's and
# fill's bytes, the settings of the output and the subject's key; each subject's vector is
# computed matrix by matrix, so it does not depend on which subjects come with it.
_VECTOR_CACHE: dict[bytes, np.ndarray] = {}
_VECTOR_CACHE_BYTES = 128 * 2**20


_vector_cache_used = [0]  # bytes held by _VECTOR_CACHE


def _remember_vector(key: bytes, row: np.ndarray) -> None:
    """Store a copy of one subject's tangent vector, evicting the oldest first."""
    if row.nbytes > _VECTOR_CACHE_BYTES:
        return
    while _VECTOR_CACHE and _vector_cache_used[0] + row.nbytes > _VECTOR_CACHE_BYTES:
        _vector_cache_used[0] -= _VECTOR_CACHE.pop(next(iter(_VECTOR_CACHE))).nbytes
    row = row.copy()
    row.flags.writeable = False
    _VECTOR_CACHE[key] = row
    _vector_cache_used[0] += row.nbytes


def clear_fit_caches() -> None:
    """Empty the in-process caches of fitted references and tangent vectors.

    Results do not depend on them; benchmarks that repeat the same cross-validation in one
    process call this so that every repeat fits afresh (the per-subject cache stays).
    """
    _FIT_CACHE.clear()
    _VECTOR_CACHE.clear()
    _vector_cache_used[0] = 0


def _subject_keys(matrices: np.ndarray, eps: float) -> list[bytes]:
    """A digest of each matrix's bytes and the eigenvalue floor (the caches' keys)."""
    tag = repr(eps).encode()
    keys = []
    for m in matrices:
        # the digest of m.tobytes() + tag, without copying the matrix into a bytes object
        h = hashlib.blake2b(np.ascontiguousarray(m), digest_size=16)
        h.update(tag)
        keys.append(h.digest())
    return keys


def _remember_fit(key: bytes, arrays: tuple) -> None:
    """Store a fit's arrays (read-only) in :data:`_FIT_CACHE`, evicting the oldest first."""
    size = sum(a.nbytes for a in arrays if a is not None)
    if size > _FIT_CACHE_BYTES:
        return
    while _FIT_CACHE and sum(n for _, n in _FIT_CACHE.values()) + size > _FIT_CACHE_BYTES:
        _FIT_CACHE.pop(next(iter(_FIT_CACHE)))
    for a in arrays:
        if a is not None:
            a.flags.writeable = False
    _FIT_CACHE[key] = (arrays, size)


def _spd_and_log(
    matrices: np.ndarray, eps: float, keys: list[bytes] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_make_spd` of each complete matrix and its ``logm``, computed once per matrix
    (``keys``: the matrices' :func:`_subject_keys`, when already computed)."""
    if keys is None:
        keys = _subject_keys(matrices, eps)
    todo = [k for k, key in enumerate(keys) if key not in _SUBJECT_CACHE]
    if todo:
        m = matrices[todo]
        m = (m + np.swapaxes(m, -1, -2)) / 2
        vals, vecs = _eigh(m)
        floor = eps * np.maximum(vals.max(axis=-1, keepdims=True), np.finfo(float).tiny)
        vals = np.maximum(vals, floor)
        spd = (vecs * vals[..., None, :]) @ np.swapaxes(vecs, -1, -2)
        logs = (vecs * np.log(vals)[..., None, :]) @ np.swapaxes(vecs, -1, -2)
        size = spd[0].nbytes * 2
        for k, a, b in zip(todo, spd, logs, strict=True):
            if len(_SUBJECT_CACHE) * size >= _SUBJECT_CACHE_BYTES:
                _SUBJECT_CACHE.pop(next(iter(_SUBJECT_CACHE)))  # the oldest first
            _SUBJECT_CACHE[keys[k]] = (a, b)
        if len(todo) == len(keys):  # nothing cached (or all evicted): use what was computed
            return spd, logs
    pairs = [_SUBJECT_CACHE[key] for key in keys]
    return np.stack([a for a, _ in pairs]), np.stack([b for _, b in pairs])


class TangentSpace(TransformerMixin, BaseEstimator):
    """Tangent-space embedding of connectivity matrices, fitted on training subjects only.

    Parameters
    ----------
    input : {'auto', 'covariance', 'timeseries'}, default='auto'
        What ``X`` holds. ``auto``: a 3D array whose last two axes are equal and whose
        matrices are symmetric is read as covariances, anything else as time series.
    region_names : list of str, optional
        Names for the output features; default the DataFrame columns of the first time
        series seen in ``fit``, else ``region001``...
    discard_diagonal : bool, default=True
        Output only i < j edges; when False, the diagonal (``regionA__regionA``) follows.
    eps : float, default=1e-6
        Eigenvalue floor (relative) that keeps filled or rank-deficient matrices SPD.
    max_iter : int, default=50
        Iterations of the geometric-mean estimation.
    tol : float, default=1e-5
        Convergence tolerance of the geometric mean (norm of the mean tangent vector over
        ``sqrt(n_regions)``); iterations stop once it is reached (6 passes on ABIDE folds).
    n_threads : int or None, default=1
        BLAS threads during fit/transform (None: leave as is). Many small eigendecompositions
        run several times faster on one thread than on two.

    Attributes
    ----------
    reference_ : ndarray, shape (n_regions, n_regions)
        Geometric mean of the training covariances.
    whitening_ : ndarray
        ``reference_ ** -1/2``.
    fill_ : ndarray
        Arithmetic mean covariance of the training subjects, used to fill missing regions.
    region_names_ : list of str
    n_regions_ : int
    n_features_out_ : int
    """

    def __init__(
        self,
        input="auto",
        region_names=None,
        discard_diagonal=True,
        eps=1e-6,
        max_iter=50,
        tol=1e-5,
        n_threads=1,
    ):
        self.input = input
        self.region_names = region_names
        self.discard_diagonal = discard_diagonal
        self.eps = eps
        self.max_iter = max_iter
        self.tol = tol
        self.n_threads = n_threads

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # samples are matrices or variable-length time series, not rows of a 2D array
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = True
        return tags

    # -- input handling ----------------------------------------------------------------------
    def _covariances(self, X) -> tuple[np.ndarray, list[str] | None]:
        kind = self.input
        if kind not in ("auto", "covariance", "timeseries"):
            raise ValueError(f"input must be 'auto', 'covariance' or 'timeseries', not {kind!r}")
        names = None
        if isinstance(X, np.ndarray) and X.ndim == 3 and kind in ("auto", "covariance"):
            square = X.shape[1] == X.shape[2]
            if kind == "covariance" or (
                square and np.allclose(X, np.swapaxes(X, 1, 2), equal_nan=True)
            ):
                if not square:
                    raise ValueError(f"Covariance input must be (n, p, p), got {X.shape}.")
                return np.asarray(X, dtype=float), None
        if kind == "covariance":
            raise ValueError("input='covariance' needs an array of shape (n, p, p).")
        if isinstance(X, np.ndarray) and X.ndim == 2:
            raise ValueError(
                "TangentSpace needs one covariance matrix or time series per subject: an "
                "array (n_subjects, n_regions, n_regions) or a list of (time, regions) arrays."
            )
        series = list(X)
        if not series:
            raise ValueError("TangentSpace got no subjects.")
        if isinstance(series[0], pd.DataFrame):
            names = [str(c) for c in series[0].columns]
        covs = []
        for ts in series:
            values = np.asarray(ts, dtype=float)
            if values.ndim != 2:
                raise ValueError(
                    f"Each time series must be 2D (time, regions), got {values.shape}."
                )
            covs.append(_ledoit_wolf_with_nan(values))
        p = {c.shape[0] for c in covs}
        if len(p) != 1:
            raise ValueError(f"Time series have different numbers of regions: {sorted(p)}.")
        return np.stack(covs), names

    def _fill(
        self, covs: np.ndarray, fill: np.ndarray, keys: list[bytes] | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """SPD matrices (missing regions completed from ``fill``) and, when every matrix was
        complete, their logarithms (both computed once per subject, see :func:`_spd_and_log`)."""
        incomplete = np.flatnonzero(~np.isfinite(covs).all(axis=(1, 2)))
        if not len(incomplete):
            return _spd_and_log(covs, self.eps, keys)
        out = covs.copy()
        for k in incomplete:
            out[k] = complete_covariance(covs[k], fill)
        return _make_spd(out, self.eps), None

    # -- sklearn API -------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Estimate the group reference (geometric mean) from the training subjects.

        Parameters
        ----------
        X : array (n, p, p) or list of (time, p) arrays/DataFrames
        y : ignored

        Returns
        -------
        self
        """
        self._fit(X)
        return self

    def _fit(self, X) -> np.ndarray | None:
        """Fit; return the training subjects' tangent vectors when the mean converged."""
        with _threads(self.n_threads):
            covs, names = self._covariances(X)
        n, p = covs.shape[0], covs.shape[1]
        if n < 1:
            raise ValueError("TangentSpace needs at least one subject to fit.")
        given = self.region_names if self.region_names is not None else names
        self.region_names_ = (
            [str(r) for r in given]
            if given is not None
            else [f"region{k + 1:03d}" for k in range(p)]
        )
        if len(self.region_names_) != p:
            raise ValueError(f"{len(self.region_names_)} region names for {p} regions.")
        self.n_regions_ = p
        self.n_features_out_ = len(self.get_feature_names_out())
        keys = _subject_keys(covs, self.eps)
        settings = (covs.shape, self.eps, self.max_iter, self.tol, self.n_threads)
        settings += (bool(self.discard_diagonal),)  # the cached tangent vectors' layout
        key = hashlib.blake2b(b"".join(keys) + repr(settings).encode()).digest()
        if key in _FIT_CACHE:  # the estimator's own copies: the cached arrays are shared
            *arrays, vectors = _FIT_CACHE[key][0]
            self.fill_, self.reference_, self.whitening_ = (a.copy() for a in arrays)
            return vectors
        with np.errstate(invalid="ignore"):
            fill = np.nanmean(np.where(np.isfinite(covs), covs, np.nan), axis=0)
        # a region missing in every training subject: independent unit-variance placeholder
        fill = np.where(np.isfinite(fill), fill, np.eye(p))
        with _threads(self.n_threads):
            self.fill_ = _make_spd(fill, self.eps)
            filled, logs = self._fill(covs, self.fill_, keys)
            init = None if logs is None else log_euclidean_mean(logs)
            self.reference_, logs = geometric_mean(
                filled, max_iter=self.max_iter, tol=self.tol, init=init, return_logs=True
            )
            self.whitening_ = _inv_sqrtm(self.reference_)
        vectors = None if logs is None else self._vectorize(logs)
        arrays = (self.fill_, self.reference_, self.whitening_)
        _remember_fit(key, (*(a.copy() for a in arrays), vectors))
        return vectors

    def transform(self, X):
        """Tangent vectors of the subjects in ``X`` relative to the fitted reference.

        Returns
        -------
        ndarray, shape (n_subjects, n_features_out_)
        """
        check_is_fitted(self, "reference_")
        with _threads(self.n_threads):
            covs, _ = self._covariances(X)
        if covs.shape[1] != self.n_regions_:
            raise ValueError(
                f"X has {covs.shape[1]} regions; TangentSpace was fitted with {self.n_regions_}."
            )
        settings = (self.eps, self.n_threads, bool(self.discard_diagonal), self.n_regions_)
        fitted = hashlib.blake2b(self.whitening_.tobytes() + self.fill_.tobytes())
        fitted.update(repr(settings).encode())
        keys = _subject_keys(covs, self.eps)
        vector_keys = [fitted.digest() + k for k in keys]
        found = {k: _VECTOR_CACHE.get(key) for k, key in enumerate(vector_keys)}
        todo = [k for k, row in found.items() if row is None]
        if todo:
            with _threads(self.n_threads):
                filled, _ = self._fill(covs[todo], self.fill_, [keys[k] for k in todo])
                tangent = _logm(self.whitening_ @ filled @ self.whitening_)
            vectors = self._vectorize(tangent)
            for k, row in zip(todo, vectors, strict=True):
                found[k] = row
                _remember_vector(vector_keys[k], row)
            if len(todo) == len(keys):
                return vectors
        return np.stack([found[k] for k in range(len(keys))])

    def fit_transform(self, X, y=None):
        """:meth:`fit`, then :meth:`transform` of the same subjects (the tangent vectors of the
        geometric mean's last iteration, which are those ``transform`` computes)."""
        vectors = self._fit(X)
        return self.transform(X) if vectors is None else vectors.copy()

    def _vectorize(self, tangent: np.ndarray) -> np.ndarray:
        iu = np.triu_indices(self.n_regions_, k=1)
        out = tangent[:, iu[0], iu[1]]
        if not self.discard_diagonal:
            diag = np.arange(self.n_regions_)
            out = np.concatenate([out, tangent[:, diag, diag]], axis=1)
        return out

    def get_feature_names_out(self, input_features=None):
        """``regionA__regionB`` for i < j (then ``regionA__regionA`` if the diagonal is kept)."""
        check_is_fitted(self, "region_names_")
        names = edge_names(self.region_names_)
        if not self.discard_diagonal:
            names += [f"{r}__{r}" for r in self.region_names_]
        return np.asarray(names, dtype=object)


def complete_covariance(cov: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Fill the NaN rows/columns of a covariance from a reference (Gaussian completion).

    The missing regions ``m`` are modelled as the reference's linear prediction from the
    observed ones ``o`` plus independent residuals: ``x_m = A x_o + e`` with
    ``A = R_mo R_oo^-1`` and ``cov(e) = R_mm - R_mo R_oo^-1 R_om``. Then ``C_mo = A C_oo``
    and ``C_mm = A C_oo A' + cov(e)``, which keeps the matrix positive definite (copying the
    reference's entries would not) so the tangent projection stays well conditioned.
    """
    obs = np.isfinite(cov).all(axis=0)
    if obs.all():
        return cov
    m, o = ~obs, obs
    out = np.array(reference, dtype=float, copy=True)
    if not o.any():
        return out
    c_oo = cov[np.ix_(o, o)]
    r_oo, r_mo = reference[np.ix_(o, o)], reference[np.ix_(m, o)]
    a = np.linalg.solve(r_oo, r_mo.T).T
    resid = reference[np.ix_(m, m)] - a @ r_mo.T
    out[np.ix_(o, o)] = c_oo
    out[np.ix_(m, o)] = a @ c_oo
    out[np.ix_(o, m)] = (a @ c_oo).T
    out[np.ix_(m, m)] = a @ c_oo @ a.T + resid
    return out


def _ledoit_wolf_with_nan(values: np.ndarray) -> np.ndarray:
    """Ledoit-Wolf covariance of the finite, non-constant columns; NaN rows/columns elsewhere."""
    finite = np.isfinite(values).all(axis=0)
    ok = finite.copy()
    ok[finite] = values[:, finite].std(axis=0) > 0
    p = values.shape[1]
    cov = np.full((p, p), np.nan)
    if ok.sum() >= 1:
        est = LedoitWolf(store_precision=False).fit(values[:, ok])
        cov[np.ix_(ok, ok)] = est.covariance_
    return cov


def covariances_from_timeseries(series) -> np.ndarray:
    """Stack Ledoit-Wolf covariances of several (time, regions) tables (NaN for missing)."""
    return np.stack([_ledoit_wolf_with_nan(np.asarray(ts, dtype=float)) for ts in series])
