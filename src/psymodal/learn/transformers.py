"""scikit-learn transformers used inside the cross-validation folds.

Covariates (site, age, sex) travel as designated columns of ``X`` rather than as a side channel,
so that every transformer is fitted on the training fold only by the ordinary Pipeline/CV
machinery. Designated columns are named (when ``X`` is a DataFrame) or integer positions; the
transformers that consume them drop them from their output.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


def _validate_fitted(estimator, X, **kwargs):
    """``validate_data(estimator, X, ensure_all_finite="allow-nan", reset=False, **kwargs)``.

    A plain 2D float64 array of the fitted width, without infinities, passes as it is: the
    cross-validation hands these transformers such arrays thousands of times per run, and
    scikit-learn's checks (dataframe detection, feature names) cost more than the transform.
    Anything else goes through scikit-learn (and its errors and warnings).
    """
    if (
        type(X) is np.ndarray
        and X.dtype == np.float64
        and X.ndim == 2
        and X.shape[0] >= 1
        and X.shape[1] == getattr(estimator, "n_features_in_", None)
        and not hasattr(estimator, "feature_names_in_")
        and not np.isinf(X).any()
    ):
        return X
    return validate_data(estimator, X, ensure_all_finite="allow-nan", reset=False, **kwargs)


class ModalityBlockSelector(TransformerMixin, BaseEstimator):
    """Select the columns of one or more modality blocks (and covariates) from ``X``.

    Parameters
    ----------
    columns : list of str or int, optional
        Column names (``X`` a DataFrame) or positions to keep, in this order. ``None`` keeps all.

    Notes
    -----
    A DataFrame input gives a DataFrame output, so that later steps can find designated
    covariate columns by name.
    """

    def __init__(self, columns=None):
        self.columns = columns

    def fit(self, X, y=None):
        """Record the input columns and check that the selected ones exist."""
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
            self.n_features_in_ = X.shape[1]
            if self.columns is not None:
                missing = [c for c in self.columns if c not in X.columns]
                if missing:
                    raise ValueError(f"columns not in X: {missing[:5]}")
        else:
            X = validate_data(self, X, ensure_all_finite="allow-nan", reset=True)
        self._positions = self._resolve(self.n_features_in_)
        return self

    def _resolve(self, n_features):
        if self.columns is None:
            return np.arange(n_features)
        if hasattr(self, "feature_names_in_"):
            index = {name: i for i, name in enumerate(self.feature_names_in_)}
            return np.array([index[c] if isinstance(c, str) else int(c) for c in self.columns])
        return np.asarray(self.columns, dtype=int)

    def transform(self, X):
        """Return the selected columns."""
        check_is_fitted(self, "_positions")
        if isinstance(X, pd.DataFrame):
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, expected {self.n_features_in_}")
            return X.iloc[:, self._positions]
        X = _validate_fitted(self, X)
        return X[:, self._positions]

    def get_feature_names_out(self, input_features=None):
        """Names of the selected columns."""
        check_is_fitted(self, "_positions")
        if hasattr(self, "feature_names_in_"):
            return np.asarray(self.feature_names_in_, dtype=object)[self._positions]
        return np.asarray([f"x{i}" for i in self._positions], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _resolve_positions(spec, n_features: int, names: list[str] | None) -> list[int]:
    """Positions of designated columns given as names, integers (negative from the end)."""
    if spec is None:
        return []
    items = [spec] if isinstance(spec, str | int | np.integer) else list(spec)
    out = []
    for item in items:
        if isinstance(item, str):
            if names is None or item not in names:
                raise ValueError(f"designated column '{item}' not in X")
            out.append(names.index(item))
        else:
            if not -n_features <= int(item) < n_features:
                raise ValueError(f"designated column {item} out of range for {n_features} columns")
            out.append(int(item) % n_features)
    return out


class _DesignatedColumnsMixin:
    """Validation shared by the transformers that take covariates as columns of X."""

    def _split(self, X, reset: bool):
        names = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
        arr = validate_data(
            self, X, ensure_all_finite="allow-nan", reset=reset, dtype=np.float64, copy=False
        )
        if names is None and hasattr(self, "feature_names_in_"):
            names = [str(c) for c in self.feature_names_in_]
        n = arr.shape[1]
        site = _resolve_positions(getattr(self, "site_column", None), n, names)
        cov = _resolve_positions(self.covariate_columns, n, names)
        designated = set(site) | set(cov)
        feat = [i for i in range(n) if i not in designated]
        if not feat:
            raise ValueError(
                f"X has {n} feature(s), all designated as covariates: nothing to transform"
            )
        if reset:
            self._feature_pos = feat
        return arr[:, feat], arr[:, cov], (arr[:, site[0]] if site else None), names

    def get_feature_names_out(self, input_features=None):
        """Names of the output (non-designated) columns."""
        check_is_fitted(self, "_feature_pos")
        if hasattr(self, "feature_names_in_"):
            return np.asarray(self.feature_names_in_, dtype=object)[self._feature_pos]
        return np.asarray([f"x{i}" for i in self._feature_pos], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _one_hot(codes: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Indicators of ``levels[1:]`` (reference coding); NaN or unseen codes give all zeros."""
    return (codes[:, None] == np.asarray(levels)[None, 1:]).astype(float)


