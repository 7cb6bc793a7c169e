"""scikit-learn transformers used inside the cross-validation folds.

Covariates (site, age, sex) travel as designated columns of ``X`` rather than as a side channel,
so that every transformer is fitted on the training fold only by the ordinary Pipeline/CV
machinery. Designated columns are named (when ``X`` is a DataFrame) or integer positions; the
transformers that consume them drop them from their output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


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
            names = list(self.feature_names_in_)
            return np.array(
                [names.index(c) if isinstance(c, str) else int(c) for c in self.columns]
            )
        return np.asarray(self.columns, dtype=int)

    def transform(self, X):
        """Return the selected columns."""
        check_is_fitted(self, "_positions")
        if isinstance(X, pd.DataFrame):
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, expected {self.n_features_in_}")
            return X.iloc[:, self._positions]
        X = validate_data(self, X, ensure_all_finite="allow-nan", reset=False)
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
