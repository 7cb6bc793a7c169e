"""Fixtures shared by the test modules.

Plain functions and constants that tests call directly live in ``_helpers.py``; test modules
never import from each other or from this file.

- ``one_thread`` (module): BLAS/OpenMP (and torch, when imported) limited to one thread.
  Modules opt in with ``pytestmark = pytest.mark.usefixtures("one_thread")``.
- ``small_demo`` (session): the workflow run once on the small demo scenario
  (``.test/config-small-demo.yaml``), shared by every test that only reads its outputs, in
  every pytest-xdist worker. It starts in the background as soon as a session that selected a
  test needing it begins, so the other tests run meanwhile. A test that needs to change a run
  works on a copy (``shutil.copytree(small_demo, ..., symlinks=True)``); the fixture fails the
  session if its files were changed. With ``PSYMODAL_SLURM_TEST=1`` (CI) the run goes through
  SLURM (``profiles/slurm``) and a machine without SLURM fails.
- ``slurm_demo`` (session): the small demo run through SLURM, as its working folder. In CI it is
  the session's ``small_demo``, and ``tests/test_slurm.py`` re-runs a sample of its subjects
  locally; elsewhere a SLURM twin starts when ``tests/test_slurm.py`` asks (skipped without
  SLURM).
- ``small_demo_report`` (session): the single-file HTML report of the small demo run
  (``snakemake --report``), built once for the tests that read it, in any worker.

The small demo is not re-run from scratch as a whole: its per-subject stages are re-run for
sampled subjects (``audit --rerun --subjects``) and its learning stage is re-learned
(``audit --relearn``), each compared byte for byte; the whole-workflow rerun of ``psymodal
audit --rerun`` runs for real on the time-series study (``tests/test_workflow_timeseries.py``).

Parallel runs (``make test``: ``pytest -n 2 --dist loadscope``, pytest-xdist): every module is
one unit of work. Units are handed out in this order (``pytest_collection_modifyitems``):
modules that run workflows of their own (most slow tests first), the modules reading the small
demo, then the rest, so the background run overlaps with other work instead of holding a
worker idle at the end; a module reading the small demo waits in the queue (the scheduler
hands out the next other module instead) until that run has ended.
"""

from __future__ import annotations

import fcntl
import os
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest

from _helpers import (
    SLURM_REQUIRED,
    SNAKEMAKE,
    run_snakemake,
    scenario_config,
    slurm_problem,
    start_background_run,
    start_slurm_demo,
    stop_background_run,
    wait_for_run,
    write_config,
)

HERE = Path(__file__).parent


def _modules_reading(name: str, exclude: frozenset[str] = frozenset()) -> frozenset[str]:
    """Test modules whose text names the fixture ``name``."""
    return frozenset(
        p.name for p in HERE.glob("test_*.py") if name in p.read_text() and p.name not in exclude
    )


DEMO_MODULES = _modules_reading("small_demo")


def _small_demo_ended(config) -> bool:
    """Whether the session's small demo run has ended (its exit status is written), as the
    xdist controller sees it: the workers' shared folder is the controller's own."""
    root = config._tmp_path_factory.getbasetemp()
    return (root / "small_demo" / "snakemake.rc").exists()


def pytest_xdist_make_scheduler(config, log):
    """Parallel runs: every module is one unit of work (its module-scoped fixtures, such as
    the default demo, are made once), handed out in collection order (see
    ``pytest_collection_modifyitems``) rather than pytest-xdist's own reordering, except that
    a module reading the small demo is handed out only once that run has ended, or when
    nothing else is left: a worker would otherwise sit waiting for it (through SLURM, in CI,
    the run takes minutes of status polls) while modules that do not need it are queued."""
    from xdist.scheduler import LoadScopeScheduling

    class DemoWhenReady(LoadScopeScheduling):
        def _assign_work_unit(self, node):
            if not _small_demo_ended(config):
                for scope in self.workqueue:
                    if Path(scope.split("::")[0]).name not in DEMO_MODULES:
                        self.workqueue.move_to_end(scope, last=False)
                        break
            super()._assign_work_unit(node)

    config.option.loadscopereorder = False
    return DemoWhenReady(config, log)


