"""TangentSpace: agreement with nilearn, the sklearn contract, train-only fitting, NaN regions."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks as ec

from psymodal.mri.tangent import TangentSpace, covariances_from_timeseries


def _series(n_sub=12, p=5, t=80, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    out, y = [], []
    for s in range(n_sub):
        x = rng.normal(size=(t, p))
        label = s % 2
        x[:, 1] += (0.3 + shift * label) * x[:, 0] * 2
        out.append(x)
        y.append(label)
    return out, np.array(y)


def test_matches_nilearn_tangent():
    from nilearn.connectome import ConnectivityMeasure

    series, _ = _series()
    ours = TangentSpace().fit(series).transform(series)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ConnectivityMeasure(kind="tangent", standardize=False).fit_transform(series)
    iu = np.triu_indices(5, k=1)
    np.testing.assert_allclose(ours, np.stack([m[iu] for m in ref]), atol=1e-5)


def test_covariance_and_timeseries_inputs_agree_and_names():
    series, _ = _series()
    frames = [pd.DataFrame(s, columns=list("ABCDE")) for s in series]
    a = TangentSpace().fit(frames)
    b = TangentSpace().fit(covariances_from_timeseries(series))
    np.testing.assert_allclose(
        a.transform(frames), b.transform(covariances_from_timeseries(series))
    )
    assert list(a.get_feature_names_out())[:2] == ["A__B", "A__C"]
    assert a.transform(frames).shape == (12, 10)
    full = TangentSpace(discard_diagonal=False).fit(frames)
    assert full.get_feature_names_out()[-1] == "E__E" and full.n_features_out_ == 15


def test_fit_uses_training_subjects_only():
    series, _ = _series(n_sub=10)
    train, test = series[:6], series[6:]
    model = TangentSpace().fit(train)
    ref = model.reference_.copy()
    model.transform(test)
    np.testing.assert_array_equal(model.reference_, ref)
    other = TangentSpace().fit(series)
    assert not np.allclose(other.reference_, ref)


def test_sklearn_contract():
    est = TangentSpace()
    with pytest.raises(NotFittedError):
        est.transform(np.stack([np.eye(3)] * 2))
    assert clone(est).get_params() == est.get_params()
    series, y = _series(n_sub=20, shift=1.0, seed=3)
    fitted = est.fit(series)
    assert fitted is est
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.transform(series), est.transform(series))
    covs = covariances_from_timeseries(series)
    pipe = make_pipeline(TangentSpace(), LogisticRegression())
    scores = cross_val_score(pipe, covs, y, cv=4)
    assert scores.mean() > 0.7  # the planted group difference is found
    # the data-independent API checks of sklearn.utils.estimator_checks
    for check in (
        ec.check_no_attributes_set_in_init,
        ec.check_parameters_default_constructible,
        ec.check_get_params_invariance,
        ec.check_set_params,
        ec.check_estimator_repr,
        ec.check_estimator_cloneable,
        ec.check_mixin_order,
        ec.check_do_not_raise_errors_in_init_or_set_params,
        ec.check_valid_tag_types,
        ec.check_estimator_tags_renamed,
    ):
        check("TangentSpace", TangentSpace())


def test_check_estimator_skips_cleanly():
    # samples are matrices, not rows of a 2D array: sklearn's generic checks do not apply
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ec.check_estimator(TangentSpace())
    assert any("Can't test estimator" in str(w.message) for w in caught)


def test_missing_regions_are_filled():
    series, _ = _series()
    series[3] = series[3].copy()
    series[3][:, 2] = 0.0  # region outside the field of view
    series[4] = series[4].copy()
    series[4][:, 4] = np.nan
    out = TangentSpace().fit(series).transform(series)
    assert np.isfinite(out).all()
    names = list(TangentSpace().fit(series).get_feature_names_out())
    assert abs(out[3, names.index("region003__region004")]) < 0.2


def test_bad_inputs():
    with pytest.raises(ValueError, match="one covariance matrix or time series per subject"):
        TangentSpace().fit(np.ones((4, 3)))
    with pytest.raises(ValueError, match="different numbers of regions"):
        TangentSpace().fit([np.ones((10, 3)), np.ones((10, 4))])
    model = TangentSpace().fit(np.stack([np.eye(3)] * 3))
    with pytest.raises(ValueError, match="fitted with 3"):
        model.transform(np.stack([np.eye(4)] * 2))
