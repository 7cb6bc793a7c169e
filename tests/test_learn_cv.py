"""Cross-validation options, metrics, permutation test, fusion network and explanations."""

from __future__ import annotations

import numpy as np
import pytest

from psymodal.io.tables import read_tsv
from psymodal.learn import assemble, evaluate, run
from psymodal.learn.cross_validation import make_splits
from psymodal.learn.explain import importance_table
from psymodal.learn.metrics import binary_metrics, bootstrap_ci, calibration_table
from psymodal.learn.simulate import simulate_study, write_study

FAST = {"metrics": {"bootstrap": 0}}
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def study():
    participants, features = simulate_study(
        90, signal={"mri": 1.0, "speech": 0.8}, missing={"speech": 0.3}, n_sites=3, seed=11
    )
    return assemble(participants, features, None, {})


def _row(result, modality, model="logistic"):
    return result.metrics.query("modality == @modality and model == @model").iloc[0]


def test_binary_metrics_by_hand():
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.8, 0.9])
    m = binary_metrics(y, p)
    assert m["sensitivity"] == pytest.approx(2 / 3)
    assert m["specificity"] == pytest.approx(1 / 2)
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert m["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert m["roc_auc"] == pytest.approx(5 / 6)
    assert np.isnan(binary_metrics([1, 1], [0.2, 0.3])["roc_auc"])
    ci = bootstrap_ci(y, p, 50, 0)
    assert ci["roc_auc"][0] <= m["roc_auc"] <= ci["roc_auc"][1]
    table = calibration_table(y, p, 5)
    assert table.n.sum() == 5 and len(table) == 5


def test_strategies_split_as_documented(study):
    s = {"cv": {"folds": 3, "repeats": 2, "seed": 0, "strategy": "leave_site_out"}}
    from psymodal.learn.settings import resolve

    splits, n, notes = make_splits(study, resolve(s))
    assert n == 3 and len(splits) == 3 and notes  # repeats forced to 1, recorded
    for _, _, train, test in splits:
        assert len(set(study.site[test])) == 1
        assert not set(study.site[train]) & set(study.site[test])
    splits, n, _ = make_splits(study, resolve({"cv": {**s["cv"], "strategy": "site_stratified"}}))
    assert len(splits) == 6
    for _, _, _, test in splits:  # every site in every test fold
        assert len(set(study.site[test])) == 3
    with pytest.raises(ValueError, match=r"cv\.strategy.*'bogus'"):
        make_splits(study, resolve({"cv": {"strategy": "bogus"}}))


def test_group_strategy_keeps_groups_together():
    participants, features = simulate_study(60, signal={"mri": 1.0}, seed=3)
    participants["family"] = [f"fam{i // 2}" for i in range(60)]
    data = assemble(participants, features, None, {"cv": {"group_column": "family"}})
    from psymodal.learn.settings import resolve

    s = resolve({"cv": {"strategy": "group", "group_column": "family"}})
    for _, _, train, test in make_splits(data, s)[0]:
        assert not set(data.groups[train]) & set(data.groups[test])


def test_nested_cv_models_and_repeats(study):
    settings = {
        **FAST,
        "models": ["logistic", "svm", "hgb"],
        "fusion": ["late", "early"],
        "cv": {"nested": True, "repeats": 2, "folds": 3},
        "hgb": {"max_iter": 30, "grid": [0.1]},
        "svm": {"grid": [0.01, 0.1]},
    }
    result = evaluate(study, settings)
    assert set(result.metrics.model) >= {"logistic", "svm", "hgb"}
    assert _row(result, "mri")["roc_auc"] > 0.75
    assert _row(result, "early_fusion", "svm")["roc_auc"] > 0.75
    assert result.metrics.n_repeats.eq(2).all()
    assert result.metrics.roc_auc_sd.notna().all()
    assert set(result.predictions.repeat) == {0, 1}


def test_confidence_intervals_and_permutation_p_value(study):
    result = evaluate(
        study, {"metrics": {"bootstrap": 100}, "permutation": {"n": 9}, "fusion": ["late"]}
    )
    row = _row(result, "mri")
    assert row.roc_auc_ci_low < row.roc_auc < row.roc_auc_ci_high
    assert row.n_permutations == 9
    assert row.p_value == pytest.approx(0.1)  # the minimum with 9 permutations: 1 / 10
    assert _row(result, "confounds").p_value > 0.1
    assert set(result.calibration.modality) == set(result.metrics.modality)


def test_fusion_network_handles_missing_modality_and_is_deterministic(study):
    settings = {**FAST, "fusion": ["intermediate"], "torch": {"max_epochs": 60}}
    first = evaluate(study, settings)
    second = evaluate(study, settings)
    row = _row(first, "intermediate_fusion", "fusion_net")
    assert row.n_subjects == len(study.y)  # speech-less subjects predicted too
    assert row.roc_auc > 0.75
    a = first.predictions.query("model == 'fusion_net'").probability.to_numpy()
    b = second.predictions.query("model == 'fusion_net'").probability.to_numpy()
    assert np.array_equal(a, b)
    concat = evaluate(study, {**settings, "torch": {"fusion": "concat", "max_epochs": 60}})
    assert _row(concat, "intermediate_fusion", "fusion_net").roc_auc > 0.7


def test_harmonisation_options_run(study):
    for method in ("combat", "regress"):
        result = evaluate(study, {**FAST, "harmonize": method, "fusion": ["late"]})
        assert _row(result, "mri").roc_auc > 0.75


def test_permutation_importance_finds_the_signal_block_and_features():
    participants, features = simulate_study(
        100, n_features={"mri": 12, "speech": 6}, signal={"mri": 1.2}, seed=5
    )
    data = assemble(participants, features, None, {})
    result = evaluate(data, {**FAST, "fusion": ["late", "early"]}, keep_fitted=True)
    table = importance_table(data, result)
    blocks = table.query("level == 'block' and modality == 'early_fusion'").set_index("feature")
    assert blocks.loc["mri", "importance_mean"] > blocks.loc["speech", "importance_mean"] + 0.05
    late = table.query("level == 'block' and modality == 'late_fusion'").set_index("feature")
    assert late.loc["mri", "importance_mean"] > late.loc["speech", "importance_mean"]
    mri = table.query("modality == 'mri' and level == 'feature'")
    top = set(mri.head(5).feature)
    assert len(top & {f"mri__f{j:04d}" for j in range(5)}) >= 4
    assert mri.set_index("feature").loc["mri__f0000", "coef_mean"] > 0


def test_run_writes_optional_tables(tmp_path):
    participants, features = simulate_study(50, signal={"mri": 1.0}, seed=8)
    ptsv, paths = write_study(participants, features, tmp_path / "in")
    settings = {"explain": {"enabled": True, "n_repeats": 2}, "metrics": {"bootstrap": 10}}
    written = run(ptsv, paths, None, tmp_path / "out", settings)
    assert {"calibration", "importance", "run_info"} <= set(written)
    assert len(read_tsv(written["importance"])) > 0
