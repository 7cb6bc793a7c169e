"""learn.tangent.missing_regions: drop regions missing in a training subject, in-fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psymodal.learn import assemble, evaluate
from psymodal.learn.simulate import simulate_covariance_table
from psymodal.learn.transformers import TangentFeatures

REGIONS = [f"R{k}" for k in range(5)]
pytestmark = pytest.mark.usefixtures("one_thread")


def _table(n=40, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    table, _ = simulate_covariance_table(y, REGIONS, rng, coupling=0.6)
    return table, y


def test_drop_equals_fitting_without_the_region():
    table, _ = _table()
    table.loc[3, [c for c in table.columns if "R4" in c]] = np.nan  # R4 out of view once
    dropped = TangentFeatures(missing_regions="drop").fit(table)
    assert dropped.regions_dropped_ == ["R4"]
    out = pd.DataFrame(dropped.transform(table), columns=dropped.get_feature_names_out())
    assert (out.filter(like="R4") == 0).all().all()  # constant: no influence after scaling
    without = table[[c for c in table.columns if "R4" not in c]]
    reference = TangentFeatures().fit(without)  # subject 3 still counts for R0-R3
    np.testing.assert_allclose(
        out[list(reference.get_feature_names_out())],
        reference.transform(without),
        rtol=1e-10,
        atol=1e-12,
    )
    assert TangentFeatures().fit(table).regions_dropped_ == []  # complete keeps it
    with pytest.raises(ValueError, match="missing_regions"):
        TangentFeatures(missing_regions="bogus").fit(table)


def test_drop_is_decided_inside_each_training_fold():
    table, y = _table(48, seed=2)
    table.loc[[0, 1], [c for c in table.columns if "R3" in c]] = np.nan
    ids = [f"sub-{k:03d}" for k in range(len(y))]
    table.insert(0, "participant_id", ids)
    participants = pd.DataFrame(
        {"participant_id": ids, "diagnosis": np.where(y, "patient", "control")}
    )
    settings = {
        "transforms": {"mri": "tangent"},
        "tangent": {"missing_regions": "drop"},
        "confound_baseline": False,
        "metrics": {"bootstrap": 0},
        "cv": {"folds": 3, "nested": False},
    }
    data = assemble(participants, {"mri": table}, None, settings)
    result = evaluate(data, settings, keep_fitted=True)
    assert result.metrics.roc_auc.iloc[0] > 0.7
    dropped = []
    for _, _, _, estimator, test in result.fitted:
        tangent = estimator.named_steps["transform"].named_transformers_["mri"]
        dropped.append(tangent.regions_dropped_)
        # R3 is dropped exactly when a subject lacking it is in the training fold
        assert (tangent.regions_dropped_ == ["R3"]) == (not {0, 1} <= set(test))
    assert ["R3"] in dropped
