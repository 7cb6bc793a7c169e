import json
import shlex
import sys
from pathlib import Path

from snakemake.settings.types import DeploymentMethod

from psymodal.workflow_plan import StudyPlan

PLAN = StudyPlan.from_config(config)
PLAN.check_run_is_not_overwritten()
RESULTS = PLAN.results_dir
BIDS = PLAN.bids_dir
RUN = PLAN.run_dir
MRI = PLAN.stage_dir("mri")
SPEECH = PLAN.stage_dir("speech")
# With per-rule conda envs (envs/*.yaml) the env's python runs this checkout's library through
# PYTHONPATH; otherwise the python that runs Snakemake does, whether or not its venv is active.
USES_CONDA = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
PYTHON = "python" if USES_CONDA else shlex.quote(sys.executable)
SRC = shlex.quote(str(Path(workflow.basedir) / "src"))
PSYMODAL = f"PYTHONPATH={SRC}${{PYTHONPATH:+:$PYTHONPATH}} {PYTHON} -m psymodal.cli"


wildcard_constraints:
    batch=r"\d+",
    modality="mri|speech",
    key=r"[0-9a-f]{10}",


def settings_json(section):
    """A stage's config section as one shell-quoted JSON argument (params change -> rerun)."""
    return shlex.quote(json.dumps(config[section], sort_keys=True))


def dataset_inputs(subjects, modality):
    """Raw inputs of a batch: the demo flag, or the subjects' real files so edits trigger reruns."""
    if PLAN.is_demo:
        return [PLAN.demo_flag]
    return PLAN.subject_inputs(subjects, modality)


def final_outputs():
    stages = [PLAN.stage_dir(m) / "dataset_description.json" for m in PLAN.modalities]
    return [
        RUN / "learn" / "metrics.tsv",
        RUN / "dataset_description.json",
        RUN / "provenance" / "config.yaml",
        RESULTS / "LATEST",
    ] + stages


def group_table(modality, kind):
    return PLAN.stage_dir(modality) / "group" / f"{modality}_{kind}.tsv"


def batch_tables(modality, kind):
    n_batches = len(PLAN.batches())
    folder = PLAN.stage_dir(modality) / "group" / "batches"
    return [folder / f"{modality}_batch-{i}_{kind}.tsv" for i in range(n_batches)]


def mri_batch_mem_mb(files):
    """Memory for a batch: nilearn holds about three float32 copies of the largest run."""
    bold = [Path(f) for f in files if "_bold.nii" in str(f)]
    largest = max((f.stat().st_size for f in bold if f.exists()), default=0)
    factor = 3 * (4 if str(bold[0]).endswith(".gz") else 1) if bold else 0
    return int(1500 + factor * largest / 2**20)
