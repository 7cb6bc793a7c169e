"""Tangent-space connectivity in the learning stage: fitted inside each training fold."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from psymodal.learn import assemble, evaluate
from psymodal.learn.cross_validation import build_estimator, make_splits, plan_analyses
from psymodal.learn.settings import resolve
from psymodal.learn.simulate import simulate_covariance_table
from psymodal.learn.transformers import TangentFeatures, tangent_layout
from psymodal.mri.connectome import connectivity_features, feature_names
from psymodal.mri.paths import kind_label
from psymodal.mri.tangent import TangentSpace

REGIONS = [f"R{k}" for k in range(5)]
FAST = {"metrics": {"bootstrap": 0}, "confound_baseline": False, "cv": {"folds": 4}}
TANGENT = {**FAST, "transforms": {"mri": "tangent"}}
pytestmark = pytest.mark.usefixtures("one_thread")


def simulate(n=64, seed=0, effect=0.6):
    """Patients couple regions 0 and 1; every subject has its own global scale (nuisance)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    table, covs = simulate_covariance_table(y, REGIONS, rng, coupling=effect)
    ids = [f"sub-{k:03d}" for k in range(n)]
    participants = pd.DataFrame(
        {"participant_id": ids, "diagnosis": np.where(y, "patient", "control")}
    )
    table.insert(0, "participant_id", ids)
    return participants, table, covs, y


@pytest.fixture(scope="module")
def study():
    participants, table, covs, y = simulate()
    return assemble(participants, {"mri": table}, None, {}), covs


# -- mri side -------------------------------------------------------------------------------


def test_connectivity_kind_tangent_writes_covariance_with_diagonal():
    rng = np.random.default_rng(0)
    ts = pd.DataFrame(rng.standard_normal((80, 4)), columns=REGIONS[:4])
    ts["R3"] = np.nan
    out = connectivity_features(ts, "tangent")
    assert list(out.index) == feature_names(REGIONS[:4], "tangent")
    assert "R0__R0" in out.index and len(out) == 4 * 5 // 2
    cov = connectivity_features(ts, "covariance")
    assert np.allclose(out[cov.index].dropna(), cov.dropna())  # same off-diagonal covariance
    assert out.filter(like="R3").isna().all() and np.isnan(out["R3__R3"])
    assert out[["R0__R0", "R1__R1", "R2__R2"]].gt(0).all()
    assert kind_label("tangent") == "tangent"


# -- transformer -----------------------------------------------------------------------------


def test_layout_and_names():
    regions, names = tangent_layout(feature_names(REGIONS[:3], "tangent"))
    assert regions == REGIONS[:3] and names == ["R0__R1", "R0__R2", "R1__R2"]
    _, names = tangent_layout(feature_names(REGIONS[:3], "tangent"), discard_diagonal=False)
    assert names[-3:] == ["R0__R0", "R1__R1", "R2__R2"]
    with pytest.raises(ValueError, match="diagonal"):
        tangent_layout(feature_names(REGIONS[:3], "correlation"))


def test_matches_tangent_space_and_uses_only_fit_rows():
    _, table, covs, _ = simulate(n=30)
    X = table.drop(columns="participant_id")
    a, b = slice(0, 20), slice(20, 30)
    tf = TangentFeatures(edges=list(X.columns)).fit(X.to_numpy()[a])
    ref = TangentSpace(input="covariance").fit(covs[a])
    assert np.allclose(tf.tangent_.reference_, ref.reference_)
    assert np.allclose(tf.transform(X.to_numpy()[b]), ref.transform(covs[b]))
    assert list(tf.get_feature_names_out()) == list(
        TangentSpace(region_names=REGIONS).fit(covs[a]).get_feature_names_out()
    )
    # the reference depends on the fit rows only: changing the transformed rows changes nothing
    other = TangentFeatures(edges=list(X.columns)).fit(X.to_numpy()[a])
    assert np.allclose(other.tangent_.reference_, tf.tangent_.reference_)
    everything = TangentFeatures(edges=list(X.columns)).fit(X.to_numpy())
    assert not np.allclose(everything.tangent_.reference_, tf.tangent_.reference_)
    # DataFrame columns name the edges when edges is None
    assert np.allclose(
        TangentFeatures().fit(X.iloc[a]).transform(X.iloc[b]), tf.transform(X.to_numpy()[b])
    )


def test_missing_regions_and_absent_rows():
    _, table, _, _ = simulate(n=20)
    X = table.drop(columns="participant_id").to_numpy().copy()
    names = list(table.columns[1:])
    r2 = [k for k, c in enumerate(names) if "R2" in c.split("__")]
    X[3, r2] = np.nan  # one region missing for one subject
    X[4, :] = np.nan  # modality absent
    tf = TangentFeatures(edges=names).fit(X)
    out = tf.transform(X)
    assert np.isfinite(out[[0, 1, 2, 3]]).all()
    assert np.isnan(out[4]).all()
    assert np.isfinite(tf.tangent_.reference_).all()


def test_clone_and_pickle():
    _, table, _, _ = simulate(n=20)
    X = table.drop(columns="participant_id").to_numpy()
    tf = TangentFeatures(edges=list(table.columns[1:]), discard_diagonal=False)
    assert clone(tf).get_params() == tf.get_params()
    tf.fit(X)
    again = pickle.loads(pickle.dumps(tf))
    assert np.array_equal(again.transform(X), tf.transform(X))
    assert again.transform(X).shape == (20, 15)


