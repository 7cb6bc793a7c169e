"""Faults during a run: a kill midway.

The run uses a 6-subject demo study read as a BIDS dataset (``dataset.source: bids``) and stops
after the group tables (``--until collect_modality``), where almost all the work is. The
runs use ``--workflow-profile none`` so that every flag that matters is on the command line.
A subject whose input is corrupt is tested end to end in ``test_hostile_inputs.py``
(``test_study_with_corrupt_files_and_a_space_finishes_with_a_summary``: the subject becomes a
QC row and the study reaches learning); ``strict`` stopping a batch in
``test_the_batch_goes_on_and_strict_stops_it``.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from _helpers import REPO, SNAKEMAKE

N_SUBJECTS = 6
BATCH_SIZE = 2

pytestmark = pytest.mark.slow


def snakemake_args(workdir: Path, *args: str) -> list[str]:
    return [
        *SNAKEMAKE,
        "--directory",
        str(workdir),
        "--cores",
        "2",
        "--workflow-profile",
        "none",
        "--until",
        "collect_modality",
        *args,
    ]


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        snakemake_args(workdir, *args), capture_output=True, text=True, check=False, timeout=900
    )


def bids_workdir(workdir: Path, bids_dir: Path) -> Path:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["dataset"] = {"source": "bids", "bids_dir": str(bids_dir), "fmriprep_dir": None}
    config["batch_size"] = BATCH_SIZE
    (workdir / "config").mkdir(parents=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    return workdir


def output_files(workdir: Path) -> dict[str, bytes]:
    """Every visible file the stages wrote (logs aside), by path relative to results/."""
    results = workdir / "results"
    return {
        str(p.relative_to(results)): p.read_bytes()
        for p in sorted(results.rglob("*"))
        if p.is_file()
        and "logs" not in p.relative_to(results).parts
        and not p.name.startswith(".")  # an atomic write's temporary file, never read
    }


def batch_tables(workdir: Path) -> list[Path]:
    """One table per batch job (an MRI job also writes anat tables: not counted)."""
    found = (workdir / "results").glob("*-*/group/batches/*_batch-*_features.tsv")
    return sorted(p for p in found if p.name.startswith(("mri_batch-", "speech_batch-")))


def incomplete_outputs(workdir: Path) -> set[Path]:
    """Outputs of the jobs running now, from Snakemake's markers (base64 of the path, split
    into '@'-prefixed folders when longer than a file name may be)."""
    folder = workdir / ".snakemake" / "incomplete"
    outputs = set()
    for marker in folder.rglob("*") if folder.is_dir() else []:
        parts = marker.relative_to(folder).parts
        if parts[-1].startswith("@") or parts[0] == "migration_underway":
            continue
        try:
            name = "".join(part.removeprefix("@") for part in parts)
            outputs.add(Path(base64.urlsafe_b64decode(name).decode()))
        except ValueError:  # a marker written or removed while we read
            continue
    return outputs


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """A 6-subject demo study on disk: BIDS raw data plus fMRIPrep-style derivatives."""
    bids = tmp_path_factory.mktemp("study") / "bids"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "psymodal.cli",
            "demo",
            str(bids),
            "--small",
            "--n-subjects",
            str(N_SUBJECTS),
        ],
        check=True,
        capture_output=True,
    )
    return bids


@pytest.fixture(scope="module")
def reference(study, tmp_path_factory) -> dict[str, bytes]:
    """The outputs of an uninterrupted run."""
    workdir = bids_workdir(tmp_path_factory.mktemp("reference"), study)
    result = snakemake(workdir)
    assert result.returncode == 0, result.stderr[-5000:]
    return output_files(workdir)


def test_run_killed_midway_resumes_to_identical_outputs(study, reference, tmp_path):
    workdir = bids_workdir(tmp_path / "killed", study)
    log = (tmp_path / "killed.log").open("w")
    proc = subprocess.Popen(
        snakemake_args(workdir), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 600
    # kill once a batch is finished (recorded as complete) while others are being written
    while proc.poll() is None and time.monotonic() < deadline:
        running = incomplete_outputs(workdir)
        finished = [p for p in batch_tables(workdir) if p.relative_to(workdir) not in running]
        if finished and running:
            break
        time.sleep(0.2)
    if proc.poll() is not None:
        tail = (tmp_path / "killed.log").read_text()[-3000:]
        pytest.fail(f"the run ended before it could be killed:\n{tail}")
    os.killpg(proc.pid, signal.SIGKILL)  # snakemake and every job it runs, with no clean-up
    proc.wait()
    log.close()
    n_total = 2 * -(-N_SUBJECTS // BATCH_SIZE)  # mri and speech batch jobs
    n_done = len(set(batch_tables(workdir)) - {workdir / p for p in incomplete_outputs(workdir)})
    assert 0 < n_done < n_total, "the kill came before or after the batches"

    # SIGKILL left snakemake's lock behind: --unlock removes it (nothing else runs here)
    assert any((workdir / ".snakemake" / "locks").iterdir())
    unlocked = snakemake(workdir, "--unlock")
    assert unlocked.returncode == 0, unlocked.stderr[-3000:]
    # outputs of the jobs the kill interrupted, if already on disk, are not trusted: a plain
    # restart refuses them (--rerun-incomplete redoes those jobs)
    if any((workdir / p).exists() for p in incomplete_outputs(workdir)):
        refused = snakemake(workdir, "--dry-run")
        assert refused.returncode != 0
        assert "incomplete" in (refused.stdout + refused.stderr).lower()

    resumed = snakemake(workdir, "--rerun-incomplete")
    assert resumed.returncode == 0, resumed.stderr[-5000:]
    outputs = output_files(workdir)
    assert sorted(outputs) == sorted(reference), "missing or extra outputs after the restart"
    differing = [name for name in reference if outputs[name] != reference[name]]
    assert not differing, differing
    # the batches finished before the kill were kept, not computed again
    resumed_log = resumed.stdout + resumed.stderr
    rerun = resumed_log.count("rule mri_batch:") + resumed_log.count("rule speech_batch:")
    assert n_total - n_done <= rerun < n_total
