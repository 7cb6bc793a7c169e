"""The workflow on ready ROI time series (no images): run, then audit a per-subject rerun."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from psymodal.io.tables import read_tsv, write_tsv
from psymodal.provenance.audit import PASS, audit

REPO = Path(__file__).resolve().parents[1]
REGIONS = [f"R{k}" for k in range(1, 7)]


def write_study(root: Path, n: int = 12, seed: int = 0) -> None:
    """participants.tsv and one region time series per subject; patients couple R1 and R2."""
    rng = np.random.default_rng(seed)
    ids = [f"sub-{k:02d}" for k in range(1, n + 1)]
    patient = np.arange(n) % 2 == 1
    write_tsv(
        pd.DataFrame(
            {
                "participant_id": ids,
                "diagnosis": np.where(patient, "patient", "control"),
                "age": np.round(rng.normal(30, 6, n), 1),
                "sex": np.where(np.arange(n) % 3 == 0, "F", "M"),
                "site": np.where(np.arange(n) < n // 2, "a", "b"),
            }
        ),
        root / "participants.tsv",
    )
    for pid, sick in zip(ids, patient, strict=True):
        x = rng.standard_normal((150, len(REGIONS)))
        if sick:
            x[:, 1] += 0.9 * x[:, 0]
        write_tsv(pd.DataFrame(x, columns=REGIONS), root / "ts" / f"{pid}.tsv")


def config(root: Path) -> dict:
    return {
        "dataset": {
            "source": "timeseries",
            "bids_dir": str(root),
            "participants": str(root / "participants.tsv"),
            "timeseries_dir": str(root / "ts"),
            "timeseries_pattern": "{participant_id}.tsv",
        },
        "results_dir": "results",
        "batch_size": 6,
        "mri": {
            "enabled": True,
            "input": "timeseries",
            "timeseries": {"format": "tsv", "tr": 2.0},
            "connectivity": "correlation",
        },
        "speech": {"enabled": False},
        "learn": {
            "label_column": "diagnosis",
            "positive_label": "patient",
            "confounds": ["age", "sex", "site"],
            "cv": {"strategy": "stratified", "folds": 3, "repeats": 1, "seed": 0},
            "models": ["logistic"],
            "fusion": ["late"],
            "permutation": {"n": 0},
            "metrics": {"bootstrap": 0},
            "explain": {"enabled": False},
        },
    }


@pytest.mark.slow
def test_timeseries_study_runs_and_a_subject_rerun_audits_clean(tmp_path):
    write_study(tmp_path / "study")
    workdir = tmp_path / "work"
    (workdir / "config").mkdir(parents=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config(tmp_path / "study")))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
    result = subprocess.run(
        [*command, "--directory", str(workdir), "--cores", "2"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-5000:]
    results = workdir / "results"
    label = (results / "LATEST").read_text().strip()
    metrics = read_tsv(results / "runs" / label / "learn" / "metrics.tsv")
    assert "mri" in set(metrics["modality"])
    # no atlas and no image QC gallery for ready time series
    assert not list(results.glob("mri-*/atlas"))
    assert not (results / "runs" / label / "figures" / "mri_qc_gallery.html").exists()

    (tmp_path / "audit").mkdir()
    report = audit(results, rerun=True, subjects=1, tmp_root=tmp_path / "audit")
    rerun = report.check("rerun")
    assert rerun.status == PASS, "\n".join(report.lines())
    assert "sub-01" in rerun.details["note"][0]
