"""End to end: the Snakemake workflow on the small demo study, in a temporary folder."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from psymodal.io.tables import read_tsv

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]

pytestmark = pytest.mark.slow


def small_demo_config(**demo):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["dataset"]["demo"].update({"small": True, **demo})
    config["batch_size"] = 4
    return config


def run_snakemake(workdir: Path, *args: str, cores: int = 2) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SNAKEMAKE, "--directory", str(workdir), "--cores", str(cores), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def assert_succeeded(result: subprocess.CompletedProcess, workdir: Path) -> None:
    """Fail with Snakemake's error and the tails of every job log, to debug CI from its output."""
    if result.returncode == 0:
        return
    logs = "\n".join(
        f"--- {p.relative_to(workdir)}\n{p.read_text()[-2000:]}"
        for p in sorted((workdir / "results").glob("**/logs/*.log"))
    )
    pytest.fail(f"snakemake failed:\n{result.stderr[-5000:]}\n{logs}")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("e2e")
    (workdir / "config").mkdir()
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(small_demo_config()))
    assert_succeeded(run_snakemake(workdir), workdir)
    return workdir


def run_dir(workdir: Path) -> Path:
    label = (workdir / "results" / "LATEST").read_text().strip()
    return workdir / "results" / "runs" / label


def stage_dir(workdir: Path, modality: str) -> Path:
    (folder,) = (workdir / "results").glob(f"{modality}-*")
    return folder


def test_workflow_writes_metrics_per_modality_and_fused(demo_run):
    metrics = read_tsv(run_dir(demo_run) / "learn" / "metrics.tsv")
    assert {"mri", "speech", "late_fusion", "confounds"} <= set(metrics["modality"])
    assert metrics["roc_auc"].between(0, 1).all()
    predictions = read_tsv(run_dir(demo_run) / "learn" / "predictions.tsv")
    participants = read_tsv(demo_run / "resources" / "demo" / "participants.tsv")
    fused = predictions[predictions["modality"] == "late_fusion"]
    # every labelled participant gets a fused prediction, even without one modality
    assert set(fused["participant_id"]) == set(participants["participant_id"])


def test_every_participant_has_a_qc_row_with_reason(demo_run):
    participants = read_tsv(demo_run / "resources" / "demo" / "participants.tsv")
    for modality in ("mri", "speech"):
        qc = read_tsv(stage_dir(demo_run, modality) / "group" / f"{modality}_qc.tsv")
        assert list(qc["participant_id"]) == sorted(participants["participant_id"])
        excluded = qc[~qc["included"].astype(bool)]
        assert len(excluded) >= 1, f"the demo has a participant without {modality}"
        assert excluded["reason"].notna().all()


def test_feature_tables_have_the_same_columns_for_everyone(demo_run):
    features = read_tsv(stage_dir(demo_run, "mri") / "group" / "mri_features.tsv")
    assert features.shape[1] == 1 + 160 * 159 // 2
    assert all("__" in c for c in features.columns[1:])


def test_outputs_are_a_bids_derivatives_dataset(demo_run):
    for folder in (run_dir(demo_run), stage_dir(demo_run, "mri"), stage_dir(demo_run, "speech")):
        description = yaml.safe_load((folder / "dataset_description.json").read_text())
        assert description["DatasetType"] == "derivative"
        assert description["GeneratedBy"][0]["Name"] == "psymodal"


def test_second_run_does_no_work(demo_run):
    result = run_snakemake(demo_run, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Nothing to be done" in result.stdout + result.stderr


def test_rerun_from_scratch_is_byte_identical(demo_run, tmp_path):
    shutil.copytree(demo_run / "config", tmp_path / "config")
    shutil.copytree(demo_run / "resources", tmp_path / "resources")
    result = run_snakemake(tmp_path, cores=1)
    assert result.returncode == 0, result.stderr[-3000:]
    assert run_dir(tmp_path).name == run_dir(demo_run).name
    pairs = [
        (run_dir(tmp_path), run_dir(demo_run), f"learn/{n}.tsv") for n in ("metrics", "predictions")
    ]
    pairs += [
        (stage_dir(tmp_path, m), stage_dir(demo_run, m), f"group/{m}_{kind}.tsv")
        for m in ("mri", "speech")
        for kind in ("features", "qc")
    ]
    for new, old, name in pairs:
        assert (new / name).read_bytes() == (old / name).read_bytes(), name


def test_another_config_makes_a_new_run_and_keeps_the_old(demo_run, tmp_path):
    shutil.copytree(demo_run, tmp_path / "w", symlinks=True)
    workdir = tmp_path / "w"
    first = run_dir(workdir)
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    config["learn"]["cv"]["seed"] = 1
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


def test_report_for_a_clinician_scientist(demo_run):
    result = run_snakemake(demo_run, "--report", "report.html")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = (demo_run / "report.html").read_text(errors="replace")
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
