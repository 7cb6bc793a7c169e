"""Differentially private logistic regression (diffprivlib 0.6.6, objective perturbation).

diffprivlib's :class:`~diffprivlib.models.LogisticRegression` (Chaudhuri, Monteleoni & Sarwate
2011, objective perturbation by the Vector mechanism) is epsilon-DP (delta = 0) for rows whose
l2 norm is at most ``data_norm``. :class:`DPLogisticRegression` makes that bound hold without
looking at the data: every row is clipped to ``data_norm`` (default ``sqrt(n_features)``, the
expected norm of a standardised row; the number of features is public), so nothing about the
data is read to choose it.

What the epsilon covers: the fitted weights of one model given its input features. The steps
before it in psymodal's pipeline (the training fold's median imputation and standardisation)
are not privatised, and a hyper-parameter search on the same data would spend more budget: the
DP model is fitted with fixed settings and no grid.

Compatibility: diffprivlib 0.6.6 imports two constants that scikit-learn 1.9 removed
(``sklearn.tree._tree.DOUBLE``/``DTYPE``, used only by its random forest) and passes
``multi_class`` to scikit-learn's constructor, which 1.9 no longer takes. The import supplies
the two constants when they are missing, and the model is built through scikit-learn's own
constructor; diffprivlib's private fitting path (``fit``) is used unchanged.
"""

from __future__ import annotations

import functools

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["DPLogisticRegression", "clip_rows"]


@functools.cache
def _dp_logistic_class():
    import sklearn.tree._tree as tree

    # Only diffprivlib's random forest reads these (sklearn < 1.9 values); psymodal does not
    # use it, but diffprivlib imports it with the package.
    for name, value in (("DOUBLE", np.float64), ("DTYPE", np.float32)):
        if not hasattr(tree, name):
            setattr(tree, name, value)
    from diffprivlib.accountant import BudgetAccountant
    from diffprivlib.models import LogisticRegression as DiffprivlibLogistic
    from sklearn.linear_model import LogisticRegression

    class _Compatible(DiffprivlibLogistic):
        def __init__(self, *, epsilon, data_norm, C, max_iter, tol, random_state):
            # no separate intercept: an unregularised intercept makes the perturbed objective
            # unbounded (it diverged to -1e19 on ABIDE); a constant column carries it instead
            LogisticRegression.__init__(self, C=C, max_iter=max_iter, tol=tol, fit_intercept=False)
            self.random_state = random_state
            self.epsilon = epsilon
            self.data_norm = data_norm
            # a fresh accountant per model: folds do not draw on one global budget
            self.accountant = BudgetAccountant()

    return _Compatible


def clip_rows(X: np.ndarray, norm: float) -> np.ndarray:
    """Rows of ``X`` scaled down, where needed, to an l2 norm of at most ``norm``."""
    X = np.asarray(X, dtype=np.float64)
    lengths = np.linalg.norm(X, axis=1, keepdims=True)
    return X * np.minimum(1.0, norm / np.where(lengths > 0, lengths, 1.0))


class DPLogisticRegression(ClassifierMixin, BaseEstimator):
    """Epsilon-differentially private l2 logistic regression (binary).

    Parameters
    ----------
    epsilon : float, default 1.0
        Privacy budget of one fit (delta is 0).
    data_norm : float or None, default None
        Rows are clipped to this l2 norm; None is ``sqrt(n_features)``. The intercept is the
        weight of a constant feature 1 appended to every row (so it is regularised and
        perturbed like the others), and the guarantee holds for rows of norm
        ``sqrt(data_norm**2 + 1)``.
    C : float, default 1.0
        Inverse regularisation strength (objective perturbation needs regularisation: larger C,
        more noise in the weights).
    max_iter : int, default 1000
    tol : float, default 1e-4
    random_state : int or None, default None
        Seed of the privacy noise (fixed for byte-identical reruns).

    Attributes
    ----------
    classes_, coef_, intercept_ : as scikit-learn's LogisticRegression
    epsilon_, delta_ : float
        The guarantee of this fit.
    data_norm_ : float
        The clipping norm used.
    """

    def __init__(
        self, epsilon=1.0, data_norm=None, C=1.0, max_iter=1000, tol=1e-4, random_state=None
    ):
        self.epsilon = epsilon
        self.data_norm = data_norm
        self.C = C
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, y):
        """Fit on rows clipped to ``data_norm``; ``y`` must have two classes."""
        import warnings

        from sklearn.utils.multiclass import type_of_target

        X, y = validate_data(self, X, y)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(
                f"Only binary classification is supported. The type of the target is {y_type}."
            )
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"needs samples of 2 classes; got 1 class ({self.classes_[0]})")
        norm = float(np.sqrt(X.shape[1]) if self.data_norm is None else self.data_norm)
        model = _dp_logistic_class()(
            epsilon=self.epsilon,
            # rows are the clipped features plus the constant 1 of the intercept
            data_norm=float(np.sqrt(norm**2 + 1.0)),
            C=self.C,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=self.random_state,
        )
        with warnings.catch_warnings():
            # lbfgs on a noisy objective often stops at max_iter: the noise, not the solver,
            # limits the fit
            warnings.simplefilter("ignore")
            rows = np.c_[clip_rows(X, norm), np.ones(len(X))]
            model.fit(rows, (y == self.classes_[1]).astype(int))
        weights = np.asarray(model.coef_, dtype=np.float64).reshape(-1)
        self.coef_ = weights[:-1].reshape(1, -1)
        self.intercept_ = weights[-1:].copy()
        self.data_norm_, self.epsilon_, self.delta_ = norm, float(self.epsilon), 0.0
        self.n_iter_ = np.atleast_1d(np.asarray(model.n_iter_, dtype=np.int32))
        return self

    def decision_function(self, X):
        """Linear score of the positive class (on clipped rows, as in training)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return clip_rows(X, self.data_norm_) @ self.coef_[0] + self.intercept_[0]

    def predict_proba(self, X):
        """``[1 - p, p]`` with ``p`` the logistic function of the decision value."""
        p = 1.0 / (1.0 + np.exp(-np.clip(self.decision_function(X), -30, 30)))
        return np.column_stack([1 - p, p])

    def predict(self, X):
        """The more probable class."""
        check_is_fitted(self)
        return self.classes_[(self.decision_function(X) > 0).astype(int)]
