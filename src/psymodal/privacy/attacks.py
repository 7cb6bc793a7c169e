"""Attacks on released features: how much of a person the shared numbers still carry.

- :func:`identification_rate`: connectome fingerprinting (Finn et al. 2015, Nature
  Neuroscience 18:1664). Each target connectome is matched to the database connectome it
  correlates with most (Pearson over edges); the top-1 identification rate is the fraction
  matched to the same person. Chance is ``1 / n``.
- :func:`linkage_rate`: re-identification of released feature rows (speech features, one row
  per recording or per person) from another recording of the same people that the attacker
  holds with names: each known row is linked to the released row it correlates with most, after
  standardising every feature with the released table's own statistics (all an attacker has).
- :func:`attribute_inference`: predict a sensitive attribute (sex, age) from the released
  features with a cross-validated linear model; ROC AUC for a binary attribute, mean absolute
  error against the named baseline (predicting the training folds' mean) for a continuous one.
"""

from __future__ import annotations

import numpy as np

__all__ = ["attribute_inference", "identification_rate", "linkage_rate", "similarity"]


def _rows_standardised(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    X = X - X.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norm > 0, norm, 1.0)


def similarity(database: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Pearson correlation of every target row with every database row (targets x database).

    Parameters
    ----------
    database, targets : array of shape (n_people, n_features)
        One feature vector (e.g. vectorised connectome edges) per person; missing values are
        not allowed (impute or drop the edge first).
    """
    database, targets = np.asarray(database), np.asarray(targets)
    if database.shape[1] != targets.shape[1]:
        raise ValueError("database and targets need the same features")
    if not (np.all(np.isfinite(database)) and np.all(np.isfinite(targets))):
        raise ValueError("features must be finite: impute or drop missing edges first")
    return _rows_standardised(targets) @ _rows_standardised(database).T


def identification_rate(database: np.ndarray, targets: np.ndarray) -> float:
    """Top-1 identification rate of ``targets[i]`` as ``database[i]`` (Finn et al. 2015).

    Row ``i`` of both arrays is the same person (e.g. connectomes of two sessions or of the
    two halves of one run). Ties go to the lowest index, so a constant feature set scores chance
    or worse, never better.

    Returns
    -------
    float
        Fraction of targets whose most similar database row is their own; chance is ``1/n``.
    """
    s = similarity(database, targets)
    return float(np.mean(np.argmax(s, axis=1) == np.arange(len(s))))


def _attacker_scale(released: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both tables z-scored with the released table's medians (imputing missing values), means
    and SDs; features missing or constant in the released table are dropped."""
    released = np.asarray(released, dtype=np.float64)
    known = np.asarray(known, dtype=np.float64)
    if released.ndim != 2 or known.ndim != 2 or released.shape[1] != known.shape[1]:
        raise ValueError("released and known need the same features (columns)")
    usable = np.isfinite(released).any(axis=0)
    released, known = released[:, usable], known[:, usable]
    median = np.nanmedian(released, axis=0)
    released = np.where(np.isfinite(released), released, median)
    known = np.where(np.isfinite(known), known, median)
    mean, sd = released.mean(axis=0), released.std(axis=0)
    varies = sd > 0
    return (
        (released[:, varies] - mean[varies]) / sd[varies],
        (known[:, varies] - mean[varies]) / sd[varies],
    )


def linkage_rate(
    released: np.ndarray, released_people, known: np.ndarray, known_people
) -> dict[str, float]:
    """Top-1 linkage of named recordings to the rows of a released feature table.

    Parameters
    ----------
    released : array of shape (n_released, n_features)
        The shared table (pseudonymous rows; missing values allowed).
    released_people : array-like of shape (n_released,)
        Who each released row belongs to (hidden from the attacker; used to score).
    known : array of shape (n_known, n_features)
        The same features of other recordings (another session, another text) that the
        attacker holds with the people's names.
    known_people : array-like of shape (n_known,)

    Returns
    -------
    dict
        ``top1``: fraction of known rows whose most correlated released row (Pearson over the
        standardised features, ties to the first row) belongs to the same person; ``chance``:
        the expected ``top1`` of a random guess (``1/n`` with one released row per person);
        ``n_features``: features the attacker could use.
    """
    released_people = np.asarray(released_people)
    known_people = np.asarray(known_people)
    if len(released_people) != len(released) or len(known_people) != len(known):
        raise ValueError("one person per row is needed")
    database, targets = _attacker_scale(released, known)
    if database.shape[1] < 2:
        raise ValueError("fewer than 2 features vary in the released table")
    best = np.argmax(similarity(database, targets), axis=1)
    share = np.array([np.mean(released_people == p) for p in known_people])
    return {
        "top1": float(np.mean(released_people[best] == known_people)),
        "chance": float(share.mean()),
        "n_features": int(database.shape[1]),
    }


def attribute_inference(
    X: np.ndarray, y: np.ndarray, kind: str = "binary", folds: int = 5, seed: int = 0
) -> dict[str, float]:
    """How well a sensitive attribute is predicted from released features.

    The attacker's model (standardisation + l2 logistic regression, or ridge regression with its
    penalty chosen by leave-one-out inside the training fold) is fitted on training folds only.

    Parameters
    ----------
    X : array of shape (n_people, n_features)
    y : array of shape (n_people,)
        Binary attribute (two distinct values) or a number.
    kind : {"binary", "continuous"}
    folds : int
        Stratified (binary) or plain shuffled K-fold.
    seed : int

    Returns
    -------
    dict
        binary: ``auc`` (0.5 is chance); continuous: ``mae``, ``baseline_mae`` (predicting the
        training folds' mean) and ``mae_ratio`` (below 1: the features leak the attribute).
    """
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.metrics import mean_absolute_error, roc_auc_score
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if kind == "binary":
        classes = np.unique(y)
        if len(classes) != 2:
            raise ValueError(f"a binary attribute needs two values, got {len(classes)}")
        target = (y == classes[1]).astype(int)
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        proba = cross_val_predict(model, X, target, cv=cv, method="predict_proba")[:, 1]
        return {"auc": float(roc_auc_score(target, proba))}
    if kind != "continuous":
        raise ValueError(f"kind must be 'binary' or 'continuous', got {kind!r}")
    y = y.astype(np.float64)
    cv = KFold(folds, shuffle=True, random_state=seed)
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 5, 15)))
    predicted = cross_val_predict(model, X, y, cv=cv)
    baseline = np.empty_like(y)
    for train, test in cv.split(X):
        baseline[test] = y[train].mean()
    mae, base = mean_absolute_error(y, predicted), mean_absolute_error(y, baseline)
    return {"mae": float(mae), "baseline_mae": float(base), "mae_ratio": float(mae / base)}
