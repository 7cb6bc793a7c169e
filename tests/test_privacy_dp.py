"""Differentially private logistic regression (psymodal.privacy.dp)."""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from psymodal.privacy.dp import DPLogisticRegression, clip_rows


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    return X, np.where(X[:, 0] + 0.3 * rng.normal(size=n) > 0, "patient", "control")


def test_accuracy_grows_with_epsilon_and_the_guarantee_is_recorded():
    X, y = _data()
    accuracy = {}
    for epsilon in (0.01, 1000.0):
        model = DPLogisticRegression(epsilon=epsilon, random_state=0).fit(X, y)
        accuracy[epsilon] = np.mean(model.predict(X) == y)
        assert (model.epsilon_, model.delta_) == (epsilon, 0.0)
        assert model.data_norm_ == pytest.approx(np.sqrt(5))
    assert accuracy[1000.0] > 0.9 > accuracy[0.01] - 0.05
    same = DPLogisticRegression(epsilon=1.0, random_state=3)
    assert np.array_equal(
        same.fit(X, y).coef_, DPLogisticRegression(epsilon=1.0, random_state=3).fit(X, y).coef_
    )


def test_rows_are_clipped_to_the_norm():
    X = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    assert np.allclose(clip_rows(X, 1.0), [[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]])


@parametrize_with_checks(
    [DPLogisticRegression(epsilon=1e6, random_state=0)],
)
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_dp_logistic_is_a_learn_model_with_its_epsilon_in_run_info(tmp_path):
    import json

    from psymodal.io.tables import read_tsv
    from psymodal.learn import run
    from psymodal.learn.simulate import simulate_study, write_study

    participants, features = simulate_study(60, signal={"mri": 1.5, "speech": 1.0}, seed=2)
    ptsv, paths = write_study(participants, features, tmp_path / "in")
    settings = {
        "models": ["logistic", "dp_logistic"],
        "dp_logistic": {"epsilon": 3.0},
        "metrics": {"bootstrap": 0},
        "confound_baseline": False,
    }
    written = run(ptsv, paths, None, tmp_path / "out", settings)
    metrics = read_tsv(written["metrics"])
    assert "dp_logistic" in set(metrics["model"])
    attack = read_tsv(written["membership_inference"])
    assert "dp_logistic" in set(attack["model"])
    info = json.loads(written["run_info"].read_text())
    assert info["differential_privacy"] == {"dp_logistic": {"epsilon": 3.0, "delta": 0.0}}
