"""Applying a saved model to another study: `psymodal predict` on named tables and the
workflow's `predict` target (config `predict: {model: PATH}`)."""

from __future__ import annotations

import shlex

import pytest

from _helpers import run_snakemake, scenario_config, write_config
from psymodal.cli import main
from psymodal.io.tables import read_tsv
from psymodal.learn import run
from psymodal.learn.paths import predict_dir
from psymodal.learn.simulate import simulate_study, write_study
from psymodal.workflow.commands import predict_command

pytestmark = pytest.mark.usefixtures("one_thread")


def test_predict_on_named_tables_records_unseen_sites_and_unused_tables(tmp_path):
    participants, features = simulate_study(
        60, n_features={"mri": 8}, signal={"mri": 1.2}, n_sites=3, seed=8
    )
    new = (participants.site == "site2").to_numpy()
    train_ptsv, train_paths = write_study(
        participants[~new], {"mri": features["mri"][~new]}, tmp_path / "train"
    )
    settings = {"save_model": True, "cv": {"folds": 3}, "metrics": {"bootstrap": 20}}
    run(train_ptsv, train_paths, None, tmp_path / "learn", settings)
    ptsv, paths = write_study(
        participants[new].drop(columns="diagnosis"),  # labels unknown in the new study
        {"mri": features["mri"][new], "speech": features["mri"][new]},
        tmp_path / "new",
    )
    args = [str(tmp_path / "learn"), "--participants", str(ptsv)]
    args += ["--features", *(f"{m}={p}" for m, p in paths.items())]
    assert main(["predict", *args, "--out-dir", str(tmp_path / "out")]) == 0
    predictions = read_tsv(tmp_path / "out" / "predictions.tsv")
    assert set(predictions.modality) == {"mri", "confounds"}
    assert len(predictions) == 2 * new.sum() and predictions.y_true.isna().all()
    assert read_tsv(tmp_path / "out" / "metrics.tsv").empty  # no labels: no metrics
    notes = (tmp_path / "out" / "notes.txt").read_text()
    assert "sites unseen in training: ['site2']" in notes
    assert "speech: not a modality of the model" in notes
    with pytest.raises(SystemExit, match="STUDY folder or --participants"):
        main(["predict", str(tmp_path / "learn"), "--out-dir", str(tmp_path / "x")])


def test_workflow_predict_target_calls_psymodal_predict(tmp_path):
    model = tmp_path / "trained" / "learn"
    model.mkdir(parents=True)
    for name in ("model.joblib", "model.json"):
        (model / name).write_text("")  # a dry run only plans the job
    config = scenario_config("small-demo")
    config["predict"] = {"model": str(model)}
    workdir = write_config(tmp_path / "work", config)
    result = run_snakemake(workdir, "-n", "-p", "predict")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rule predict:" in result.stdout
    assert f"predict {shlex.quote(str(model))} --participants" in result.stdout
    # left out of the run's key: the same run folder as without predict
    assert "predict/model-" in result.stdout and "results/runs/run-" in result.stdout
    command = predict_command(config, "p.tsv", {"mri": "f.tsv"}, {"mri": "q.tsv"}, "out")
    assert command == [
        "predict", str(model), "--participants", "p.tsv",
        "--features", "mri=f.tsv", "--qc", "mri=q.tsv", "--out-dir", "out",
    ]  # fmt: skip
    assert predict_dir("run", model).name.startswith("model-")