def pytest_collection_modifyitems(config, items):
    """Order: modules with workflow runs of their own (most slow tests first), the small-demo
    modules, the rest; a module's tests keep their order."""
    module = {id(item): item.path.name for item in items}
    slow = Counter(module[id(i)] for i in items if i.get_closest_marker("slow"))

    def rank(item):
        name = module[id(item)]
        if name in DEMO_MODULES:
            return (1, 0, "")
        return (0, -slow[name], name) if slow[name] else (2, 0, "")

    items.sort(key=rank)  # stable: collection order within a rank


@pytest.fixture(scope="module")
def one_thread():
    """Single-threaded BLAS/OpenMP: small matrices run faster, and results do not depend on
    the machine's core count. The limit is not lifted afterwards (as before this fixture was
    shared): the rest of the session keeps it."""
    from psymodal.workflow.threads import limit_threads

    controller = limit_threads(1)
    yield controller


# ---- the small demo workflow run -----------------------------------------------------------
def _shared_root(tmp_path_factory) -> Path:
    """The folder every worker of this session sees: the parent of the pytest-xdist workers'
    own temporary folders, or the session's temporary folder without xdist."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def _locked(path: Path):
    """An exclusive lock on ``path`` between the session's processes."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_STARTED = []  # this process's background runs (kept referenced until it exits)


def _small_demo_workdir(root: Path) -> Path:
    """Start the session's small demo run unless a process of this session already has, and
    return its working folder."""
    workdir = root / "small_demo"
    with _locked(root / "small_demo.lock"):
        if not (workdir / "snakemake.pid").exists():
            workdir.mkdir(exist_ok=True)
            if SLURM_REQUIRED:
                _STARTED.append(start_slurm_demo(workdir))
            else:
                write_config(workdir, scenario_config("small-demo"))
                command = [*SNAKEMAKE, "--directory", str(workdir), "--cores", "2"]
                _STARTED.append(start_background_run(workdir, command))
    return workdir


@pytest.fixture(scope="session", autouse=True)
def _small_demo_in_background(request, tmp_path_factory):
    """Start the small demo when the session begins if a selected test reads it."""
    if any("small_demo" in item.fixturenames for item in request.session.items):
        if not (SLURM_REQUIRED and slurm_problem()):
            _small_demo_workdir(_shared_root(tmp_path_factory))


def pytest_sessionfinish(session):
    """The session's last process (the xdist controller, or the only one) stops a small demo
    run still going, e.g. after ``-x``."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None and factory._basetemp is not None:
        stop_background_run(factory.getbasetemp() / "small_demo")


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
def slurm_demo(tmp_path_factory, request):
    """Working folder of the small demo run through SLURM; the test waits for it
    (``wait_for_run``). In CI this is the session's ``small_demo``."""
    problem = slurm_problem()
    if problem and SLURM_REQUIRED:
        pytest.fail(f"PSYMODAL_SLURM_TEST=1 but {problem}")
    if problem:
        pytest.skip(problem)
    if SLURM_REQUIRED:
        yield request.getfixturevalue("small_demo")
        return
    workdir = tmp_path_factory.mktemp("slurm")
    start_slurm_demo(workdir)
    yield workdir
    stop_background_run(workdir)


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory):
    """Working folder of one complete workflow run on the small demo (12 subjects, batches of
    4, two cores), shared by the session's processes. Read-only: copy it to change it. In CI
    (``PSYMODAL_SLURM_TEST=1``) the run goes through SLURM: every test of the local run then
    also holds for a SLURM run, and the audit tests that re-run its subjects or its learning
    stage locally compare their files with the SLURM run's."""
    if SLURM_REQUIRED and (problem := slurm_problem()):
        pytest.fail(f"PSYMODAL_SLURM_TEST=1 but {problem}")
    workdir = _small_demo_workdir(_shared_root(tmp_path_factory))
    wait_for_run(workdir)
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
    """``snakemake --report`` of the small demo run, written outside its folder, once for the
    session's processes."""
    root = _shared_root(tmp_path_factory)
    report = root / "small_demo_report" / "report.html"
    with _locked(root / "small_demo_report.lock"):
        if not report.exists():
            report.parent.mkdir(exist_ok=True)
            partial = report.with_name("report.partial.html")
            result = run_snakemake(small_demo, "--report", str(partial), cores=1)
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
            partial.rename(report)
    return report
