"""The in-process caches of fitted tangent references and tangent vectors, and the shared
edge names.

A repeated fit on the same training matrices (same order, same settings) returns what a refit
computes, byte for byte, without recomputing; anything else is a miss.
"""

import copy
import pickle

import numpy as np
import pytest

from psymodal.learn.transformers import SharedNames, tangent_layout
from psymodal.mri import tangent as T


def _covariances(n=8, p=6, seed=0):
    rng = np.random.default_rng(seed)
    series = rng.standard_normal((n, 40, p))
    return np.stack([np.cov(s, rowvar=False) for s in series])


def _fitted(covs, **params):
    est = T.TangentSpace(input="covariance", **params)
    return est, est.fit_transform(covs)


@pytest.fixture
def empty_cache(monkeypatch):
    monkeypatch.setattr(T, "_FIT_CACHE", {})
    monkeypatch.setattr(T, "_SUBJECT_CACHE", {})
    monkeypatch.setattr(T, "_VECTOR_CACHE", {})
    monkeypatch.setattr(T, "_vector_cache_used", [0])
    return T._FIT_CACHE


def test_a_repeated_fit_is_a_hit_with_the_same_bytes(empty_cache, monkeypatch):
    covs = _covariances()
    first, out1 = _fitted(covs)
    assert len(empty_cache) == 1

    def refit(*args, **kwargs):
        raise AssertionError("the geometric mean was recomputed")

    monkeypatch.setattr(T, "geometric_mean", refit)
    second, out2 = _fitted(covs)
    assert out1.tobytes() == out2.tobytes()
    for name in ("fill_", "reference_", "whitening_"):
        a, b = getattr(first, name), getattr(second, name)
        assert a.tobytes() == b.tobytes()
        assert a is not b and b.flags.writeable  # the estimator's own copy
    test = _covariances(n=3, seed=1)
    assert first.transform(test).tobytes() == second.transform(test).tobytes()
    # fit() alone reads the same entry
    assert T.TangentSpace(input="covariance").fit(covs).reference_.tobytes() == (
        first.reference_.tobytes()
    )


def test_hits_equal_a_fresh_computation(empty_cache):
    covs = _covariances()
    _, cached = _fitted(covs)
    _, hit = _fitted(covs)
    empty_cache.clear()
    T._SUBJECT_CACHE.clear()
    _, fresh = _fitted(covs)
    assert hit.tobytes() == cached.tobytes() == fresh.tobytes()


def test_order_and_settings_are_part_of_the_key(empty_cache):
    covs = _covariances()
    _fitted(covs)
    _fitted(covs[::-1])  # same subjects, another order: another computation
    _fitted(covs, tol=1e-7)
    _fitted(covs, discard_diagonal=False)
    assert len(empty_cache) == 4


def test_mutating_the_estimator_leaves_the_cache_alone(empty_cache):
    covs = _covariances()
    est, out = _fitted(covs)
    est.reference_[:] = 0
    out[:] = 0
    again, out2 = _fitted(covs)
    assert np.abs(again.reference_).sum() > 0
    assert np.abs(out2).sum() > 0


def test_the_cache_stays_within_its_bytes(empty_cache, monkeypatch):
    covs = _covariances()
    _fitted(covs)
    (_, one), *_ = empty_cache.values()
    monkeypatch.setattr(T, "_FIT_CACHE_BYTES", int(2.5 * one))
    for seed in range(5):
        _fitted(_covariances(seed=seed + 10))
    assert len(empty_cache) == 2
    assert sum(n for _, n in empty_cache.values()) <= T._FIT_CACHE_BYTES
    monkeypatch.setattr(T, "_FIT_CACHE_BYTES", one // 2)  # larger than the bound: not kept
    empty_cache.clear()
    _fitted(covs)
    assert not empty_cache


def test_incomplete_matrices_are_cached_too(empty_cache):
    covs = _covariances()
    covs[2, 1, :] = covs[2, :, 1] = np.nan
    _, out1 = _fitted(covs)
    _, out2 = _fitted(covs)
    assert out1.tobytes() == out2.tobytes() and len(empty_cache) == 1


def test_shared_names_are_str_and_shared():
    names = SharedNames([np.str_("a__a"), "a__b", "b__b"])
    assert all(type(n) is str for n in names)
    assert copy.deepcopy(names) is names
    back = pickle.loads(pickle.dumps(names))
    assert type(back) is SharedNames and back == names
    assert tangent_layout(names) == tangent_layout(list(names))


def test_block_edges_are_one_shared_object():
    from psymodal.learn.cross_validation import _edges

    columns = ["mri__a__a", "mri__a__b", "mri__b__b"]
    first = _edges("mri", columns)
    assert isinstance(first, SharedNames) and first == ("a__a", "a__b", "b__b")
    assert _edges("mri", list(columns)) is first


def test_cached_vectors_equal_a_fresh_transform(empty_cache):
    covs = _covariances(n=12)
    est = T.TangentSpace(input="covariance").fit(covs[:8])
    test = covs[6:]
    test[3, 2, :] = test[3, :, 2] = np.nan  # completed from the training mean
    fresh = est.transform(test)
    assert len(T._VECTOR_CACHE) == len(test)
    order = np.array([3, 0, 5, 1])
    assert est.transform(test[order]).tobytes() == fresh[order].tobytes()  # all hits
    mixed = np.concatenate([covs[:2], test[[4]]])  # misses and a hit
    T._VECTOR_CACHE.clear()
    T._vector_cache_used[0] = 0
    expected = est.transform(mixed)
    T._VECTOR_CACHE.clear()
    T._vector_cache_used[0] = 0
    est.transform(test[[4]])
    assert est.transform(mixed).tobytes() == expected.tobytes()
    out = est.transform(test[order])
    out[:] = 0  # the caller's copy
    assert est.transform(test[order]).tobytes() == fresh[order].tobytes()


def test_vectors_follow_the_fitted_reference(empty_cache):
    covs = _covariances(n=10)
    est = T.TangentSpace(input="covariance").fit(covs[:6])
    before = est.transform(covs[6:])
    est.whitening_ = est.whitening_ * 2.0  # changed by hand: not the cached vectors
    assert est.transform(covs[6:]).tobytes() != before.tobytes()
    other = T.TangentSpace(input="covariance").fit(covs[1:7])
    assert other.transform(covs[7:]).tobytes() != before[1:].tobytes()


def test_the_vector_cache_stays_within_its_bytes(empty_cache, monkeypatch):
    covs = _covariances(n=14)
    est = T.TangentSpace(input="covariance").fit(covs[:6])
    row = est.transform(covs[:1])[0].nbytes
    monkeypatch.setattr(T, "_VECTOR_CACHE_BYTES", 3 * row)
    est.transform(covs[6:])
    assert len(T._VECTOR_CACHE) == 3 and T._vector_cache_used[0] == 3 * row


def test_clear_fit_caches_forces_a_refit(empty_cache):
    covs = _covariances()
    _fitted(covs)
    T.TangentSpace(input="covariance").fit(covs).transform(covs[:2])
    T.clear_fit_caches()
    assert not T._FIT_CACHE and not T._VECTOR_CACHE and T._vector_cache_used == [0]
