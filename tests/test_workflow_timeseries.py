"""The workflow on ready ROI time series (no images): run, then audit a rerun of the whole
workflow and of one subject.

The whole-workflow rerun of ``psymodal audit --rerun`` runs for real here, on the cheapest
study (the small demo's reproduction is checked per subject and per stage in
``tests/test_audit.py`` and ``tests/test_audit_integrity.py``).

The scenario is ``.test/config-timeseries.yaml``; its study is written into the working folder.
"""

from __future__ import annotations

import pytest

from _helpers import run_snakemake, scenario_config, write_config, write_timeseries_study
from psymodal.io.tables import read_tsv
from psymodal.provenance import manifest as prov
from psymodal.provenance import sampling
from psymodal.provenance.audit import PASS, audit


@pytest.mark.slow
def test_timeseries_study_runs_and_its_reruns_audit_clean(tmp_path):
    workdir = write_config(tmp_path / "work", scenario_config("timeseries"))
    write_timeseries_study(workdir / "resources" / "timeseries")
    result = run_snakemake(workdir)
    assert result.returncode == 0, result.stderr[-5000:]
    results = workdir / "results"
    label = (results / "LATEST").read_text().strip()
    metrics = read_tsv(results / "runs" / label / "learn" / "metrics.tsv")
    assert "mri" in set(metrics["modality"])
    # no atlas and no image QC gallery for ready time series
    assert not list(results.glob("mri-*/atlas"))
    assert not (results / "runs" / label / "figures" / "mri_qc_gallery.html").exists()

    # the run ends by printing the digest of the manifest it wrote
    manifest_file, _ = prov.find_manifest(results)
    digest = prov.digest_path(manifest_file).read_text().strip()
    assert digest == prov.run_digest(prov.read_manifest(manifest_file))
    assert f"run digest: {digest}" in result.stdout + result.stderr

    # the whole workflow again from the recorded config, one core: every file the same bytes
    (tmp_path / "whole").mkdir()
    report = audit(results, rerun=True, cores=1, tmp_root=tmp_path / "whole")
    assert report.check("rerun").status == PASS, "\n".join(report.lines())
    assert report.passed and report.rerun_dir is None
    assert not any((tmp_path / "whole").iterdir()), "a passing rerun cleans up its folder"

    (tmp_path / "audit").mkdir()
    report = audit(results, rerun=True, subjects=1, tmp_root=tmp_path / "audit", seed=0)
    rerun = report.check("rerun")
    assert rerun.status == PASS, "\n".join(report.lines())
    # the subject is drawn at random from the auditor's seed (not the first one)
    participants = read_tsv(results / "participants.tsv")["participant_id"].tolist()
    (subject,) = sampling.draw_subjects(sorted(participants), 1, seed=0)
    assert subject in rerun.details["note"][0]
