"""The workflow on a real SLURM scheduler: the small demo through ``--executor slurm``.

It runs the small demo twice, locally and through SLURM with the repository's
``profiles/slurm``, and checks that the feature tables, predictions and metrics are the same
bytes. Skipped unless SLURM answers (``sinfo``) and snakemake-executor-plugin-slurm is
installed; with ``PSYMODAL_SLURM_TEST=1`` a missing SLURM is a failure instead.
``.ci/slurm/run_slurm_test.sh`` starts a single-node SLURM and runs this file.

``PSYMODAL_SLURM_ARGS`` replaces the arguments that suit the CI cluster (no slurmdbd, so job
status comes from squeue), e.g. ``--default-resources slurm_account=LAB slurm_partition=short``
on a real cluster.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from _helpers import REPO, SNAKEMAKE, scenario_config, write_config

# the single-node CI cluster has no accounting database: poll squeue, and poll early
CI_SLURM_ARGS = "--slurm-status-command squeue --slurm-init-seconds-before-status-checks 2"
PROFILE = str(REPO / "profiles" / "slurm")
LEARNED = ("metrics.tsv", "predictions.tsv")

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def slurm_problem() -> str | None:
    """Why this machine cannot submit to SLURM (None when it can)."""
    if shutil.which("sinfo") is None:
        return "no SLURM here (sinfo not found)"
    try:
        result = subprocess.run(
            ["sinfo", "-h", "-o", "%P %T"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"sinfo failed: {err}"
    if result.returncode != 0:
        return f"sinfo failed: {result.stderr.strip()}"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e '.[cluster]')"
    return None


@pytest.fixture(scope="module")
def slurm():
    problem = slurm_problem()
    if problem and os.environ.get("PSYMODAL_SLURM_TEST") == "1":
        pytest.fail(f"PSYMODAL_SLURM_TEST=1 but {problem}")
    if problem:
        pytest.skip(problem)


def start_snakemake(workdir: Path, *args: str) -> subprocess.Popen:
    with (workdir / "snakemake.log").open("w") as log:
        return subprocess.Popen(
            [*SNAKEMAKE, "--directory", str(workdir), *args], stdout=log, stderr=subprocess.STDOUT
        )


def finish(proc: subprocess.Popen, workdir: Path, timeout: float = 1200) -> str:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log = (workdir / "snakemake.log").read_text()
    if proc.returncode != 0:
        job_logs = "\n".join(
            f"--- {p}\n{p.read_text(errors='replace')[-2000:]}"
            for p in sorted(workdir.rglob("*.log"))
            if "logs" in p.parts
        )
        pytest.fail(f"snakemake in {workdir} failed:\n{log[-6000:]}\n{job_logs}")
    return log


def compared_files(workdir: Path) -> dict[str, Path]:
    """Every group feature table and the newest run's metrics and predictions, by file name."""
    results = workdir / "results"
    label = (results / "LATEST").read_text().strip()
    files = {p.name: p for p in results.glob("*-*/group/*_features.tsv")}
    files.update({name: results / "runs" / label / "learn" / name for name in LEARNED})
    return files


@pytest.fixture(scope="module")
def runs(slurm, request, tmp_path_factory):
    """The small demo through SLURM, and the session's local run of it (``small_demo``) to
    compare with: when that one is not done yet, it runs while the SLURM run mostly waits (job
    start-up, status polls)."""
    cluster = write_config(tmp_path_factory.mktemp("slurm"), scenario_config("small-demo"))
    extra = shlex.split(os.environ.get("PSYMODAL_SLURM_ARGS", CI_SLURM_ARGS))
    cluster_proc = start_snakemake(cluster, "--workflow-profile", PROFILE, "--jobs", "8", *extra)
    try:
        local = request.getfixturevalue("small_demo")
    except BaseException:
        cluster_proc.send_signal(signal.SIGINT)  # Snakemake then cancels its SLURM jobs
        cluster_proc.wait(timeout=120)
        raise
    return local, cluster, finish(cluster_proc, cluster)


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


def test_slurm_run_equals_local_run_byte_for_byte(runs):
    local_dir, cluster_dir, _ = runs
    local, cluster = compared_files(local_dir), compared_files(cluster_dir)
    assert {"mri_features.tsv", "speech_features.tsv"} <= set(local)
    assert sorted(cluster) == sorted(local)
    for name, path in local.items():
        assert cluster[name].read_bytes() == path.read_bytes(), name


def test_second_slurm_run_does_no_work(runs):
    _, cluster, _ = runs
    result = subprocess.run(
        [*SNAKEMAKE, "--directory", str(cluster), "--workflow-profile", PROFILE, "--dry-run"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Nothing to be done" in result.stdout + result.stderr
