"""Membership-inference audit of the fitted models (psymodal.learn.privacy)."""

import numpy as np
import pytest

from psymodal.io.tables import read_tsv
from psymodal.learn.assemble import assemble
from psymodal.learn.cross_validation import evaluate
from psymodal.learn.pipeline import run
from psymodal.learn.privacy import COLUMNS, log_loss_per_subject, membership_attack
from psymodal.learn.simulate import simulate_study, write_study


def test_loss_and_attack_by_hand():
    loss = log_loss_per_subject(np.array([1, 0]), np.array([0.9, 0.9]))
    assert loss == pytest.approx([-np.log(0.9), -np.log(0.1)])
    # Members predicted confidently and correctly, non-members near chance: every member has
    # a lower loss than every non-member.
    out = membership_attack(
        np.array([1, 0, 1]), np.array([0.95, 0.05, 0.9]), np.array([1, 0]), np.array([0.6, 0.4])
    )
    assert out["attack_auc"] == 1.0 and out["advantage"] == 1.0
    assert out["n_members"] == 3 and out["n_nonmembers"] == 2
    # The same losses inside and outside the training set: no membership signal.
    same = membership_attack(
        np.array([1, 0]), np.array([0.7, 0.3]), np.array([0, 1]), np.array([0.3, 0.7])
    )
    assert same["attack_auc"] == 0.5 and same["advantage"] == 0.0
    # One member ranked below one non-member out of 2 x 2 pairs.
    mixed = membership_attack(
        np.array([1, 1]), np.array([0.9, 0.5]), np.array([1, 1]), np.array([0.6, 0.4])
    )
    assert mixed["attack_auc"] == 0.75


def _audit(tmp_path, name, n_features, signal, c):
    participants, features = simulate_study(
        40, n_features={"mri": n_features}, signal={"mri": signal}, seed=4
    )
    ptsv, tables = write_study(participants, features, tmp_path / name)
    data = assemble(ptsv, tables, None, {})
    settings = {
        "confound_baseline": False,
        "cv": {"folds": 5, "repeats": 1, "nested": False},
        "logistic": {"C": c},
    }
    return evaluate(data, settings).membership.set_index("modality").loc["mri"]


def test_memorising_model_is_exposed_and_regularised_model_is_not(tmp_path):
    # 200 noise features for 32 training subjects, almost no penalty: the training subjects are
    # fitted perfectly and told apart from the held-out ones by their loss.
    memorised = _audit(tmp_path, "wide", 200, 0.0, 100.0)
    # Two informative features, strong penalty: members and non-members look alike.
    general = _audit(tmp_path, "narrow", 2, 1.5, 0.01)
    assert memorised["attack_auc_mean"] > 0.9
    assert memorised["train_auc_mean"] > 0.99 and memorised["test_auc_mean"] < 0.8
    assert general["attack_auc_mean"] < 0.65
    assert memorised["advantage_mean"] > general["advantage_mean"]
    assert memorised["n_folds"] == 5


def test_learn_run_writes_the_audit_reproducibly(tmp_path):
    participants, features = simulate_study(40, signal={"mri": 1.0, "speech": 1.0}, seed=2)
    ptsv, tables = write_study(participants, features, tmp_path / "study")
    settings = {"confound_baseline": False, "cv": {"repeats": 1}, "fusion": ["late"]}
    first = run(ptsv, tables, None, tmp_path / "a", settings)
    second = run(ptsv, tables, None, tmp_path / "b", settings)
    table = read_tsv(first["membership_inference"])
    assert list(table.columns) == COLUMNS
    # One row per fitted analysis; late fusion fits no model of its own.
    assert list(table.modality) == ["mri", "speech"]
    assert table["attack_auc_mean"].between(0, 1).all()
    assert first["membership_inference"].read_bytes() == second["membership_inference"].read_bytes()
