"""Plain helpers shared by the test modules: ``from _helpers import ...``.

Fixtures live in ``conftest.py``; these are the functions and constants that tests call
directly (pytest discourages importing from a conftest, and test modules do not import from
each other).

- Workflow runs: :data:`REPO`, :data:`SNAKEMAKE`, :func:`scenario_config` (the ``.test/``
  scenario configurations), :func:`write_config`, :func:`run_snakemake`,
  :func:`assert_succeeded`, :func:`run_dir`, :func:`stage_dir`.
- SLURM: :data:`SLURM_REQUIRED`, :func:`slurm_problem` (why this machine cannot submit),
  :func:`slurm_demo_command`, :func:`start_slurm_demo`.
- Runs in the background, waited for by any test process: :func:`start_background_run`,
  :func:`wait_for_run`, :func:`stop_background_run`.
- Start-up: :func:`modules_imported_by` (what a fresh process imports for a statement).
- Study data: :func:`write_timeseries_study` (ready ROI time series),
  :func:`make_run` and :func:`toy_atlas` (fMRIPrep-like derivatives on a toy atlas),
  :func:`pulse_vowel` and :func:`with_silence` (synthetic speech).
"""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import scipy.signal
import yaml

from psymodal.io.tables import write_tsv
from psymodal.mri.atlas import Atlas

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
#: snakemake-workflows style scenario configurations: ``config-<name>.yaml``
SCENARIOS = REPO / ".test"
#: --cores of a workflow run inside the tests: the machine's cores shared by the session's
#: test processes (pytest-xdist workers set PYTEST_XDIST_WORKER_COUNT). Two 2-core runs side
#: by side on 2 cores cost ~15-30 % more CPU (parallel jobs' process pools and joblib workers
#: start and compete) for no gain, since the other worker keeps the second core busy.
TEST_CORES = max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


