"""End to end: the Snakemake workflow on the small demo study, in a temporary folder.

The run itself is the session's ``small_demo`` fixture (conftest.py), shared with the other
slow tests; tests that change a run work on a copy.
"""

import shutil

import pytest
import yaml

from _helpers import run_dir, run_snakemake, stage_dir
from psymodal.io.tables import read_tsv

pytestmark = pytest.mark.slow


def test_workflow_writes_metrics_per_modality_and_fused(small_demo):
    metrics = read_tsv(run_dir(small_demo) / "learn" / "metrics.tsv")
    assert {"mri", "speech", "late_fusion", "confounds"} <= set(metrics["modality"])
    assert metrics["roc_auc"].between(0, 1).all()
    predictions = read_tsv(run_dir(small_demo) / "learn" / "predictions.tsv")
    participants = read_tsv(small_demo / "resources" / "demo" / "participants.tsv")
    fused = predictions[predictions["modality"] == "late_fusion"]
    # every labelled participant gets a fused prediction, even without one modality
    assert set(fused["participant_id"]) == set(participants["participant_id"])


def test_every_participant_has_a_qc_row_with_reason(small_demo):
    participants = read_tsv(small_demo / "resources" / "demo" / "participants.tsv")
    for modality in ("mri", "speech"):
        qc = read_tsv(stage_dir(small_demo, modality) / "group" / f"{modality}_qc.tsv")
        assert list(qc["participant_id"]) == sorted(participants["participant_id"])
        excluded = qc[~qc["included"].astype(bool)]
        assert len(excluded) >= 1, f"the demo has a participant without {modality}"
        assert excluded["reason"].notna().all()


def test_feature_tables_have_the_same_columns_for_everyone(small_demo):
    features = read_tsv(stage_dir(small_demo, "mri") / "group" / "mri_features.tsv")
    # mri.connectivity: tangent (the default): each covariance's 160 * 159 / 2 edges, then
    # its diagonal, projected to tangent space in the learning stage
    assert features.shape[1] == 1 + 160 * 161 // 2
    assert all("__" in c for c in features.columns[1:])


def test_outputs_are_a_bids_derivatives_dataset(small_demo):
    for folder in (
        run_dir(small_demo),
        stage_dir(small_demo, "mri"),
        stage_dir(small_demo, "speech"),
    ):
        description = yaml.safe_load((folder / "dataset_description.json").read_text())
        assert description["DatasetType"] == "derivative"
        assert description["GeneratedBy"][0]["Name"] == "psymodal"


def test_second_run_does_no_work(small_demo):
    result = run_snakemake(small_demo, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Nothing to be done" in result.stdout + result.stderr


def test_another_config_makes_a_new_run_and_keeps_the_old(small_demo, tmp_path):
    shutil.copytree(small_demo, tmp_path / "w", symlinks=True)
    workdir = tmp_path / "w"
    first = run_dir(workdir)
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    config["learn"]["cv"]["seed"] = 1
    # only the run's existence matters here: skip the label permutations, the added-value
    # comparisons and the explanations
    config["learn"]["permutation"] = {"n": 0}
    config["learn"]["added_value"] = False
    config["learn"]["explain"] = {"enabled": False}
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    second = run_dir(workdir)
    assert second != first and (first / "learn" / "metrics.tsv").exists()
    # the per-subject stages are shared, not recomputed
    assert "mri_batch" not in result.stdout + result.stderr
    # reusing a label for another config is refused
    config["run_label"] = first.name
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(workdir, "--dry-run")
    assert result.returncode != 0 and "another config" in result.stdout + result.stderr


def test_report_for_a_clinician_scientist(small_demo_report):
    html = small_demo_report.read_text(errors="replace")
    pieces = ("roc_curves.png", "metrics_table.html", "qc_summary.png", "manifest.json")
    for piece in (
        *pieces,
        "permutation_null.png",
        "connectome_top_edges.png",
        "region_importance.png",
        "mri_qc_gallery.html",
        "speech_qc_gallery.html",
    ):
        assert piece in html, piece
