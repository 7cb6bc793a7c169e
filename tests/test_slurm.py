"""The workflow on a real SLURM scheduler: the small demo through ``--executor slurm``.

The small demo goes through SLURM with the repository's ``profiles/slurm`` (conftest's
``slurm_demo``) and its files must be the same bytes as a local run's. In CI
(``PSYMODAL_SLURM_TEST=1``) the SLURM run is the session's ``small_demo``: the per-subject
stages of a sampled subject are re-run locally with one core (``audit --rerun --subjects``)
and compared with it file by file, as ``tests/test_audit.py`` (a subject of another batch) and
``tests/test_audit_integrity.py`` (the learning stage, re-learned) do on the same run.
Elsewhere the SLURM run is a twin of the local ``small_demo``, and their feature tables,
predictions and metrics are compared. Skipped unless SLURM answers (``sinfo``) and
snakemake-executor-plugin-slurm is installed; with ``PSYMODAL_SLURM_TEST=1`` a missing SLURM is
a failure instead. ``.ci/slurm/with_slurm.sh make test`` (what ``.ci/run`` does) starts a
single-node SLURM and runs the whole suite with this file in it.

``PSYMODAL_SLURM_ARGS`` replaces the arguments that suit the CI cluster (no slurmdbd, so job
status comes from squeue), e.g. ``--default-resources slurm_account=LAB slurm_partition=short``
on a real cluster.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from _helpers import SLURM_PROFILE, SLURM_REQUIRED, SNAKEMAKE, wait_for_run
from psymodal.provenance.audit import PASS, audit

LEARNED = ("metrics.tsv", "predictions.tsv")

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def compared_files(workdir: Path) -> dict[str, Path]:
    """Every group feature table and the newest run's metrics and predictions, by file name."""
    results = workdir / "results"
    label = (results / "LATEST").read_text().strip()
    files = {p.name: p for p in results.glob("*-*/group/*_features.tsv")}
    files.update({name: results / "runs" / label / "learn" / name for name in LEARNED})
    return files


@pytest.fixture(scope="module")
def runs(slurm_demo, request):
    """(local run or None, SLURM run, SLURM run's Snakemake log). In CI the SLURM run is the
    session's small demo and there is no whole local run; elsewhere the local run is the small
    demo and the SLURM run its twin."""
    cluster = slurm_demo
    log = wait_for_run(cluster)
    local = None if SLURM_REQUIRED else request.getfixturevalue("small_demo")
    return local, cluster, log


def test_jobs_went_through_slurm(runs):
    _, _, log = runs
    submitted = [line for line in log.splitlines() if "submitted with SLURM jobid" in line]
    for rule in ("demo_dataset", "mri_batch", "speech_batch", "learn"):
        assert any(rule in line for line in submitted), f"{rule} not submitted:\n{log[-3000:]}"
    batch_jobs = (re.search(r"([a-z]+)_batch/", line) for line in submitted)
    batches = Counter(m.group(1) for m in batch_jobs if m)
    # 12 subjects, batch_size 4: three jobs for each stage that runs per subject
    assert {"mri", "speech"} <= set(batches), batches
    assert set(batches.values()) == {3}, batches


def test_slurm_run_equals_local_run_byte_for_byte(runs, tmp_path):
    local_dir, cluster_dir, _ = runs
    if local_dir is None:
        # CI: a sampled subject's per-subject stages (MRI, anatomy, speech, language and the
        # atlas) re-run locally, one core, against every file the SLURM jobs wrote for it (seed
        # 1 draws sub-06, of the second batch; tests/test_audit.py's seed 0 draws sub-11)
        report = audit(cluster_dir / "results", rerun=True, subjects=1, seed=1, tmp_root=tmp_path)
        rerun = report.check("rerun")
        assert rerun.status == PASS, "\n".join(report.lines())
        assert "1 of 12 subjects" in rerun.details["sample"][0]
        return
    local, cluster = compared_files(local_dir), compared_files(cluster_dir)
    assert {"mri_features.tsv", "speech_features.tsv"} <= set(local)
    assert sorted(cluster) == sorted(local)
    for name, path in local.items():
        assert cluster[name].read_bytes() == path.read_bytes(), name


def test_second_slurm_run_does_no_work(runs):
    _, cluster, _ = runs
    result = subprocess.run(
        [*SNAKEMAKE, "--directory", str(cluster), "--workflow-profile", SLURM_PROFILE, "--dry-run"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Nothing to be done" in result.stdout + result.stderr