def _lstsq_nan(design: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Least squares of every column of ``Y`` on ``design``, ignoring missing values of Y.

    The common case, rows either complete or entirely missing (an absent modality), is solved
    in one call; scattered missing values fall back to one solve per column.
    """
    missing = np.isnan(Y)
    rows_all = missing.all(axis=1)
    if not (missing.any(axis=1) & ~rows_all).any():
        keep = ~rows_all
        if not keep.any():
            return np.zeros((design.shape[1], Y.shape[1]))
        return np.linalg.lstsq(design[keep], Y[keep], rcond=None)[0]
    coef = np.zeros((design.shape[1], Y.shape[1]))
    for j in range(Y.shape[1]):
        rows = ~missing[:, j]
        if rows.any():
            coef[:, j] = np.linalg.lstsq(design[rows], Y[rows, j], rcond=None)[0]
    return coef


class ConfoundRegressor(_DesignatedColumnsMixin, TransformerMixin, BaseEstimator):
    """Regress covariates out of every feature, with least squares fitted on the training data.

    Parameters
    ----------
    covariate_columns : sequence of str or int, default (-1,)
        Designated covariate columns of ``X``: names when ``X`` is a DataFrame, else positions
        (negative ones count from the end). They are regressors, not outputs: ``transform``
        returns the residuals of the other columns, in their input order.
    categorical_columns : sequence of str or int, default ()
        The covariate columns that hold category codes (site, sex); they are one-hot encoded
        with the categories seen in ``fit``. An unseen category (a new site) gets the reference
        level, so only the intercept and the continuous covariates are removed for it.

    Attributes
    ----------
    coef_ : ndarray of shape (n_regressors, n_output_features)
    cov_means_ : ndarray
        Training means of the continuous covariates (used for missing covariate values).
    categories_ : list of ndarray
        Codes seen in ``fit`` per categorical covariate.

    Notes
    -----
    Missing feature values stay missing and are left out of the fit of that feature.
    """

    def __init__(self, covariate_columns=(-1,), categorical_columns=()):
        self.covariate_columns = covariate_columns
        self.categorical_columns = categorical_columns

    def _design(self, cov: np.ndarray) -> np.ndarray:
        cont = cov[:, self._continuous]
        cont = np.where(np.isnan(cont), self.cov_means_, cont)
        parts = [np.ones((len(cov), 1)), cont]
        parts += [
            _one_hot(cov[:, i], levels)
            for i, levels in zip(self._categorical, self.categories_, strict=True)
        ]
        return np.column_stack(parts)

    def fit(self, X, y=None):
        """Fit one least-squares regression of each feature on the covariates."""
        feats, cov, _, names = self._split(X, reset=True)
        cov_pos = _resolve_positions(self.covariate_columns, self.n_features_in_, names)
        cat_pos = set(_resolve_positions(self.categorical_columns, self.n_features_in_, names))
        self._categorical = [j for j, p in enumerate(cov_pos) if p in cat_pos]
        self._continuous = [j for j in range(len(cov_pos)) if j not in self._categorical]
        cont = cov[:, self._continuous]
        observed = ~np.isnan(cont)
        sums = np.where(observed, cont, 0.0).sum(axis=0)
        self.cov_means_ = sums / np.maximum(observed.sum(axis=0), 1)
        self.categories_ = [np.unique(cov[~np.isnan(cov[:, j]), j]) for j in self._categorical]
        self.coef_ = _lstsq_nan(self._design(cov), feats)
        return self

    def transform(self, X):
        """Return the features minus their covariate-predicted part."""
        check_is_fitted(self, "coef_")
        feats, cov, _, _ = self._split(X, reset=False)
        return feats - self._design(cov) @ self.coef_


class ComBat(_DesignatedColumnsMixin, TransformerMixin, BaseEstimator):
    """ComBat harmonisation: per-site location/scale adjustment with empirical Bayes shrinkage.

    The model of Johnson et al. (2007) as used for neuroimaging by Fortin et al. (2017):
    ``x_ijv = alpha_v + c_ij' beta_v + gamma_iv + sqrt(delta_iv) e_ijv`` for site ``i``,
    subject ``j``, feature ``v``. ``alpha`` and ``beta`` (protected covariates, e.g. age and
    sex) are kept; the site effects ``gamma`` and ``delta``, shrunk towards their across-feature
    priors, are removed. All parameters are estimated in ``fit``, i.e. on the training fold.

    Parameters
    ----------
    site_column : str or int, default 0
        Designated column of ``X`` holding site codes (any numeric code).
    covariate_columns : sequence of str or int, default ()
        Designated columns of protected covariates (continuous; one-hot encode categorical ones
        beforehand or pass their codes when they have two levels). Never pass the diagnosis:
        at prediction time it is unknown, and fitting with it on all subjects leaks the labels.
    empirical_bayes : bool, default True
        Shrink site parameters towards their priors; False uses the per-site estimates.
    unseen_site : {"pooled", "self"}, default "pooled"
        A site absent from ``fit`` (leave-site-out). "pooled": apply the grand-mean model, i.e.
        standardise with the pooled parameters and add no site correction (a
        ``UserWarning`` is issued). "self": estimate that site's location and scale from the
        samples passed to ``transform`` (label-free, but transductive: the result for a sample
        depends on the other samples of its site in the call).
    max_iter : int, default 100
    tol : float, default 1e-4
    fit_on : {"all", "controls"}, default "all"
        "controls": estimate the model on the training samples with ``y == 0`` only and apply
        it to everyone, so that a diagnosis unbalanced across sites is not removed as a site
        effect. A site without controls in ``fit`` is then an unseen site.

    Attributes
    ----------
    sites_ : ndarray
        Site codes seen in ``fit``.
    gamma_star_, delta_star_ : ndarray of shape (n_sites, n_output_features)
        Adjusted site location and scale.
    grand_mean_, var_pooled_ : ndarray of shape (n_output_features,)
    beta_ : ndarray of shape (n_covariates, n_output_features)

    Notes
    -----
    Missing values are allowed and stay missing; statistics ignore them. A site with a single
    training sample keeps a scale of 1 (its variance is not estimable). Missing covariates are
    replaced by their training means; a missing site code counts as an unseen site.
    """

    def __init__(
        self,
        site_column=0,
        covariate_columns=(),
        empirical_bayes=True,
        unseen_site="pooled",
        max_iter=100,
        tol=1e-4,
        fit_on="all",
    ):
        self.fit_on = fit_on
        self.site_column = site_column
        self.covariate_columns = covariate_columns
        self.empirical_bayes = empirical_bayes
        self.unseen_site = unseen_site
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X, y=None):
        """Estimate the ComBat model on ``X`` (the training fold)."""
        if self.unseen_site not in ("pooled", "self"):
            raise ValueError(f"unseen_site must be 'pooled' or 'self', got {self.unseen_site!r}")
        if self.fit_on not in ("all", "controls"):
            raise ValueError(f"fit_on must be 'all' or 'controls', got {self.fit_on!r}")
        feats, cov, site, _ = self._split(X, reset=True)
        if site is None:
            raise ValueError("ComBat needs a site column")
        known = ~np.isnan(site)
        if self.fit_on == "controls":
            if y is None:
                raise ValueError("ComBat(fit_on='controls') needs y (0 = control) in fit")
            known &= np.asarray(y) == 0
            if not known.any():
                raise ValueError("ComBat(fit_on='controls'): no control in the training samples")
        feats, cov, site = feats[known], cov[known], site[known]
        self.sites_ = np.unique(site)
        observed = ~np.isnan(cov)
        self.cov_means_ = np.where(observed, cov, 0.0).sum(axis=0) / np.maximum(
            observed.sum(axis=0), 1
        )
        cov = np.where(observed, cov, self.cov_means_)
        batch = (site[:, None] == self.sites_[None, :]).astype(float)
        design = np.column_stack([batch, cov])
        coef = _lstsq_nan(design, feats)
        present = ~np.isnan(feats)
        # Site weights per feature: the share of non-missing samples each site contributes.
        counts = batch.T @ present.astype(float)  # sites x features
        weights = counts / np.maximum(counts.sum(axis=0), 1)
        n_sites = len(self.sites_)
        self.grand_mean_ = np.sum(weights * coef[:n_sites], axis=0)
        self.beta_ = coef[n_sites:]
        resid = feats - design @ coef
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.nanmean(resid**2, axis=0) if len(resid) else np.ones(feats.shape[1])
        var = np.where(np.isfinite(var) & (var > 0), var, 1.0)
        self.var_pooled_ = var
        z, _ = self._standardize(feats, cov)
        gamma_hat = np.zeros((n_sites, feats.shape[1]))
        delta_hat = np.ones((n_sites, feats.shape[1]))
        for i, code in enumerate(self.sites_):
            gamma_hat[i], delta_hat[i] = self._site_moments(z[site == code])
        self.n_iter_ = 1  # iterations of the slowest site's empirical Bayes solution
        if self.empirical_bayes:
            n_site = np.stack([(~np.isnan(z[site == code])).sum(axis=0) for code in self.sites_])
            self.gamma_star_, self.delta_star_ = self._shrink(z, site, gamma_hat, delta_hat, n_site)
        else:
            self.gamma_star_, self.delta_star_ = gamma_hat, delta_hat
        return self

    def _standardize(self, feats, cov):
        stand_mean = self.grand_mean_ + cov @ self.beta_
        return (feats - stand_mean) / np.sqrt(self.var_pooled_), stand_mean

    @staticmethod
    def _site_moments(z):
        n = (~np.isnan(z)).sum(axis=0)
        total = np.where(np.isnan(z), 0.0, z).sum(axis=0)
        gamma = np.where(n > 0, total / np.maximum(n, 1), 0.0)
        dev = np.where(np.isnan(z), 0.0, (z - gamma) ** 2).sum(axis=0)
        delta = np.where(n > 1, dev / np.maximum(n - 1, 1), 1.0)
        # A zero variance (constant feature within a site) cannot be divided by.
        return gamma, np.where(delta > 0, delta, 1.0)

    def _shrink(self, z, site, gamma_hat, delta_hat, n_site):
        """Parametric empirical Bayes estimates (Johnson et al. 2007, iterative solution)."""
        gamma_star = gamma_hat.copy()
        delta_star = delta_hat.copy()
        n_features = gamma_hat.shape[1]
        if n_features < 2:  # priors over features need at least two features
            return gamma_star, delta_star
        for i, code in enumerate(self.sites_):
            g_bar = gamma_hat[i].mean()
            t2 = gamma_hat[i].var(ddof=1)
            m, s2 = delta_hat[i].mean(), delta_hat[i].var(ddof=1)
            if not (np.isfinite(t2) and t2 > 0):
                continue
            zi = z[site == code]
            n = n_site[i].astype(float)
            use_delta = np.isfinite(s2) and s2 > 0
            a = (2 * s2 + m**2) / s2 if use_delta else np.nan
            b = (m * s2 + m**3) / s2 if use_delta else np.nan
            g_old, d_old = gamma_hat[i], delta_hat[i]
            for it in range(1, self.max_iter + 1):
                self.n_iter_ = max(self.n_iter_, it)
                g_new = (n * t2 * gamma_hat[i] + d_old * g_bar) / (n * t2 + d_old)
                if use_delta:
                    ss = np.where(np.isnan(zi), 0.0, (zi - g_new) ** 2).sum(axis=0)
                    d_new = (b + ss / 2) / (n / 2 + a - 1)
                else:
                    d_new = d_old
                change = max(
                    np.max(np.abs(g_new - g_old) / np.maximum(np.abs(g_old), 1e-12)),
                    np.max(np.abs(d_new - d_old) / np.maximum(np.abs(d_old), 1e-12)),
                )
                g_old, d_old = g_new, d_new
                if change < self.tol:
                    break
            gamma_star[i] = g_old
            delta_star[i] = np.where(d_old > 0, d_old, 1.0)
        return gamma_star, delta_star

    def transform(self, X):
        """Remove the fitted site effects; see ``unseen_site`` for sites not seen in fit."""
        check_is_fitted(self, "gamma_star_")
        feats, cov, site, _ = self._split(X, reset=False)
        cov = np.where(np.isnan(cov), self.cov_means_, cov)
        z, stand_mean = self._standardize(feats, cov)
        gamma = np.zeros_like(z)
        delta = np.ones_like(z)
        index = {code: i for i, code in enumerate(self.sites_)}
        rows = np.array([index.get(code, -1) for code in site])
        seen = rows >= 0
        gamma[seen] = self.gamma_star_[rows[seen]]
        delta[seen] = self.delta_star_[rows[seen]]
        if (~seen).any():
            unseen_codes = np.unique(site[~seen & ~np.isnan(site)])
            if self.unseen_site == "self":
                for code in unseen_codes:
                    sel = site == code
                    gamma[sel], delta[sel] = self._site_moments(z[sel])
            else:
                warnings.warn(
                    f"ComBat: {int((~seen).sum())} sample(s) from site(s) not seen in fit "
                    f"({unseen_codes[:5].tolist()}): pooled parameters used, no site correction",
                    UserWarning,
                    stacklevel=2,
                )
        return (z - gamma) / np.sqrt(delta) * np.sqrt(self.var_pooled_) + stand_mean


class MedianImputer(TransformerMixin, BaseEstimator):
    """Replace missing values by the training median of their column.

    Same result as ``SimpleImputer(strategy="median", keep_empty_features=True)``, without
    its masked-array median, which dominates the run time on wide connectome matrices.
    A column missing in every training sample is filled with 0.

    Attributes
    ----------
    statistics_ : ndarray of shape (n_features,)
    """

    def fit(self, X, y=None):
        """Compute the column medians, ignoring missing values."""
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        missing = np.isnan(X)
        if not missing.any():
            self.statistics_ = np.median(X, axis=0)
            return self
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns
            stats = np.nanmedian(X, axis=0)
        self.statistics_ = np.where(np.isnan(stats), 0.0, stats)
        return self

    def transform(self, X):
        """Fill missing values with the training medians."""
        check_is_fitted(self, "statistics_")
        X = _validate_fitted(self, X, dtype=np.float64)
        missing = np.isnan(X)
        return np.where(missing, self.statistics_, X) if missing.any() else X.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _parse_edge(name: str) -> tuple[str, str]:
    parts = str(name).split("__")
    if len(parts) != 2:
        raise ValueError(
            f"TangentFeatures: column '{name}' is not an edge 'regionA__regionB' (strip the "
            "'<modality>__' prefix before passing names)"
        )
    return parts[0], parts[1]


@functools.lru_cache(maxsize=8)
def _edge_layout(edges: tuple[str, ...], discard_diagonal: bool):
    """:func:`tangent_layout` plus, for every input edge between two of those regions, its
    column and the two regions' positions (cached: every fold and clone of a cross-validation
    sees the same edges, and parsing ~5,000 names cost ~0.25 s per fit)."""
    regions, names = _tangent_layout(edges, discard_diagonal)
    index = {r: k for k, r in enumerate(regions)}
    cols, ii, jj = [], [], []
    for c, e in enumerate(edges):
        a, b = _parse_edge(e)
        if a in index and b in index:
            cols.append(c)
            ii.append(index[a])
            jj.append(index[b])
    return tuple(regions), tuple(names), np.array(cols), np.array(ii), np.array(jj)


def _kept_positions(keep: np.ndarray, p: int, discard_diagonal: bool) -> np.ndarray:
    """Positions in :func:`tangent_layout`'s output (i < j pairs of ``p`` regions in row-major
    order, then the diagonal) of the outputs of the regions ``keep`` (ascending) alone."""
    a, b = np.triu_indices(len(keep), k=1)
    i, j = keep[a], keep[b]
    pos = i * p - i * (i + 1) // 2 + (j - i - 1)
    if not discard_diagonal:
        pos = np.concatenate([pos, p * (p - 1) // 2 + keep])
    return pos


class SharedNames(tuple):
    """Column names that :func:`sklearn.base.clone` shares instead of copying.

    ``clone`` deep-copies every parameter; for the ~13,000 edge names of a connectome that is
    one call per name, per clone, and a cross-validation with permutations clones thousands of
    times. A tuple cannot change, so sharing it is safe.
    """

    __slots__ = ()

    def __new__(cls, names=()):
        # str once here, so that consumers can use the names as they are
        return super().__new__(cls, (str(n) for n in names))

    def __deepcopy__(self, memo):
        return self


def tangent_layout(edges, discard_diagonal: bool = True) -> tuple[list[str], list[str]]:
    """Regions and output feature names of :class:`TangentFeatures` for input ``edges``.

    The regions are those with a diagonal column ``regionA__regionA``, in order of first
    appearance; edges touching a region without one are ignored. Output names are the i < j
    pairs of those regions (then the diagonal unless ``discard_diagonal``), so the output width
    is known before fitting (the learning stage needs it to place the covariate columns).
    """
    if not isinstance(edges, SharedNames):
        edges = tuple(str(e) for e in edges)
    regions, names = _tangent_layout(edges, discard_diagonal)
    return list(regions), list(names)


@functools.lru_cache(maxsize=8)
def _tangent_layout(edges: tuple[str, ...], discard_diagonal: bool):
    """:func:`tangent_layout`, cached: the learning stage asks it for the same edges in every
    fold and permutation (parsing ~13,000 names each time cost seconds per run)."""
    pairs = [_parse_edge(e) for e in edges]
    diagonal = {a for a, b in pairs if a == b}
    if not diagonal:
        raise ValueError(
            "TangentFeatures needs covariance vectors with their diagonal (columns "
            "'regionA__regionA'): compute the features with mri.connectivity: tangent"
        )
    regions, seen = [], set()
    for a, b in pairs:
        for r in (a, b):
            if r in diagonal and r not in seen:
                seen.add(r)
                regions.append(r)
    iu, ju = np.triu_indices(len(regions), k=1)
    names = [f"{regions[i]}__{regions[j]}" for i, j in zip(iu, ju, strict=True)]
    if not discard_diagonal:
        names += [f"{r}__{r}" for r in regions]
    return tuple(regions), tuple(names)


class TangentFeatures(TransformerMixin, BaseEstimator):
    """Tangent-space connectivity from flat covariance vectors, fitted on the training rows.

    Each row holds one subject's covariance matrix as edges ``regionA__regionB`` including the
    diagonal ``regionA__regionA`` (``mri.connectivity: tangent``). ``fit`` rebuilds the SPD
    matrices and fits :class:`psymodal.mri.tangent.TangentSpace` (geometric-mean reference) on
    those rows only; ``transform`` returns the tangent vectors relative to that reference, the
    i < j edges and, unless ``discard_diagonal`` (nilearn's ``vectorize(discard_diagonal=True)``
    convention), the diagonal. In a Pipeline this puts the group reference inside each
    training fold, so test subjects never shape it.

    Parameters
    ----------
    edges : list of str, optional
        Name ``regionA__regionB`` of every input column, in order. Default: the DataFrame's
        column names, else a row-major upper triangle with diagonal
        (``np.triu_indices(p)``), ``p`` inferred from the number of columns.
    discard_diagonal : bool, default=True
        Output only the i < j tangent edges.
    eps, max_iter, tol, n_threads
        Passed to :class:`~psymodal.mri.tangent.TangentSpace`.
    missing_regions : {"complete", "drop"}, default="complete"
        A region missing (NaN or zero variance) in some training subject: ``complete`` keeps
        it and completes the matrices that lack it; ``drop`` leaves it out of the reference
        and of every subject's tangent vector, decided on the training rows of each fold.
        Dropped regions' edges are output as 0 (constant, so without influence after
        scaling), which keeps the output width fixed. ``regions_dropped_`` lists them.

    Notes
    -----
    Missing values: a region is missing for a subject when its diagonal is NaN (or, failing
    that, the region with the most NaN entries is dropped until the observed block is
    complete). TangentSpace then completes the matrix from the training mean covariance
    (Gaussian completion), i.e. mean imputation in tangent space. A row with no observed
    region (modality absent, e.g. in early fusion) is left out of the fit and transformed to
    all-NaN, so the imputer that follows fills it like any other missing block. A region
    without a diagonal column (dropped at assembly because missing in every subject) is
    ignored, with the edges that touch it.

    Attributes
    ----------
    tangent_ : TangentSpace
        The fitted embedding (``tangent_.reference_`` is the training reference).
    regions_ : list of str
    n_features_out_ : int
    """

    def __init__(
        self,
        edges=None,
        discard_diagonal=True,
        eps=1e-6,
        max_iter=50,
        tol=1e-5,
        n_threads=1,
        missing_regions="complete",
    ):
        self.missing_regions = missing_regions
        self.edges = edges
        self.discard_diagonal = discard_diagonal
        self.eps = eps
        self.max_iter = max_iter
        self.tol = tol
        self.n_threads = n_threads

    def _edges(self, n_features: int) -> tuple[str, ...]:
        if isinstance(self.edges, SharedNames):  # already str, and shared by every clone
            edges = self.edges
        elif self.edges is not None:
            edges = tuple(str(e) for e in self.edges)
        elif hasattr(self, "feature_names_in_"):
            edges = tuple(str(e) for e in self.feature_names_in_)
        else:
            p = int(round((np.sqrt(8 * n_features + 1) - 1) / 2))
            if p * (p + 1) // 2 != n_features:
                raise ValueError(
                    f"TangentFeatures: {n_features} columns is not an upper triangle with "
                    "diagonal p(p+1)/2; pass edges"
                )
            iu, ju = np.triu_indices(p)
            edges = tuple(f"r{i:03d}__r{j:03d}" for i, j in zip(iu, ju, strict=True))
        if len(edges) != n_features:
            raise ValueError(f"{len(edges)} edge names for {n_features} columns")
        return edges

    def _matrices(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """SPD-to-be matrices (NaN rows/columns for missing regions) and observed-row mask."""
        n, p = X.shape[0], len(self.regions_)
        mats = np.full((n, p, p), np.nan)
        mats[:, self._i, self._j] = X[:, self._cols]
        mats[:, self._j, self._i] = X[:, self._cols]
        for k in np.flatnonzero(~np.isfinite(mats).all(axis=(1, 2))):  # complete rows: as is
            m = mats[k]
            missing = ~np.isfinite(np.diag(m))
            while True:
                obs = ~missing
                bad = ~np.isfinite(m[np.ix_(obs, obs)])
                if not bad.any():
                    break
                counts = np.zeros(p)
                counts[obs] = bad.sum(axis=0)
                missing[np.argmax(counts)] = True
            m[missing, :] = np.nan
            m[:, missing] = np.nan
        present = np.isfinite(mats).any(axis=(1, 2))
        return mats, present

    def fit(self, X, y=None):
        """Fit the tangent reference on the rows of ``X`` that have at least one region."""
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """:meth:`fit` then :meth:`transform` of the same rows, reusing the tangent vectors
        the reference's estimation computed for them."""
        X, present, tangent = self._fit(X, transform=True)
        out = np.full((X.shape[0], self.n_features_out_), np.nan)
        # as transform(): the kept regions' vectors in place, dropped edges 0
        kept = np.full((int(present.sum()), self.n_features_out_), 0.0)
        kept[:, self._out_pos] = tangent
        out[present] = kept
        return out

    def _fit(self, X, transform: bool = False):
        from psymodal.mri.tangent import TangentSpace

        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        edges = self._edges(X.shape[1])
        regions, names, self._cols, self._i, self._j = _edge_layout(
            edges, bool(self.discard_diagonal)
        )
        self.regions_, names = list(regions), list(names)
        if self.missing_regions not in ("complete", "drop"):
            raise ValueError(
                f"missing_regions must be 'complete' or 'drop', not {self.missing_regions!r}"
            )
        mats, present = self._matrices(X)
        if not present.any():
            raise ValueError("TangentFeatures: no training row has an observed region")
        self._keep = np.arange(len(self.regions_))
        self.regions_dropped_ = []
        if self.missing_regions == "drop":
            diagonals = np.diagonal(mats[present], axis1=1, axis2=2)
            lost = (~np.isfinite(diagonals) | (diagonals <= 0)).any(axis=0)
            if lost.all():
                raise ValueError("TangentFeatures: every region is missing in some training row")
            self._keep = np.flatnonzero(~lost)
            self.regions_dropped_ = [self.regions_[k] for k in np.flatnonzero(lost)]
            mats = mats[:, self._keep][:, :, self._keep]
        kept = [self.regions_[k] for k in self._keep]
        self._out_pos = _kept_positions(self._keep, len(self.regions_), self.discard_diagonal)
        self.tangent_ = TangentSpace(
            input="covariance",
            region_names=kept,
            discard_diagonal=self.discard_diagonal,
            eps=self.eps,
            max_iter=self.max_iter,
            tol=self.tol,
            n_threads=self.n_threads,
        )
        self._names_out = np.asarray(names, dtype=object)
        self.n_features_out_ = len(names)
        if not transform:
            self.tangent_.fit(mats[present])
            return None
        return X, present, self.tangent_.fit_transform(mats[present])

    def transform(self, X):
        """Tangent vectors relative to the training reference (NaN rows for absent subjects)."""
        check_is_fitted(self, "tangent_")
        X = _validate_fitted(self, X, dtype=np.float64)
        mats, present = self._matrices(X)
        out = np.full((X.shape[0], self.n_features_out_), np.nan)
        if present.any():
            mats = mats[:, self._keep][:, :, self._keep]
            kept = np.full((int(present.sum()), self.n_features_out_), 0.0)
            kept[:, self._out_pos] = self.tangent_.transform(mats[present])
            out[present] = kept
        return out

    def get_feature_names_out(self, input_features=None):
        """``regionA__regionB`` (i < j), then ``regionA__regionA`` unless discarded."""
        check_is_fitted(self, "tangent_")
        return self._names_out.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
