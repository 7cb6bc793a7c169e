"""Attacks on released features (psymodal.privacy.attacks)."""

import numpy as np
import pytest

from psymodal.privacy.attacks import attribute_inference, identification_rate, similarity


def test_fingerprinting_finds_people_whose_features_are_individual():
    rng = np.random.default_rng(0)
    person = rng.normal(size=(30, 200))
    first = person + 0.5 * rng.normal(size=person.shape)
    second = person + 0.5 * rng.normal(size=person.shape)
    assert identification_rate(first, second) == 1.0
    noise = rng.normal(size=person.shape)
    assert identification_rate(first, noise) < 0.2
    # ties (constant features) never count as identified beyond the first row
    assert identification_rate(np.ones((5, 4)), np.ones((5, 4))) == 0.2
    assert similarity(first, second).shape == (30, 30)
    with pytest.raises(ValueError, match="finite"):
        identification_rate(first, np.where(second > 2, np.nan, second))


def test_attribute_inference_detects_a_leaked_attribute_and_not_noise():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 20))
    sex = np.where(X[:, 0] + 0.3 * rng.normal(size=80) > 0, "F", "M")
    assert attribute_inference(X, sex)["auc"] > 0.9
    assert attribute_inference(rng.normal(size=(80, 20)), sex)["auc"] < 0.75
    age = 40 + 10 * X[:, 1] + rng.normal(size=80)
    leaked = attribute_inference(X, age, kind="continuous")
    assert leaked["mae_ratio"] < 0.3 and leaked["baseline_mae"] > 5
    with pytest.raises(ValueError, match="two values"):
        attribute_inference(X, np.arange(80) % 3)
