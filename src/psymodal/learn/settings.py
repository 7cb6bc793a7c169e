"""Default settings of the learning stage and their merging with the user's ``learn`` section.

The workflow passes ``config["learn"]``; every key left out takes the default below, so the stage
runs on ``{}``. The effective settings are written next to the results (``run_info.json``), so a
table can always be traced back to what produced it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

#: Allowed values of ``learn.transforms`` (None: no transform).
TRANSFORMS = ("tangent", None)

DEFAULTS: dict = {
    # Label: y = (participants[label_column] == positive_label). With negative_label set, any
    # other non-missing label is excluded (recorded) instead of silently counted as control.
    "label_column": "diagnosis",
    "positive_label": "patient",
    "negative_label": None,
    "site_column": "site",
    # Covariates for the confound-only baseline, the confound regressor and ComBat. Categorical
    # ones are one-hot encoded by the baseline; a column absent from participants.tsv is skipped.
    "confounds": ["age", "sex", "site"],
    "categorical_confounds": ["sex", "site"],
    "cv": {
        "folds": 5,
        "repeats": 1,
        "seed": 0,
        # stratified | site_stratified (label x site strata) | leave_site_out | group
        "strategy": "stratified",
        # group strategy: StratifiedGroupKFold over this participants.tsv column (e.g. family).
        "group_column": None,
        # A class with fewer members than folds: "reduce" the folds (recorded) or "error".
        "small_class": "reduce",
        # Nested CV: an inner grid search over each model's grid inside every outer fold.
        "nested": False,
        "inner_folds": 3,
        # Parallel outer folds (joblib processes); results do not depend on it.
        "n_jobs": 1,
    },
    # Models fitted per modality block (and late-fused): logistic, svm, hgb.
    "models": ["logistic"],
    # Fusion strategies: late (average of per-modality probabilities), early (one model on all
    # blocks concatenated), intermediate (torch network with one encoder per modality).
    "fusion": ["late"],
    "confound_baseline": True,
    # Per-modality feature transforms fitted inside each training fold, first step after the
    # column selection (before harmonisation, imputation, scaling) of the modality's block
    # pipeline and of its part of the early- and intermediate-fusion pipelines (the torch
    # network's encoder for the modality then reads the transformed block). Only "tangent":
    # the block holds covariance vectors with diagonal (mri.connectivity: tangent) and becomes
    # tangent-space connectivity relative to the training subjects' geometric mean. Explicit
    # only (no auto-detection), e.g. {mri: tangent}.
    "transforms": {},
    # In-fold harmonisation applied before every feature model and before the intermediate
    # (torch) fusion network (after the transforms): none | combat | regress.
    "harmonize": "none",
    # ComBat options; unseen_site: pooled (no correction for a site absent from the training
    # fold, warned) or self (that site's own location/scale, label-free but transductive).
    "combat": {"empirical_bayes": True, "unseen_site": "pooled"},
    "logistic": {"C": 1.0, "grid": [0.01, 0.1, 1.0, 10.0], "class_weight": "balanced"},
    "svm": {"C": 1.0, "grid": [0.01, 0.1, 1.0], "class_weight": "balanced"},
    "hgb": {"learning_rate": 0.1, "max_iter": 100, "grid": [0.05, 0.1]},
    "torch": {
        "hidden": 32,
        "embedding": 16,
        "fusion": "gate",  # concat | gate
        "modality_dropout": 0.2,
        "dropout": 0.2,
        "weight_decay": 1e-3,
        "lr": 1e-2,
        "max_epochs": 200,
        "patience": 20,
        "batch_size": 64,
        "validation_fraction": 0.2,
    },
    "metrics": {
        "threshold": 0.5,
        "bootstrap": 200,
        "calibration_bins": 5,
    },
    # Label permutations for a p-value per (model, modality); each re-runs the whole CV.
    "permutation": {"n": 0, "seed": 1},
    "explain": {
        "enabled": False,
        "n_repeats": 5,
        "max_features": 200,
    },
}


def _merge(base: dict, override: Mapping) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def resolve(settings: Mapping | None) -> dict:
    """Return the defaults updated (recursively) with ``settings``.

    Parameters
    ----------
    settings : mapping or None
        The ``learn`` section of the workflow configuration; ``None`` means all defaults.

    Returns
    -------
    dict
        A new dictionary; the input is not modified.
    """
    resolved = _merge(DEFAULTS, settings or {})
    for key in ("models", "fusion", "confounds", "categorical_confounds"):
        if isinstance(resolved[key], str):
            resolved[key] = [resolved[key]]
    transforms = resolved["transforms"] or {}
    if not isinstance(transforms, Mapping):
        raise ValueError("learn.transforms must map modality -> transform (e.g. {mri: tangent})")
    bad = {m: v for m, v in transforms.items() if v not in TRANSFORMS}
    if bad:
        raise ValueError(f"unknown learn.transforms {bad}; choose from {list(TRANSFORMS)}")
    resolved["transforms"] = dict(transforms)
    return resolved
