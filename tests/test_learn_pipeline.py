"""End-to-end tests of the learning stage on simulated studies (phase 1 contract)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psymodal.io.tables import read_tsv
from psymodal.learn import assemble, evaluate, run
from psymodal.learn.simulate import simulate_study, write_study

FAST = {"metrics": {"bootstrap": 0}}


def _metric(result, modality, name="roc_auc", model="logistic"):
    row = result.metrics.query("modality == @modality and model == @model")
    assert len(row) == 1, result.metrics
    return float(row[name].iloc[0])


def test_signal_modality_is_detected():
    participants, features = simulate_study(100, signal={"mri": 1.2}, seed=1)
    result = evaluate(assemble(participants, features, None, {}), FAST)
    assert _metric(result, "mri") > 0.8
    assert _metric(result, "late_fusion") > 0.75
    assert _metric(result, "mri", "balanced_accuracy") > 0.7
    # The speech block and the confounds carry no signal.
    assert abs(_metric(result, "speech") - 0.5) < 0.25
    assert abs(_metric(result, "confounds") - 0.5) < 0.25


def test_shuffled_labels_are_near_chance():
    aucs = []
    for seed in range(4):
        participants, features = simulate_study(80, signal={"mri": 1.2}, seed=seed)
        participants["diagnosis"] = np.random.default_rng(seed).permutation(
            participants["diagnosis"].to_numpy()
        )
        result = evaluate(assemble(participants, features, None, {}), FAST)
        aucs.append(_metric(result, "mri"))
    assert abs(np.mean(aucs) - 0.5) < 0.15, aucs


def test_missing_modality_subjects_get_fused_predictions():
    participants, features = simulate_study(
        80, signal={"mri": 1.0, "speech": 1.0}, missing={"speech": 0.3, "mri": 0.2}, seed=2
    )
    data = assemble(participants, features, None, {})
    result = evaluate(data, FAST)
    pred = result.predictions
    only_one = data.available.sum(axis=1) == 1
    assert only_one.any()
    fused = pred[pred.modality == "late_fusion"]
    assert set(fused.participant_id) == set(data.ids)
    speech = pred[pred.modality == "speech"]
    assert set(speech.participant_id) == set(data.ids[data.available["speech"].to_numpy()])
    # A subject with one modality gets exactly that modality's probability.
    pid = data.ids[(data.available["mri"] & ~data.available["speech"]).to_numpy()][0]
    a = fused.set_index("participant_id").loc[pid, "probability"]
    b = pred[pred.modality == "mri"].set_index("participant_id").loc[pid, "probability"]
    assert a == pytest.approx(b)


def test_run_is_byte_identical(tmp_path):
    participants, features = simulate_study(60, signal={"mri": 1.0}, missing={"speech": 0.2})
    participants.loc[3, "diagnosis"] = None
    ptsv, paths = write_study(participants, features, tmp_path / "in")
    settings = {"cv": {"repeats": 2}, "metrics": {"bootstrap": 20}}
    first = run(ptsv, paths, None, tmp_path / "a", settings)
    second = run(ptsv, paths, None, tmp_path / "b", settings)
    assert set(first) >= {"metrics", "predictions", "exclusions"}
    for key in first:
        assert first[key].read_bytes() == second[key].read_bytes(), key
    metrics = read_tsv(first["metrics"])
    assert {"model", "modality", "n_subjects", "roc_auc", "balanced_accuracy"} <= set(
        metrics.columns
    )
    predictions = read_tsv(first["predictions"])
    assert list(predictions.columns) == [
        "participant_id",
        "fold",
        "repeat",
        "modality",
        "model",
        "y_true",
        "probability",
    ]
    exclusions = read_tsv(first["exclusions"])
    assert exclusions.participant_id.tolist() == [participants.participant_id[3]]
    assert "label" in exclusions.reason[0]


def test_qc_and_all_missing_rows_mark_modality_unavailable():
    participants, features = simulate_study(40, seed=3)
    mri = features["mri"].copy()
    mri.iloc[0, 1:] = np.nan  # all-missing row
    ids = participants.participant_id
    qc = pd.DataFrame(
        {"participant_id": ids, "modality": "mri", "included": ["False"] + ["True"] * 39}
    )
    qc.loc[1, "included"] = "False"
    data = assemble(participants, {"mri": mri, "speech": features["speech"]}, {"mri": qc}, {})
    assert not data.available.loc[ids[0], "mri"]
    assert not data.available.loc[ids[1], "mri"]
    assert data.X.loc[ids[1], data.blocks["mri"]].isna().all()
    assert data.available["speech"].all()
    assert len(data.y) == 40


def test_subject_without_any_modality_is_excluded():
    participants, features = simulate_study(40, seed=4)
    gone = participants.participant_id[5]
    features = {m: t[t.participant_id != gone] for m, t in features.items()}
    data = assemble(participants, features, None, {})
    assert gone not in data.ids
    assert data.exclusions.set_index("participant_id").loc[gone, "reason"] == (
        "no modality available"
    )


def test_all_missing_feature_is_dropped_and_recorded():
    participants, features = simulate_study(40, seed=5)
    features["mri"]["empty"] = np.nan
    data = assemble(participants, features, None, {})
    assert "mri__empty" not in data.X.columns
    assert any("missing for all subjects" in n for n in data.notes)


def test_bad_inputs():
    participants, features = simulate_study(40, seed=6)
    with pytest.raises(ValueError, match="participant_id"):
        assemble(participants.drop(columns="participant_id"), features, None, {})
    with pytest.raises(ValueError, match="participant_id"):
        bad = {"mri": features["mri"].rename(columns={"participant_id": "id"})}
        assemble(participants, bad, None, {})
    one_class = participants.assign(diagnosis="control")
    with pytest.raises(ValueError, match="one class"):
        assemble(one_class, features, None, {})
    with pytest.raises(ValueError, match="label column"):
        assemble(participants, features, None, {"label_column": "dx"})
    with pytest.raises(ValueError, match="non-numeric"):
        assemble(participants, {"mri": features["mri"].assign(x="a")}, None, {})
    dup = pd.concat([participants, participants.iloc[:1]])
    with pytest.raises(ValueError, match="more than once"):
        assemble(dup, features, None, {})


def test_small_class_reduces_folds_or_errors():
    participants, features = simulate_study(30, seed=7)
    patients = participants.index[participants.diagnosis == "patient"]
    participants.loc[patients[3:], "diagnosis"] = "control"  # 3 patients left
    data = assemble(participants, features, None, {})
    result = evaluate(data, FAST)
    assert result.n_folds == 3
    assert any("fewer than the 5 folds" in n for n in result.notes)
    with pytest.raises(ValueError, match="fewer than the 5 folds"):
        evaluate(data, {**FAST, "cv": {"small_class": "error"}})
    participants.loc[patients[1:], "diagnosis"] = "control"  # 1 patient: cannot split
    with pytest.raises(ValueError, match="cannot cross-validate"):
        evaluate(assemble(participants, features, None, {}), FAST)
