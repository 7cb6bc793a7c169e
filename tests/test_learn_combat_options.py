"""ComBat fitted on controls only, and protected covariates chosen in the config."""

from __future__ import annotations

import numpy as np
import pytest

from psymodal.learn import assemble, evaluate
from psymodal.learn.simulate import simulate_study
from psymodal.learn.transformers import ComBat

pytestmark = pytest.mark.usefixtures("one_thread")


def test_controls_only_keeps_a_diagnosis_effect_confounded_with_site():
    rng = np.random.default_rng(0)
    n = 200
    site = np.repeat([0.0, 1.0], n // 2)
    # site 1 holds 80% patients; patients +1.0 on every feature; site 1 +2.0 (scanner)
    y = np.where(site == 1, rng.random(n) < 0.8, rng.random(n) < 0.2).astype(int)
    X = rng.normal(size=(n, 5)) + 1.0 * y[:, None] + 2.0 * site[:, None]
    data = np.column_stack([X, site])

    def effect(model):
        out = model.fit(data, y).transform(data)
        return float(np.mean(out[y == 1]) - np.mean(out[y == 0]))

    all_subjects = effect(ComBat(site_column=5))
    controls = effect(ComBat(site_column=5, fit_on="controls"))
    assert abs(controls - 1.0) < 0.2  # the site offset is taken from controls: effect kept
    assert all_subjects < controls - 0.1  # part of the diagnosis removed as a site effect
    with pytest.raises(ValueError, match="needs y"):
        ComBat(site_column=5, fit_on="controls").fit(data)


def test_settings_reach_combat_in_the_cross_validation():
    participants, features = simulate_study(60, n_features={"mri": 8}, signal={"mri": 1.0}, seed=4)
    data = assemble(participants, features, None, {})
    base = {
        "harmonize": "combat",
        "metrics": {"bootstrap": 0},
        "cv": {"folds": 3, "nested": False},
        "confound_baseline": False,
    }
    settings = {**base, "combat": {"fit_on": "controls", "protect": ["age"]}}
    result = evaluate(data, settings, keep_fitted=True)
    combat = result.fitted[0][3].named_steps["harmonize"]
    assert combat.fit_on == "controls" and len(combat.covariate_columns) == 1  # age only
    assert result.metrics.roc_auc.iloc[0] > 0.7
    with pytest.raises(ValueError, match="not among the confounds"):
        evaluate(data, {**base, "combat": {"protect": ["iq"]}})