_NOT_TRIANGULAR = (
    "random data with 2, 4 or 5 columns is no upper triangle with diagonal (p(p+1)/2 "
    "columns): without edge names the covariance cannot be rebuilt, so fit raises"
)
EXPECTED_FAILED = {
    name: _NOT_TRIANGULAR
    for name in (
        "check_estimators_dtypes",
        "check_estimators_fit_returns_self",
        "check_estimators_overwrite_params",
        "check_fit_check_is_fitted",
        "check_fit_idempotent",
        "check_n_features_in",
        "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit",
        "check_readonly_memmap_input",
    )
}
# max_iter belongs to the geometric mean, whose iteration count TangentSpace does not expose
EXPECTED_FAILED["check_transformer_n_iter"] = "no n_iter_: iterations of the geometric mean"


@parametrize_with_checks(
    [TangentFeatures()], expected_failed_checks=lambda estimator: EXPECTED_FAILED
)
def test_sklearn_compatible(estimator, check):
    # Without edge names, 2D input is read as a row-major upper triangle with diagonal (p
    # inferred from the width); _make_spd keeps any such matrix usable. The remaining
    # generic checks (clone, pickle, NaN, transform consistency...) pass.
    check(estimator)


# -- learning stage --------------------------------------------------------------------------


def test_tangent_in_fold_pipeline_detects_covariance_difference(study):
    data, _ = study
    result = evaluate(data, TANGENT)
    auc = result.metrics.query("modality == 'mri'").roc_auc.iloc[0]
    assert auc > 0.8


def test_workflow_fits_reference_in_each_training_fold(study):
    data, covs = study
    s = resolve(TANGENT)
    result = evaluate(data, s, keep_fitted=True)
    splits, _, _ = make_splits(data, s)
    references = []
    for (*_, estimator, test), (_, _, train, test2) in zip(result.fitted, splits, strict=True):
        assert np.array_equal(test, test2)
        tangent = estimator.named_steps["transform"].named_transformers_["mri"]
        expected = TangentSpace(input="covariance").fit(covs[train]).reference_
        assert np.allclose(tangent.tangent_.reference_, expected)
        references.append(tangent.tangent_.reference_)
    everyone = TangentSpace(input="covariance").fit(covs).reference_
    assert all(not np.allclose(r, everyone) for r in references)
    assert not np.allclose(references[0], references[1])


def test_leaky_reference_gives_different_numbers(study):
    data, _ = study
    s = resolve(TANGENT)
    in_fold = evaluate(data, s).predictions
    # leaky variant: project everyone with a reference fitted on all subjects, then CV
    columns = data.blocks["mri"]
    leaky_tf = TangentFeatures(edges=[c.split("__", 1)[1] for c in columns])
    Z = leaky_tf.fit_transform(data.X[columns].to_numpy())
    leaky_X = pd.DataFrame(Z, index=data.X.index, columns=[f"mri__e{k}" for k in range(Z.shape[1])])
    leaky_data = assemble(
        data.participants,
        {"mri": leaky_X.reset_index().rename(columns=lambda c: c.removeprefix("mri__"))},
        None,
        {},
    )
    leaky = evaluate(leaky_data, FAST).predictions
    merged = in_fold.merge(leaky, on=["participant_id", "fold", "repeat", "model", "modality"])
    assert len(merged) == len(in_fold)
    assert not np.allclose(merged.probability_x, merged.probability_y)


def test_early_fusion_transforms_only_its_block(study):
    data, covs = study
    participants = data.participants
    rng = np.random.default_rng(3)
    other = pd.DataFrame(
        {"participant_id": participants.participant_id, "a": rng.standard_normal(len(covs))}
    )
    _, table, _, _ = simulate()
    table.loc[[0, 5], table.columns[1:]] = np.nan  # two subjects without MRI
    both = assemble(participants, {"mri": table, "speech": other}, None, {})
    s = resolve({**TANGENT, "fusion": ["early"], "harmonize": "none"})
    early = [a for a in plan_analyses(both, s) if a.kind == "early"][0]
    est = build_estimator(early, both, s, 0)
    pos = {c: i for i, c in enumerate(both.X.columns)}
    X = both.X.to_numpy()
    est.fit(X, both.y)
    width = len(tangent_layout([c.split("__", 1)[1] for c in both.blocks["mri"]])[1]) + 1
    assert est.named_steps["clf"].coef_.shape[1] == width
    assert np.isfinite(est.predict_proba(X)).all()
    assert pos  # columns addressed by position


def test_unknown_transform_is_rejected():
    with pytest.raises(ValueError, match="transforms"):
        resolve({"transforms": {"mri": "pca"}})


@pytest.mark.parametrize("method", ["regress", "combat"])
def test_harmonizer_after_tangent_finds_covariates(method):
    participants, table, _, y = simulate(n=48, seed=2)
    participants["site"] = np.where(np.arange(48) % 3 == 0, "a", "b")
    participants["age"] = np.linspace(20, 60, 48)
    data = assemble(participants, {"mri": table}, None, {"confounds": ["age", "site"]})
    result = evaluate(data, {**TANGENT, "harmonize": method})
    assert np.isfinite(result.predictions.probability).all()
