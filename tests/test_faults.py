"""Faults during a run: a kill midway.

The run is a copy of the session's small demo (``small_demo``: 12 subjects, batches of 4) whose
speech stage's subject folders and group tables were removed; its targets are those group
tables, so Snakemake recomputes the stage's three batch jobs and the collection. The outputs of
the resumed run are compared with the small demo's own, byte for byte. The runs use
``--workflow-profile none`` so that every flag that matters is on the command line.

A subject whose input is corrupt is tested end to end in ``test_hostile_inputs.py``
(``test_study_with_corrupt_files_and_a_space_finishes_with_a_summary``: the subject becomes a QC
row and the study reaches learning); ``strict`` stopping a batch in
``test_the_batch_goes_on_and_strict_stops_it``.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from _helpers import SNAKEMAKE, stage_dir

#: the stage whose batch jobs are killed and resumed: the speech stage's jobs are the
#: cheapest that write per-subject files, figures and batch tables
STAGE = "speech"

pytestmark = pytest.mark.slow


def snakemake_args(workdir: Path, *args: str) -> list[str]:
    """Snakemake making the stage's group tables (what the rest of the run is built on is
    there and up to date, so a run without targets would do nothing)."""
    group = stage_dir(workdir, STAGE).relative_to(workdir) / "group"
    return [
        *SNAKEMAKE,
        "--directory",
        str(workdir),
        "--cores",
        "2",
        "--workflow-profile",
        "none",
        *args,
        str(group / f"{STAGE}_features.tsv"),
        str(group / f"{STAGE}_qc.tsv"),
    ]


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        snakemake_args(workdir, *args), capture_output=True, text=True, check=False, timeout=900
    )


def output_files(workdir: Path) -> dict[str, bytes]:
    """Every visible file under results/ (logs aside), by path relative to results/."""
    results = workdir / "results"
    return {
        str(p.relative_to(results)): p.read_bytes()
        for p in sorted(results.rglob("*"))
        if p.is_file()
        and "logs" not in p.relative_to(results).parts
        and not p.name.startswith(".")  # an atomic write's temporary file, never read
    }


def batch_tables(workdir: Path) -> list[Path]:
    """One features table per batch job of the stage."""
    found = stage_dir(workdir, STAGE).glob(f"group/batches/{STAGE}_batch-*_features.tsv")
    return sorted(found)


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


@pytest.fixture
def stage_removed(small_demo, tmp_path) -> Path:
    """A copy of the small demo run without the stage's subject folders and group tables."""
    workdir = tmp_path / "work"
    shutil.copytree(small_demo, workdir, symlinks=True)
    stage = stage_dir(workdir, STAGE)
    for path in [stage / "group", *stage.glob("sub-*")]:
        shutil.rmtree(path)
    return workdir


def test_run_killed_midway_resumes_to_identical_outputs(small_demo, stage_removed, tmp_path):
    reference = output_files(small_demo)
    workdir = stage_removed
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
    n_total = len(batch_tables(small_demo))
    assert n_total == 3  # 12 subjects in batches of 4
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
    rerun = resumed_log.count(f"rule {STAGE}_batch:")
    assert n_total - n_done <= rerun < n_total
