"""psymodal predict on a study without one of the model's feature tables: a clear error that
names the table and what to do, not a KeyError."""

from __future__ import annotations

import pytest

from psymodal.cli import main
from psymodal.io.tables import read_tsv
from psymodal.learn import run
from psymodal.learn.final_model import load_model, predict_study
from psymodal.learn.simulate import simulate_study, write_study

pytestmark = pytest.mark.usefixtures("one_thread")


def test_a_study_without_one_modality_is_refused_by_name(tmp_path, capsys):
    participants, features = simulate_study(
        40, n_features={"mri": 6, "speech": 4}, signal={"mri": 1.0, "speech": 1.0}, seed=3
    )
    ptsv, paths = write_study(participants, features, tmp_path / "train")
    settings = {"save_model": True, "metrics": {"bootstrap": 0}, "cv": {"folds": 3}}
    run(ptsv, paths, None, tmp_path / "learn", settings)
    study = tmp_path / "new"
    write_study(participants, {"mri": features["mri"]}, study)  # no speech table

    with pytest.raises(ValueError, match=r"no feature table for \['speech'\]") as error:
        predict_study(
            load_model(tmp_path / "learn"), read_tsv(ptsv), {"mri": read_tsv(paths["mri"])}
        )
    assert "speech_features.tsv" in str(error.value)
    assert "as in training" in str(error.value)

    out = tmp_path / "pred"
    assert main(["predict", str(tmp_path / "learn"), str(study), "--out-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "speech_features.tsv" in err and "KeyError" not in err
    assert not (out / "predictions.tsv").exists()
