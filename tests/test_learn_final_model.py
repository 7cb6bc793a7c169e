"""learn.save_model and psymodal predict: a model trained on two sites applied to a third."""

from __future__ import annotations

import json

import numpy as np
import pytest

from psymodal.cli import main
from psymodal.io.tables import read_tsv, write_tsv
from psymodal.learn import run
from psymodal.learn.final_model import load_model
from psymodal.learn.simulate import simulate_study, write_study

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Train on sites 0 and 1 of a three-site study; site 2 is the new study."""
    tmp = tmp_path_factory.mktemp("final")
    participants, features = simulate_study(
        90, n_features={"mri": 12}, signal={"mri": 1.0}, n_sites=3, seed=21
    )
    new = participants.site == participants.site.unique()[-1]
    site_2 = participants.site[new].iloc[0]
    train_ptsv, train_paths = write_study(
        participants[~new], {"mri": features["mri"][~new.to_numpy()]}, tmp / "train"
    )
    study = tmp / "new"
    write_study(participants[new], {"mri": features["mri"][new.to_numpy()]}, study)
    settings = {
        "save_model": True,
        "metrics": {"bootstrap": 200},
        "cv": {"folds": 4, "nested": True},
    }
    written = run(train_ptsv, train_paths, None, tmp / "learn", settings)
    return tmp, written, study, site_2, features["mri"][new.to_numpy()]


def test_model_is_saved_with_checksum_and_card(trained):
    tmp, written, *_ = trained
    info = json.loads(written["model_info"].read_text())
    assert info["columns"][-12:] == [f"mri__f{j:04d}" for j in range(12)]
    assert len(info["sha256"]) == 64 and info["versions"]["scikit-learn"]
    assert {tuple(a) for a in info["analyses"]} == {("logistic", "mri"), ("logistic", "confounds")}
    assert {c["modality"] for c in info["chosen_hyperparameters"]} == {"mri", "confounds"}
    card = written["model_card"].read_text()
    assert "Intended use" in card and info["sha256"] in card
    assert set(load_model(tmp / "learn")["estimators"]) == {
        ("logistic", "mri"),
        ("logistic", "confounds"),
    }


def test_predict_on_an_unseen_site_matches_cross_validation(trained, capsys):
    tmp, written, study, site_2, _ = trained
    assert main(["predict", str(tmp / "learn"), str(study), "--out-dir", str(tmp / "pred")]) == 0
    metrics = read_tsv(tmp / "pred" / "metrics.tsv").set_index("modality")
    cv = read_tsv(written["metrics"]).set_index("modality").loc["mri"]
    external = metrics.loc["mri", "roc_auc"]
    assert cv.roc_auc_ci_low <= external <= cv.roc_auc_ci_high, (external, cv.roc_auc)
    assert external > 0.7
    notes = (tmp / "pred" / "notes.txt").read_text()
    assert "unseen in training" in notes and site_2 in notes
    predictions = read_tsv(tmp / "pred" / "predictions.tsv")
    assert predictions.probability.between(0, 1).all()


def test_predict_refuses_other_features_and_a_changed_model(trained, tmp_path, capsys):
    tmp, written, study, _, new_features = trained
    other = tmp_path / "other"
    write_tsv(read_tsv(study / "participants.tsv"), other / "participants.tsv")
    renamed = new_features.rename(columns={"f0003": "other_atlas_region"})
    write_tsv(renamed, other / "mri_features.tsv")
    assert main(["predict", str(tmp / "learn"), str(other), "--out-dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "does not match the model" in err and "f0003" in err and "other_atlas_region" in err
    changed = tmp_path / "changed"
    changed.mkdir()
    for key in ("model", "model_info"):
        (changed / written[key].name).write_bytes(written[key].read_bytes())
    with open(changed / written["model"].name, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ValueError, match="SHA-256"):
        load_model(changed)
    assert np.isfinite(read_tsv(written["metrics"]).roc_auc).all()
