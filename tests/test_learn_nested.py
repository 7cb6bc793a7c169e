"""Nested CV by default: inner splits follow the outer scheme, choices are recorded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV

from psymodal.io.tables import read_tsv
from psymodal.learn import assemble, evaluate, run
from psymodal.learn.cross_validation import Analysis, build_estimator
from psymodal.learn.search import CHOICE_COLUMNS, choose, inner_splits
from psymodal.learn.settings import resolve
from psymodal.learn.simulate import simulate_study, write_study

pytestmark = pytest.mark.usefixtures("one_thread")
FAST = {
    "metrics": {"bootstrap": 0},
    "cv": {"folds": 3, "nested": True},
    "logistic": {"grid": [0.001, 0.1, 10.0]},
}


@pytest.fixture(scope="module")
def study():
    participants, features = simulate_study(
        60, n_features={"mri": 20}, signal={"mri": 1.0}, n_sites=3, seed=4
    )
    participants["family"] = [f"fam{i // 3}" for i in range(len(participants))]
    return assemble(participants, features, None, {"cv": {"group_column": "family"}})


def test_inner_splits_follow_the_outer_scheme(study):
    y, site, groups = study.y, study.site, study.groups
    splits, scheme = inner_splits("leave_site_out", y, 3, 0, site=site)
    assert scheme == "3-fold by sites"
    for train, test in splits:
        assert not set(site[train]) & set(site[test])
    splits, scheme = inner_splits("group", y, 3, 0, groups=groups)
    assert scheme == "3-fold by groups"
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
    splits, _ = inner_splits("site_stratified", y, 3, 0, site=site)
    for _, test in splits:
        assert len(set(site[test])) == 3
    splits, scheme = inner_splits("stratified", y, 3, 0)
    assert scheme == "3-fold stratified"
    assert sorted(np.concatenate([t for _, t in splits])) == list(range(len(y)))


def test_choice_matches_a_plain_grid_search(study):
    s = resolve(FAST)
    estimator = build_estimator(Analysis("logistic", "mri", "block", "mri"), study, s, 0)
    X = study.X.to_numpy(dtype=float)
    splits, _ = inner_splits("stratified", study.y, 3, 0)
    grid = {"clf__C": [0.001, 0.1, 10.0]}
    best, scores = choose(estimator, grid, X, study.y, splits)
    search = GridSearchCV(estimator, grid, scoring="roc_auc", cv=splits).fit(X, study.y)
    assert best == search.best_params_
    np.testing.assert_allclose(
        [p["score"] for p in scores], search.cv_results_["mean_test_score"], rtol=1e-9
    )


def test_chosen_value_recorded_per_outer_fold(study):
    result = evaluate(study, FAST)
    table = result.hyperparameters
    assert list(table.columns) == CHOICE_COLUMNS
    chosen = table[table.chosen]
    # one chosen C per (analysis, outer fold); the confound baseline is tuned too
    assert len(chosen) == 2 * 3
    assert set(chosen.modality) == {"mri", "confounds"}
    assert set(chosen.value) <= {0.001, 0.1, 10.0}
    for _, group in table.groupby(["modality", "repeat", "fold"]):
        assert len(group) == 3
        best = group.inner_score.to_numpy().argmax()  # the first of tied best values
        assert group.chosen.to_numpy()[best]
    assert (chosen.inner_cv == "3-fold stratified").all()
    off = evaluate(study, {**FAST, "cv": {"folds": 3, "nested": False}})
    assert off.hyperparameters.empty


def test_group_cv_searches_by_group_and_run_writes_the_table(study, tmp_path):
    participants, features = simulate_study(45, n_features={"mri": 10}, signal={"mri": 1.0}, seed=2)
    participants["family"] = [f"fam{i // 3}" for i in range(45)]
    ptsv, paths = write_study(participants, features, tmp_path / "in")
    settings = {
        **FAST,
        "cv": {"folds": 3, "strategy": "group", "group_column": "family", "nested": True},
        "confound_baseline": False,
    }
    written = run(ptsv, paths, None, tmp_path / "out", settings)
    table = read_tsv(written["hyperparameters"])
    assert set(table.inner_cv) == {"3-fold by groups"}
    assert table.groupby(["fold"]).chosen.sum().eq(1).all()
    again = run(ptsv, paths, None, tmp_path / "again", settings)
    assert again["hyperparameters"].read_bytes() == written["hyperparameters"].read_bytes()
    assert isinstance(table, pd.DataFrame)
