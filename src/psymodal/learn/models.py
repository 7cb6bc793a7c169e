"""Estimator factories: one scikit-learn Pipeline per (model, input block).

Every pipeline starts with a column selector on the full study matrix, so that all fitted state
(selection, harmonisation, imputation, scaling, classifier) lives inside the pipeline and is
refitted on each training fold by the cross-validation code.
"""

from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import LinearSVC, LinearSVR

from psymodal.learn.transformers import MedianImputer, ModalityBlockSelector

#: Models that can be fitted on one modality block (and late-fused).
FEATURE_MODELS = ("logistic", "svm", "hgb", "dp_logistic", "ridge", "svr")


class SigmoidLinearSVC(LinearSVC):
    """Linear SVM whose ``predict_proba`` is the logistic function of its decision value.

    The scores are monotone in the SVM margin (ROC AUC and the 0.5 threshold are those of the
    SVM) but not calibrated. Platt scaling was tried and rejected: with many more features
    than subjects the inner-fold decision values are close to noise, and a sigmoid fitted to
    them can take a negative slope, which turned the ABIDE AUC below 0.5.
    """

    def predict_proba(self, X):
        """``[1 - sigmoid(d), sigmoid(d)]`` with ``d`` the decision function."""
        d = np.clip(self.decision_function(X), -30, 30)
        p = 1.0 / (1.0 + np.exp(-d))
        return np.column_stack([1 - p, p])


def classifier(model: str, s: dict, seed: int = 0):
    """Return an unfitted classifier with ``predict_proba``.

    Parameters
    ----------
    model : {"logistic", "svm", "hgb", "dp_logistic", "most_frequent"}
        ``most_frequent`` is the chance predictor of ``learn.task: multiclass``.
    s : dict
        Resolved learn settings.
    seed : int
        Random state of estimators that have one.
    """
    if model == "logistic":
        p = s["logistic"]
        # lbfgs with an l2 penalty (the default) is deterministic; class weights make the 0.5
        # threshold meaningful for balanced accuracy when the classes are unequal.
        return LogisticRegression(C=p["C"], class_weight=p["class_weight"], max_iter=2000)
    if model == "svm":
        p = s["svm"]
        return SigmoidLinearSVC(
            C=p["C"], class_weight=p["class_weight"], max_iter=5000, random_state=seed
        )
    if model == "hgb":
        p = s["hgb"]
        return HistGradientBoostingClassifier(
            learning_rate=p["learning_rate"],
            max_iter=p["max_iter"],
            early_stopping=False,
            class_weight="balanced",
            random_state=seed,
        )
    if model == "most_frequent":
        # the chance predictor: the training fold's most frequent class, with the class
        # frequencies as probabilities (ROC AUC 0.5, balanced accuracy 1 / n_classes)
        return DummyClassifier(strategy="prior")
    if model == "dp_logistic":
        from psymodal.privacy.dp import DPLogisticRegression

        p = s["dp_logistic"]
        return DPLogisticRegression(
            epsilon=p["epsilon"], data_norm=p["data_norm"], C=p["C"], random_state=seed
        )
    raise ValueError(f"unknown model '{model}' (choose from {FEATURE_MODELS})")


def regressor(model: str, s: dict, seed: int = 0):
    """Return an unfitted regressor (``learn.task: regression``).

    Parameters
    ----------
    model : {"ridge", "svr", "hgb", "mean"}
        ``mean`` predicts the training mean (the mean-predictor baseline).
    s : dict
        Resolved learn settings.
    seed : int
    """
    if model == "ridge":
        return Ridge(alpha=s["ridge"]["alpha"])
    if model == "svr":
        # dual (the default) is the right formulation with more features than subjects.
        return LinearSVR(C=s["svr"]["C"], max_iter=10000, dual=True, random_state=seed)
    if model == "hgb":
        p = s["hgb"]
        return HistGradientBoostingRegressor(
            learning_rate=p["learning_rate"],
            max_iter=p["max_iter"],
            early_stopping=False,
            random_state=seed,
        )
    if model == "mean":
        return DummyRegressor(strategy="mean")
    raise ValueError(f"unknown regression model '{model}' (choose from ridge, svr, hgb)")


def estimator(model: str, s: dict, seed: int = 0):
    """The classifier or regressor ``model`` for ``learn.task``."""
    if s["task"] == "regression":
        return regressor(model, s, seed)
    return classifier(model, s, seed)


def param_grid(model: str, s: dict) -> dict[str, list]:
    """Grid searched by the inner loop of nested CV for ``model`` (step ``clf``)."""
    if model in ("logistic", "svm", "svr"):
        return {"clf__C": list(s[model]["grid"])}
    if model == "ridge":
        return {"clf__alpha": list(s["ridge"]["grid"])}
    if model == "hgb":
        return {"clf__learning_rate": list(s["hgb"]["grid"])}
    return {}


def feature_pipeline(
    model: str,
    columns: list[str],
    s: dict,
    harmonizer=None,
    designated: list[str] | None = None,
    seed: int = 0,
    transform=None,
) -> Pipeline:
    """Selector -> [transform] -> [harmonizer] -> median imputer -> standard scaler -> classifier.

    Parameters
    ----------
    model : str
        See :func:`classifier`.
    columns : list of str or int
        Feature columns of the study matrix (names for DataFrame input, else positions).
    s : dict
        Resolved settings.
    harmonizer : transformer, optional
        ComBat or ConfoundRegressor; it receives ``columns + designated`` and returns the
        features only.
    designated : list of str or int, optional
        Covariate columns the harmonizer needs; the selector puts them after ``columns``.
    seed : int
        Random state for the classifier.
    transform : transformer, optional
        Block feature transform (``learn.transforms``, e.g. tangent space) applied right after
        the selector, so it is fitted on the training fold; it must keep the covariates after
        the features (see :func:`psymodal.learn.cross_validation.build_estimator`).

    Notes
    -----
    A feature missing in every training subject of a fold is imputed with 0 (then constant
    after scaling, so without influence) instead of being dropped, so every fold's model sees
    the same columns and importances stay aligned.
    """
    steps = [("select", ModalityBlockSelector(list(columns) + list(designated or [])))]
    if transform is not None:
        steps.append(("transform", transform))
    if harmonizer is not None:
        steps.append(("harmonize", harmonizer))
    steps += [
        ("impute", MedianImputer()),
        ("scale", StandardScaler()),
        ("clf", estimator(model, s, seed)),
    ]
    return Pipeline(steps)


def confound_pipeline(
    covariates: list[str], categorical: list[str], s: dict, model: str = "logistic"
) -> Pipeline:
    """Confound-only baseline: one-hot categorical + scaled continuous covariates -> ``model``.

    ``model`` is ``logistic`` (classification), ``ridge`` (regression) or ``mean`` (the mean
    predictor, which ignores the covariates).
    """
    numeric = [c for c in covariates if c not in categorical]
    transformers = []
    if categorical:
        transformers.append(
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        # A site unseen in training gets all-zero indicators (reference level).
                        ("onehot", OneHotEncoder(handle_unknown="ignore")),
                    ]
                ),
                categorical,
            )
        )
    if numeric:
        transformers.append(
            (
                "numeric",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                        ("scale", StandardScaler()),
                    ]
                ),
                numeric,
            )
        )
    return Pipeline(
        [
            ("columns", ColumnTransformer(transformers, remainder="drop")),
            ("clf", estimator(model, s)),
        ]
    )
