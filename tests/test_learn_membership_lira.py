"""The offline likelihood-ratio membership attack (LiRA) of psymodal.learn.privacy."""

import numpy as np
import pytest

from psymodal.learn.assemble import assemble
from psymodal.learn.cross_validation import evaluate
from psymodal.learn.privacy import lira_attack, reference_halves, true_label_logit
from psymodal.learn.simulate import simulate_study, write_study


def test_reference_halves_leave_every_subject_out_of_half_the_models():
    y = np.r_[np.zeros(7), np.ones(9)]
    masks = reference_halves(y, 6, seed=0)
    assert len(masks) == 6
    out = np.sum([~m for m in masks], axis=0)
    assert np.all(out == 3)
    for mask in masks:  # stratified: both classes in every half
        assert set(y[mask]) == {0.0, 1.0}


def test_lira_calibrates_each_subject_by_models_that_did_not_see_it():
    y = np.array([1, 1, 0, 0])
    # Hard and easy subjects: the loss alone ranks the easy non-member (0.9) above the hard
    # member (0.4), but each is typical of models that saw it, against those that did not.
    p_members = np.array([0.4, 0.97])  # hard member, easy member (class 1)
    p_nonmembers = np.array([0.1, 0.55])  # easy non-member, hard non-member (class 0)
    reference_members = np.array([[0.2, 0.25, np.nan], [0.9, np.nan, 0.92]])
    reference_nonmembers = np.array([[0.1, 0.12, np.nan], [0.5, np.nan, 0.52]])
    out = lira_attack(
        y[:2], p_members, reference_members, y[2:], p_nonmembers, reference_nonmembers
    )
    assert out == {"lira_auc": 1.0, "lira_advantage": 1.0}
    assert true_label_logit(np.array([1, 0]), np.array([0.5, 0.2])) == pytest.approx(
        [0.0, np.log(4)]
    )
    nothing = lira_attack(y[:2], p_members, np.full((2, 3), np.nan), y[2:], p_nonmembers,
                          np.full((2, 3), np.nan))  # fmt: skip
    assert np.isnan(nothing["lira_auc"])


def _audit(tmp_path, n_features, signal, c, reference_models=4):
    participants, features = simulate_study(
        60, n_features={"mri": n_features}, signal={"mri": signal}, seed=4
    )
    ptsv, tables = write_study(participants, features, tmp_path / f"s{n_features}_{c}")
    settings = {
        "confound_baseline": False,
        "cv": {"folds": 5, "repeats": 1, "nested": False},
        "logistic": {"C": c},
        "membership": {"reference_models": reference_models},
    }
    result = evaluate(assemble(ptsv, tables, None, {}), settings)
    return result.membership.set_index("modality").loc["mri"]


def test_lira_exposes_a_model_that_the_loss_threshold_underrates(tmp_path):
    # 30 features, some signal, little penalty: the model partly memorises its 48 training
    # subjects; calibrating each subject's difficulty finds them better than one threshold.
    partial = _audit(tmp_path, 30, 1.0, 1.0)
    assert partial["n_reference_models"] == 4
    assert partial["lira_auc_mean"] > partial["attack_auc_mean"] + 0.05
    assert partial["lira_auc_mean"] > 0.65
    general = _audit(tmp_path, 2, 1.5, 0.01)
    assert general["lira_auc_mean"] < partial["lira_auc_mean"] - 0.1
    off = _audit(tmp_path, 2, 1.5, 0.01, reference_models=0)
    assert off["n_reference_models"] == 0 and np.isnan(off["lira_auc_mean"])
