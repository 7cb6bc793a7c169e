"""Leakage tests that can fail: site confounded with diagnosis, features carrying only site.

Features are pure noise plus a strong per-site offset, and the site is correlated with the
label. A correct pipeline (ComBat fitted inside the training folds, evaluated leaving whole
sites out) must be at chance. The deliberately leaky variant (ComBat fitted once on all
subjects with the diagnosis as a protected covariate, as often done before cross-validation)
must score above chance, which shows that the test is able to detect leakage.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from psymodal.learn import assemble, evaluate
from psymodal.learn.simulate import simulate_study
from psymodal.learn.transformers import ComBat

SEEDS = (0, 1, 2)
SETTINGS = {"metrics": {"bootstrap": 0}, "confound_baseline": False}
pytestmark = pytest.mark.usefixtures("one_thread")


def _study(seed):
    return simulate_study(
        240,
        n_features={"mri": 50},
        signal={},
        n_sites=4,
        site_shift=2.0,
        site_label_correlation=0.7,
        seed=seed,
    )


def _auc(data, settings, column):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # unseen-site warnings of ComBat
        result = evaluate(data, {**SETTINGS, **settings})
    return float(result.metrics[column].iloc[0])


def test_site_signal_is_learnable_without_harmonisation():
    # Positive control: the site offsets do predict the label under random folds.
    participants, features = _study(0)
    data = assemble(participants, features, None, {})
    assert _auc(data, {"cv": {"strategy": "stratified"}}, "roc_auc") > 0.75


def test_in_fold_combat_leave_site_out_is_at_chance_and_leaky_combat_is_not():
    correct, leaky = [], []
    for seed in SEEDS:
        participants, features = _study(seed)
        data = assemble(participants, features, None, {})
        # roc_auc_fold_mean: within held-out sites. The pooled AUC across held-out sites is
        # not used: each site's predictions carry its own offset, and with site ~ label that
        # offset alone moves the pooled AUC far from 0.5 in either direction.
        loso = {"harmonize": "combat", "cv": {"strategy": "leave_site_out"}}
        correct.append(_auc(data, loso, "roc_auc_fold_mean"))

        columns = data.blocks["mri"]
        design = np.column_stack([data.X["confound__site"], data.y, data.X[columns]])
        harmonised = ComBat(0, (1,)).fit_transform(design)  # fitted on everybody, with labels
        leaked = data.X[columns].copy()
        leaked[:] = harmonised
        leaked = leaked.reset_index()  # participant_id back as a column
        leaky_data = assemble(participants, {"mri": leaked}, None, {})
        leaky.append(_auc(leaky_data, {"cv": {"strategy": "leave_site_out"}}, "roc_auc_fold_mean"))
    assert abs(np.mean(correct) - 0.5) < 0.08, correct
    assert np.mean(leaky) > 0.6, leaky
    assert min(leaky) > max(correct), (leaky, correct)
