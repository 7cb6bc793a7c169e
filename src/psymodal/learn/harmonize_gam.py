"""ComBat-GAM: ComBat whose protected covariates may act non-linearly (e.g. age), through
neuroHarmonize (Pomponio et al. 2020, NeuroImage), an optional dependency.

neuroHarmonize 2.5.2 declares ``numpy<2`` and ``pandas<3`` but runs with this package's numpy
2 and pandas 3 (checked by ``tests/test_learn_combat_gam.py``); install it without its
declared dependencies::

    pip install statsmodels==0.15.0
    pip install --no-deps neuroHarmonize==2.5.2 neuroCombat==0.2.12
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from psymodal.learn.transformers import _DesignatedColumnsMixin

INSTALL = (
    "pip install statsmodels==0.15.0 && pip install --no-deps neuroHarmonize==2.5.2 "
    "neuroCombat==0.2.12"
)


def _neuroharmonize():
    try:
        import neuroHarmonize
    except ImportError as error:
        raise ImportError(
            f"learn.harmonize: combat_gam needs neuroHarmonize, an optional dependency: {INSTALL}"
        ) from error
    return neuroHarmonize


class ComBatGAM(_DesignatedColumnsMixin, TransformerMixin, BaseEstimator):
    """ComBat with smooth (spline) effects of some protected covariates, fitted in ``fit``.

    Parameters
    ----------
    site_column : int, default 0
        Designated column of ``X`` with site codes.
    covariate_columns : sequence of int, default ()
        Designated columns of protected covariates.
    smooth : sequence of int, default ()
        Positions, within ``covariate_columns``, of the covariates modelled by a spline (a
        generalised additive model) rather than linearly.
    empirical_bayes : bool, default True

    Notes
    -----
    Values of a smooth covariate outside the training range are clipped to it at ``transform``
    (the spline is not defined beyond its outer knots). Samples of a site unseen in ``fit`` are
    returned unharmonised (a ``UserWarning`` says so), as ComBat's ``pooled`` rule adds no site
    correction. Missing feature values are filled with the training medians (neuroHarmonize
    takes complete data); missing covariates with their training means.
    """

    def __init__(self, site_column=0, covariate_columns=(), smooth=(), empirical_bayes=True):
        self.site_column = site_column
        self.covariate_columns = covariate_columns
        self.smooth = smooth
        self.empirical_bayes = empirical_bayes

    def _covars(self, site, cov) -> pd.DataFrame:
        cov = np.where(np.isnan(cov), self.cov_means_, cov)
        frame = pd.DataFrame({"SITE": [f"s{v:g}" for v in site]})
        for k in range(cov.shape[1]):
            values = cov[:, k]
            if k in self.smooth:
                values = np.clip(values, self.cov_min_[k], self.cov_max_[k])
            frame[f"c{k}"] = values
        return frame

    def fit(self, X, y=None):
        """Estimate the ComBat-GAM model on ``X`` (the training fold)."""
        harmonize = _neuroharmonize()
        feats, cov, site, _ = self._split(X, reset=True)
        if site is None or np.isnan(site).any():
            raise ValueError("ComBatGAM needs a site code for every training sample")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.medians_ = np.nan_to_num(np.nanmedian(feats, axis=0))
            self.cov_means_ = np.nan_to_num(np.nanmean(cov, axis=0)) if cov.size else np.zeros(0)
            self.cov_min_ = np.nanmin(cov, axis=0) if cov.size else np.zeros(0)
            self.cov_max_ = np.nanmax(cov, axis=0) if cov.size else np.zeros(0)
        feats = np.where(np.isnan(feats), self.medians_, feats)
        self.sites_ = np.unique(site)
        smooth = [f"c{k}" for k in self.smooth]
        # neuroHarmonize prints its progress on stdout, which is a CLI's output channel
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")  # neuroHarmonize's pandas and statsmodels notices
            self.model_, _ = harmonize.harmonizationLearn(
                feats, self._covars(site, cov), eb=self.empirical_bayes, smooth_terms=smooth
            )
        return self

    def transform(self, X):
        """Harmonise ``X`` with the fitted model; returns the non-designated columns."""
        check_is_fitted(self, "model_")
        harmonize = _neuroharmonize()
        feats, cov, site, _ = self._split(X, reset=False)
        feats = np.where(np.isnan(feats), self.medians_, feats)
        out = feats.copy()
        seen = np.isin(site, self.sites_)
        if (~seen).any():
            warnings.warn(
                f"ComBatGAM: {int((~seen).sum())} sample(s) of sites unseen in fit left "
                "unharmonised",
                UserWarning,
                stacklevel=2,
            )
        if seen.any():
            covars = self._covars(site[seen], cov[seen])
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                out[seen] = harmonize.harmonizationApply(feats[seen], covars, self.model_)
        return out
