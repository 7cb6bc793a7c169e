"""Permutations within site (or group) by default, and the p-value floor in the metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psymodal.learn import assemble, evaluate
from psymodal.learn.cross_validation import permutation_strata, permute_within
from psymodal.learn.settings import resolve

pytestmark = pytest.mark.usefixtures("one_thread")


def _confounded_study(n=40, seed=0):
    """Site A holds 90% patients, site B 10%; the features carry the site only."""
    rng = np.random.default_rng(seed)
    site = np.repeat(["A", "B"], n // 2)
    y = np.where(site == "A", rng.random(n) < 0.9, rng.random(n) < 0.1).astype(int)
    ids = [f"sub-{i:03d}" for i in range(n)]
    participants = pd.DataFrame(
        {"participant_id": ids, "diagnosis": np.where(y, "patient", "control"), "site": site}
    )
    shift = (site == "A")[:, None] * 1.5
    features = pd.DataFrame(rng.normal(size=(n, 4)) + shift, columns=[f"f{k}" for k in range(4)])
    features.insert(0, "participant_id", ids)
    return participants, {"mri": features}


def test_permute_within_keeps_each_stratum_labels():
    rng = np.random.default_rng(0)
    y = np.array([0, 1, 1, 0, 0, 1, 1, 1])
    strata = np.array(["a", "a", "a", "a", "b", "b", "b", "b"])
    for _ in range(5):
        out = permute_within(rng, y, strata)
        for level in "ab":
            assert sorted(out[strata == level]) == sorted(y[strata == level])
    assert sorted(permute_within(rng, y, None)) == sorted(y)


def test_auto_scheme_resolves_to_site_or_group():
    participants, features = _confounded_study()
    data = assemble(participants, features, None, {})
    assert permutation_strata(data, resolve({}))[1] == "site"
    assert permutation_strata(data, resolve({"permutation": {"within": "none"}})) == (None, "none")
    participants["family"] = [f"fam{i // 2}" for i in range(len(participants))]
    grouped = {"cv": {"strategy": "group", "group_column": "family"}}
    data = assemble(participants, features, None, grouped)
    strata, within = permutation_strata(data, resolve(grouped))
    assert within == "group" and strata[0] == strata[1] != strata[2]
    without_site = assemble(participants.drop(columns="site"), features, None, {})
    assert permutation_strata(without_site, resolve({}))[1] == "none"
    with pytest.raises(ValueError, match="site column"):
        permutation_strata(without_site, resolve({"permutation": {"within": "site"}}))


def test_within_site_null_is_not_fooled_by_a_site_confound():
    participants, features = _confounded_study()
    data = assemble(participants, features, None, {"confounds": []})
    settings = {
        "confounds": [],
        "metrics": {"bootstrap": 0},
        "cv": {"nested": False, "folds": 3},
        "permutation": {"n": 9},
    }
    free = evaluate(data, {**settings, "permutation": {"n": 9, "within": "none"}})
    within = evaluate(data, settings)
    row_free, row_within = free.metrics.iloc[0], within.metrics.iloc[0]
    assert row_free.roc_auc == row_within.roc_auc > 0.7  # same folds, same observed AUC
    assert row_free.p_value == pytest.approx(0.1)  # site offsets beat every free permutation
    assert row_within.p_value > 0.3  # within site the offsets survive permutation: no evidence
    assert row_within.p_value_floor == pytest.approx(1 / 10)
    assert set(within.null.within) == {"site"} and set(free.null.within) == {"none"}
    assert any("permutations within site" in n for n in within.notes)
