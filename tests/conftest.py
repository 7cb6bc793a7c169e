"""Fixtures shared by the test modules.

Plain functions and constants that tests call directly live in ``_helpers.py``; test modules
never import from each other or from this file.

- ``one_thread`` (module): BLAS/OpenMP (and torch, when imported) limited to one thread.
  Modules opt in with ``pytestmark = pytest.mark.usefixtures("one_thread")``.
- ``small_demo`` (session): the workflow run once on the small demo scenario
  (``.test/config-small-demo.yaml``), shared by every test that only reads its outputs. A test
  that needs to change a run works on a copy (``shutil.copytree(small_demo, ...,
  symlinks=True)``); the fixture fails the session if its files were changed.
- ``slurm_demo`` (session): the small demo submitted to SLURM (``profiles/slurm``), as
  ``(workdir, process)``. With ``PSYMODAL_SLURM_TEST=1`` (CI) it IS the session's small demo:
  ``small_demo`` waits for it instead of running the workflow locally, so the session makes the
  small demo once, and ``small_demo_rerun`` (local, one core) compares every file with it; a
  machine without SLURM fails. Otherwise the small demo is local, and a SLURM twin starts when
  ``tests/test_slurm.py`` asks (skipped without SLURM).
- ``small_demo_report`` (session): the single-file HTML report of the small demo run
  (``snakemake --report``), built once for the tests that read it.
- ``small_demo_rerun`` (session): the one re-run of the small demo from scratch, by
  ``psymodal audit --rerun`` (one core, demo study regenerated), with its folder kept.

Parallel runs (``make test``: ``pytest -n 2 --dist loadscope``, pytest-xdist): every module
that uses the small demo run goes to the same worker, so that run is made once, and every other
module is one unit, so module-scoped fixtures (the default demo, the faults study) are made once
(``pytest_xdist_make_scheduler`` below).
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from _helpers import (
    SLURM_REQUIRED,
    assert_succeeded,
    run_snakemake,
    scenario_config,
    slurm_problem,
    start_slurm_demo,
    wait_for_slurm_demo,
    write_config,
)


def pytest_xdist_make_scheduler(config, log):
    """Parallel runs: every module that uses the small demo run goes to one worker (the run is
    made once per worker that needs it), every other module is one unit of work (its
    module-scoped fixtures, such as the default demo, are made once). pytest-xdist's own
    ``loadgroup`` markers are not honoured with this pytest, hence a scheduler."""
    from xdist.scheduler import LoadScopeScheduling

    here = Path(__file__).parent
    sharing = {p.name for p in here.glob("test_*.py") if "small_demo" in p.read_text()}

    class ModulesAndSmallDemo(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            module = nodeid.split("::", 1)[0]
            return "small_demo" if Path(module).name in sharing else module

    return ModulesAndSmallDemo(config, log)


@pytest.fixture(scope="module")
def one_thread():
    """Single-threaded BLAS/OpenMP: small matrices run faster, and results do not depend on
    the machine's core count. The limit is not lifted afterwards (as before this fixture was
    shared): the rest of the session keeps it."""
    from psymodal.workflow.threads import limit_threads

    controller = limit_threads(1)
    yield controller


# ---- the small demo workflow run -----------------------------------------------------------
def _snapshot(workdir: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file and link under the run's folders."""
    found = {}
    for top in ("config", "resources", "results"):
        for folder, _, names in os.walk(workdir / top):
            for name in names:
                path = Path(folder) / name
                info = path.lstat()
                found[str(path.relative_to(workdir))] = (info.st_size, info.st_mtime_ns)
    return found


@pytest.fixture(scope="session")
def slurm_demo(tmp_path_factory):
    """The small demo submitted to SLURM: ``(workdir, process)``; the test waits for it."""
    problem = slurm_problem()
    if problem and SLURM_REQUIRED:
        pytest.fail(f"PSYMODAL_SLURM_TEST=1 but {problem}")
    if problem:
        pytest.skip(problem)
    workdir = tmp_path_factory.mktemp("slurm")
    process = start_slurm_demo(workdir)
    yield workdir, process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # Snakemake then cancels its SLURM jobs
        process.wait(timeout=120)


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory, request):
    """Working folder of one complete workflow run on the small demo (12 subjects, batches of
    4, two cores). Read-only: copy it to change it. In CI (``PSYMODAL_SLURM_TEST=1``) the run
    goes through SLURM (``slurm_demo``): every test of the local run then also holds for a
    SLURM run, and the one local rerun (``small_demo_rerun``) is compared with it file by file."""
    if SLURM_REQUIRED:
        workdir, process = request.getfixturevalue("slurm_demo")
        wait_for_slurm_demo(process, workdir)
    else:
        workdir = write_config(tmp_path_factory.mktemp("small_demo"), scenario_config("small-demo"))
        assert_succeeded(run_snakemake(workdir), workdir)
    before = _snapshot(workdir)
    yield workdir
    after = _snapshot(workdir)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if changed:
        pytest.fail(
            "a test changed the shared small demo run (copy it with shutil.copytree(..., "
            f"symlinks=True) to modify it): {changed[:20]}"
        )


@pytest.fixture(scope="session")
def small_demo_report(small_demo, tmp_path_factory):
    """``snakemake --report`` of the small demo run, written outside its folder."""
    report = tmp_path_factory.mktemp("small_demo_report") / "report.html"
    result = run_snakemake(small_demo, "--report", str(report), cores=1)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return report


class _KeepRemovedTrees:
    """Stand-in for the ``shutil`` module in ``psymodal.provenance.audit`` whose ``rmtree``
    moves the tree to ``keep`` instead of deleting it: the audit still cleans its folder up
    (and the tests check that it does), while the re-produced files stay available."""

    def __init__(self, keep: Path):
        self.keep = keep
        self.removed: list[Path] = []

    def __getattr__(self, name):
        return getattr(shutil, name)

    def rmtree(self, path, *args, **kwargs):
        self.removed.append(Path(path))
        shutil.move(path, self.keep / f"{len(self.removed)}")


@pytest.fixture(scope="session")
def small_demo_rerun(small_demo, tmp_path_factory):
    """The small demo re-run from scratch: ``audit(rerun=True, cores=1)`` on its results.

    Returns a namespace: ``report`` (the AuditReport), ``tmp_root`` (the folder the audit made
    its rerun folder in), ``removed`` (the folders the audit deleted) and ``workdir`` (the
    rerun's working folder: kept here when the audit deleted it, ``report.rerun_dir`` when the
    audit kept it because the rerun failed).
    """
    from psymodal.provenance import audit as audit_module

    tmp_root = tmp_path_factory.mktemp("small_demo_rerun")
    keeper = _KeepRemovedTrees(tmp_path_factory.mktemp("small_demo_rerun_kept"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit_module, "shutil", keeper)
        report = audit_module.audit(small_demo / "results", rerun=True, cores=1, tmp_root=tmp_root)
    workdir = keeper.keep / "1" if keeper.removed else report.rerun_dir
    return SimpleNamespace(
        report=report, tmp_root=tmp_root, removed=keeper.removed, workdir=workdir
    )