# ---- start-up ----------------------------------------------------------------------------
def modules_imported_by(statement: str, modules: tuple[str, ...]) -> list[str]:
    """Those of ``modules`` that a fresh Python process has imported after ``statement``
    (a job's start-up cost: each workflow job is a new process)."""
    code = (
        f"import json, sys; {statement}; "
        f"print(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


# ---- workflow runs -----------------------------------------------------------------------
def scenario_config(name: str) -> dict:
    """The configuration of scenario ``name`` (``.test/config-<name>.yaml``)."""
    return yaml.safe_load((SCENARIOS / f"config-{name}.yaml").read_text())


def write_config(workdir: Path, config: dict) -> Path:
    """Write ``config`` as ``workdir/config/config.yaml`` (the Snakefile's configfile)."""
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    return workdir


def run_snakemake(
    workdir: Path, *args: str, cores: int = TEST_CORES
) -> subprocess.CompletedProcess:
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


def run_dir(workdir: Path) -> Path:
    """The run folder ``results/LATEST`` names."""
    label = (workdir / "results" / "LATEST").read_text().strip()
    return workdir / "results" / "runs" / label


def stage_dir(workdir: Path, modality: str) -> Path:
    """The one stage folder ``results/<modality>-<key>``."""
    (folder,) = (workdir / "results").glob(f"{modality}-*")
    return folder


# ---- the small demo on a real SLURM scheduler --------------------------------------------
# the single-node CI cluster has no accounting database: poll squeue, and poll early
#: CI (``PSYMODAL_SLURM_TEST=1``): a machine without SLURM fails instead of skipping, and the
#: session's small demo itself goes through SLURM (conftest's ``small_demo``)
SLURM_REQUIRED = os.environ.get("PSYMODAL_SLURM_TEST") == "1"
CI_SLURM_ARGS = "--slurm-status-command squeue --slurm-init-seconds-before-status-checks 2"
SLURM_PROFILE = str(REPO / "profiles" / "slurm")


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


def slurm_demo_command(workdir: Path) -> list[str]:
    """Snakemake submitting the small demo in ``workdir`` through ``profiles/slurm``.
    ``PSYMODAL_SLURM_ARGS`` replaces the CI cluster's arguments."""
    extra = shlex.split(os.environ.get("PSYMODAL_SLURM_ARGS", CI_SLURM_ARGS))
    return [
        *SNAKEMAKE,
        "--directory",
        str(workdir),
        "--workflow-profile",
        SLURM_PROFILE,
        "--jobs",
        "8",
        *extra,
    ]


def start_slurm_demo(workdir: Path) -> subprocess.Popen:
    """Submit the small demo in ``workdir`` through ``profiles/slurm``, in the background
    (:func:`start_background_run`)."""
    write_config(workdir, scenario_config("small-demo"))
    return start_background_run(workdir, slurm_demo_command(workdir))


# ---- workflow runs in the background -----------------------------------------------------
# A run that several test processes (pytest-xdist workers) wait for: it starts when the session
# does and leaves its state in files, so any worker can wait for it and the session's end can
# stop it.
def start_background_run(workdir: Path, args: list[str]) -> subprocess.Popen:
    """Start the command line ``args`` in its own process group. Its output goes to
    ``workdir/snakemake.log``, its process id to ``snakemake.pid`` and, once it has ended, its
    exit status to ``snakemake.rc`` (written under a temporary name, then renamed)."""
    log, rc = workdir / "snakemake.log", workdir / "snakemake.rc"
    partial = workdir / "snakemake.rc.partial"
    script = (
        f"{shlex.join(args)} > {shlex.quote(str(log))} 2>&1; "
        f"echo $? > {shlex.quote(str(partial))} && mv {shlex.quote(str(partial))} "
        f"{shlex.quote(str(rc))}"
    )
    process = subprocess.Popen(["bash", "-c", script], start_new_session=True)
    (workdir / "snakemake.pid").write_text(f"{process.pid}\n")
    return process


def _group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_background_run(workdir: Path, grace: float = 120) -> None:
    """Interrupt a :func:`start_background_run` that is still going (Snakemake then cancels
    its SLURM jobs), and kill it if it has not ended after ``grace`` seconds."""
    pid_file = workdir / "snakemake.pid"
    if not pid_file.exists() or (workdir / "snakemake.rc").exists():
        return
    pid = int(pid_file.read_text())
    if not _group_alive(pid):
        return
    os.killpg(pid, signal.SIGINT)
    deadline = time.monotonic() + grace
    while _group_alive(pid) and time.monotonic() < deadline:
        time.sleep(1)
    if _group_alive(pid):
        os.killpg(pid, signal.SIGKILL)


def wait_for_run(workdir: Path, timeout: float = 1500) -> str:
    """Wait for :func:`start_background_run` in ``workdir`` and return its log; a failed or
    stopped run fails the test with the log's tail and every job log's."""
    rc_file, log_file = workdir / "snakemake.rc", workdir / "snakemake.log"
    pid = int((workdir / "snakemake.pid").read_text())
    deadline = time.monotonic() + timeout
    while not rc_file.exists():
        if not _group_alive(pid):
            time.sleep(1)  # it may have ended between the two checks
            if not rc_file.exists():
                break
        if time.monotonic() > deadline:
            stop_background_run(workdir, grace=60)
            break
        time.sleep(1)
    log = log_file.read_text(errors="replace") if log_file.exists() else ""
    rc = rc_file.read_text().strip() if rc_file.exists() else "none (stopped or timed out)"
    if rc != "0":
        job_logs = "\n".join(
            f"--- {p}\n{p.read_text(errors='replace')[-2000:]}"
            for p in sorted(workdir.rglob("*.log"))
            if "logs" in p.parts
        )
        pytest.fail(f"snakemake in {workdir} ended with {rc}:\n{log[-6000:]}\n{job_logs}")
    return log


# ---- ready ROI time series ---------------------------------------------------------------
REGIONS = [f"R{k}" for k in range(1, 7)]


def write_timeseries_study(root: Path, n: int = 12, seed: int = 0) -> Path:
    """participants.tsv and ``ts/<participant_id>.tsv`` region time series under ``root``
    (the layout ``.test/config-timeseries.yaml`` reads); patients couple R1 and R2."""
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
    return root


# ---- synthetic fMRIPrep-like derivatives -------------------------------------------------
# The run lives on a coarse 4 mm grid with a toy atlas of six box regions whose label values
# are not contiguous (so that a shifted column cannot go unnoticed). Region signals are a
# planted latent time series; a motion artefact proportional to ``trans_x`` is added to every
# voxel.
SHAPE = (12, 12, 10)
AFFINE = np.array(
    [[4.0, 0, 0, -24.0], [0, 4.0, 0, -24.0], [0, 0, 4.0, -20.0], [0, 0, 0, 1]],
)
LABELS = [3, 5, 7, 11, 13, 17]
NAMES = ["RegA", "RegB", "RegC", "RegD", "RegE", "RegF"]
# region k occupies a 3x3x2 block starting here
CORNERS = [(1, 1, 1), (1, 6, 1), (6, 1, 1), (6, 6, 1), (1, 1, 6), (6, 6, 6)]


def toy_atlas() -> Atlas:
    data = np.zeros(SHAPE, dtype=np.int16)
    for lab, (i, j, k) in zip(LABELS, CORNERS, strict=True):
        data[i : i + 3, j : j + 3, k : k + 2] = lab
    labels = pd.DataFrame({"index": LABELS, "name": NAMES})
    return Atlas(name="toy", labels_img=nib.Nifti1Image(data, AFFINE), labels=labels)


def motion_params(n: int, rng: np.random.Generator, scale: float = 0.02) -> np.ndarray:
    """Six smooth random-walk motion parameters (mm, rad)."""
    steps = rng.normal(0, scale, size=(n, 6))
    steps[:, 3:] /= 50.0  # rotations in rad; 50 mm head radius
    return np.cumsum(steps, axis=0)


def framewise_displacement(params: np.ndarray) -> np.ndarray:
    """Power et al. (2012) FD: sum of absolute differences, rotations on a 50 mm sphere."""
    diff = np.abs(np.diff(params, axis=0))
    fd = diff[:, :3].sum(axis=1) + 50.0 * diff[:, 3:].sum(axis=1)
    return np.concatenate([[np.nan], fd])


def make_confounds(
    params: np.ndarray, rng: np.random.Generator, n_dummy: int = 1, spikes=()
) -> pd.DataFrame:
    n = len(params)
    table = {}
    names = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
    for k, name in enumerate(names):
        x = params[:, k]
        d = np.concatenate([[np.nan], np.diff(x)])
        table[name] = x
        table[f"{name}_derivative1"] = d
        table[f"{name}_power2"] = x**2
        table[f"{name}_derivative1_power2"] = d**2
    fd = framewise_displacement(params)
    for s in spikes:
        fd[s] = 1.5
    table["framewise_displacement"] = fd
    for name in ["csf", "white_matter", "global_signal"]:
        x = rng.normal(0, 1, n)
        d = np.concatenate([[np.nan], np.diff(x)])
        table[name] = x
        table[f"{name}_derivative1"] = d
        table[f"{name}_power2"] = x**2
        table[f"{name}_derivative1_power2"] = d**2
    dv = np.concatenate([[np.nan], np.abs(rng.normal(1, 0.1, n - 1))])
    table["std_dvars"] = dv
    table["dvars"] = dv * 10
    for k in range(5):
        table[f"a_comp_cor_{k:02d}"] = rng.normal(0, 1, n)
    t = np.arange(n)
    for k in range(3):
        table[f"cosine{k:02d}"] = np.cos(np.pi * (k + 1) * (t + 0.5) / n) * np.sqrt(2 / n)
    for k in range(n_dummy):
        col = np.zeros(n)
        col[k] = 1
        table[f"non_steady_state_outlier_{k:02d}"] = col
    return pd.DataFrame(table)


def make_run(
    root: Path,
    subject: str = "01",
    task: str = "rest",
    run: str | None = None,
    session: str | None = None,
    n_vols: int = 100,
    tr: float = 2.0,
    seed: int = 0,
    motion_scale: float = 0.02,
    artefact: float = 30.0,
    mask_out: tuple[int, ...] = (),
    spikes=(),
    n_dummy: int = 1,
    write_tr: bool = True,
    dtype=np.float32,
) -> dict:
    """Write one fMRIPrep-style run under ``root/derivatives/fmriprep``; return its paths.

    ``mask_out`` lists atlas positions (0-5) whose voxels are left out of the brain mask.
    """
    rng = np.random.default_rng(seed)
    params = motion_params(n_vols, rng, motion_scale)
    # planted structure: regions A and B share a latent signal, the others are independent
    shared = rng.normal(0, 1, n_vols)
    latent = rng.normal(0, 1, (n_vols, len(LABELS)))
    latent[:, 0] += 2 * shared
    latent[:, 1] += 2 * shared
    atlas = toy_atlas()
    labels = np.asarray(atlas.labels_img.dataobj)
    data = 1000.0 + rng.normal(0, 5.0, SHAPE + (n_vols,))
    for k, lab in enumerate(LABELS):
        data[labels == lab] += 10.0 * latent[:, k]
    data += artefact * params[:, 0]  # motion artefact in every voxel
    data[..., :n_dummy] += 300.0  # non-steady-state volumes are bright
    mask = np.zeros(SHAPE, dtype=np.uint8)
    mask[1:-1, 1:-1, 1:-1] = 1
    for k in mask_out:
        mask[labels == LABELS[k]] = 0

    func = Path(root) / "derivatives" / "fmriprep" / f"sub-{subject}"
    if session:
        func = func / f"ses-{session}"
    func = func / "func"
    func.mkdir(parents=True, exist_ok=True)
    stem = f"sub-{subject}" + (f"_ses-{session}" if session else "") + f"_task-{task}"
    if run:
        stem += f"_run-{run}"
    space = "_space-MNI152NLin2009cAsym"
    bold = func / f"{stem}{space}_desc-preproc_bold.nii.gz"
    img = nib.Nifti1Image(data.astype(dtype), AFFINE)
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = tr if write_tr else 0.0
    nib.save(img, bold)
    if write_tr:
        bold.with_name(bold.name.replace(".nii.gz", ".json")).write_text(
            json.dumps({"RepetitionTime": tr, "SkullStripped": False})
        )
    maskf = func / f"{stem}{space}_desc-brain_mask.nii.gz"
    nib.save(nib.Nifti1Image(mask, AFFINE), maskf)
    conf = func / f"{stem}_desc-confounds_timeseries.tsv"
    make_confounds(params, rng, n_dummy=n_dummy, spikes=spikes).to_csv(
        conf, sep="\t", index=False, na_rep="n/a"
    )
    meta = {
        f"a_comp_cor_{k:02d}": {"Method": "aCompCor", "Mask": "combined", "Retained": True}
        for k in range(5)
    }
    conf.with_suffix(".json").write_text(json.dumps(meta))
    return {
        "bold": bold,
        "mask": maskf,
        "confounds": conf,
        "params": params,
        "latent": latent,
        "fmriprep": Path(root) / "derivatives" / "fmriprep",
    }


# settings that keep the tests fast and the toy data meaningful
# correlation edges: these MRI tests compare the stage with connectivity_features(ts); the
# default tangent input (covariances with diagonal) is tested in test_learn_tangent.py
FAST = {
    "atlas": {"name": "toy"},
    "qc": {"min_minutes": 1.0},
    "qc_figure": False,
    "connectivity": "correlation",
}


# ---- synthetic speech --------------------------------------------------------------------
SR = 16000


def pulse_vowel(duration, periods=None, f0=120.0, amps=None, formants=(700, 1200, 2600), sr=SR):
    """Impulse train (given periods in samples, or constant F0) through formant resonators."""
    n = int(duration * sr)
    src = np.zeros(n)
    if periods is None:
        periods = [sr / f0]
    pos, i = 50.0, 0
    while pos < n - 1:
        src[int(round(pos))] = 1.0 if amps is None else amps[i % len(amps)]
        pos += periods[i % len(periods)]
        i += 1
    y = src
    for f, bw in zip(formants, (80.0, 90.0, 120.0), strict=False):
        r = math.exp(-math.pi * bw / sr)
        a = [1.0, -2 * r * math.cos(2 * math.pi * f / sr), r * r]
        y = scipy.signal.lfilter([1.0 - r], a, y)
    y = 0.3 * y / np.max(np.abs(y))
    rng = np.random.default_rng(1)
    return y + rng.normal(0, 1e-4, n)


def with_silence(y, sr=SR, lead=0.3):
    pad = np.zeros(int(lead * sr))
    return np.concatenate([pad, y, pad]) + np.random.default_rng(2).normal(
        0, 1e-4, len(y) + 2 * len(pad)
    )
