"""Speech-feature linkage: named recordings linked to the rows of a released table."""

import numpy as np
import pytest

from psymodal.privacy.attacks import linkage_rate


def _recordings(rng, voice, noise):
    return voice + noise * rng.normal(size=voice.shape)


def test_individual_voices_are_linked_and_noise_is_not():
    rng = np.random.default_rng(0)
    voice = rng.normal(size=(20, 30)) * rng.uniform(1, 100, size=30)  # features of any scale
    people = np.arange(20)
    released = _recordings(rng, voice, 5.0)
    released[rng.random(released.shape) < 0.05] = np.nan  # features missing here and there
    released[:, 3] = np.nan  # a feature nobody has
    released[:, 4] = 7.0  # a constant one
    known = _recordings(rng, voice, 5.0)
    linked = linkage_rate(released, people, known, people)
    assert linked["top1"] > 0.9 and linked["chance"] == pytest.approx(0.05)
    assert linked["n_features"] == 28
    unrelated = linkage_rate(released, people, rng.normal(size=voice.shape), people)
    assert unrelated["top1"] < 0.3


def test_several_released_rows_per_person_raise_chance():
    rng = np.random.default_rng(1)
    voice = rng.normal(size=(4, 10))
    released = np.repeat(voice, 3, axis=0) + 0.1 * rng.normal(size=(12, 10))
    linked = linkage_rate(released, np.repeat(np.arange(4), 3), voice, np.arange(4))
    assert linked == {"top1": 1.0, "chance": 0.25, "n_features": 10}
    with pytest.raises(ValueError, match="same features"):
        linkage_rate(released, np.arange(12), voice[:, :5], np.arange(4))
    with pytest.raises(ValueError, match="vary"):
        linkage_rate(np.ones((4, 3)), np.arange(4), voice[:, :3], np.arange(4))
