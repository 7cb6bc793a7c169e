import json
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod

from psymodal.learn.paths import learn_dir, learn_file, run_file
from psymodal.report.paths import connectome_figure, figures_dir, qc_gallery_file
from psymodal.workflow import commands
from psymodal.workflow.plan import MODALITY_STAGE, StudyPlan
from psymodal.workflow.resources import mri_batch_mem_mb
from psymodal.workflow.stage_tables import KINDS, batch_dir, group_table

try:
    PLAN = StudyPlan.from_config(config)
    PLAN.check_run_is_not_overwritten()
except (
    OSError,
    ValueError,
) as error:  # the study's tables and layout: one short message
    raise WorkflowError(f"dataset: {error}") from None
# A speech-only or MRI-only dataset: the stage without inputs is skipped, in one line.
for _line in PLAN.skipped_stages.values():
    print(_line, file=sys.stderr)
RESULTS = PLAN.results_dir
BIDS = PLAN.bids_dir
RUN = PLAN.run_dir
MRI = PLAN.stage_dir("mri")
SPEECH = PLAN.stage_dir("speech")
LANGUAGE = PLAN.stage_dir("language")
# With per-rule conda envs (envs/*.yaml) the env's python runs this checkout's library through
# PYTHONPATH; otherwise the python that runs Snakemake does, whether or not its venv is active.
USES_CONDA = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
PYTHON = "python" if USES_CONDA else shlex.quote(sys.executable)
SRC = shlex.quote(str(Path(workflow.basedir) / "src"))
PSYMODAL = f"PYTHONPATH={SRC}${{PYTHONPATH:+:$PYTHONPATH}} {PYTHON} -m psymodal.cli"


wildcard_constraints:
    batch=r"\d+",
    modality="mri|anat|speech|language",
    stage="mri|speech|language",
    key=r"[0-9a-f]{10}",


def settings_json(section=None):
    """A config section (or all of it) as one shell-quoted JSON argument.

    Returned as a function so that braces in the config are not read as wildcards.
    """
    value = PLAN.config if section is None else PLAN.config[section]
    text = shlex.quote(json.dumps(value, sort_keys=True))
    return lambda wildcards: text


def dataset_inputs(subjects, modality):
    """Raw inputs of a batch: the demo flag, or the subjects' real files so edits trigger reruns."""
    if PLAN.is_demo:
        return [PLAN.demo_flag]
    return PLAN.subject_inputs(subjects, modality)


EXPLAIN = PLAN.config["learn"]["explain"]["enabled"]


ADDED_VALUE = PLAN.config["learn"]["added_value"]
SAVE_MODEL = PLAN.config["learn"]["save_model"]


def learn_threads(at_most=8, on_a_cluster=2):
    """Threads of the learning job, the last stage to run: the run's --cores, at most
    ``at_most`` (one process each for folds and permutations); on a cluster, where --cores is
    not set, ``on_a_cluster``. Results do not depend on it (learn.cv.n_jobs)."""
    try:
        cores = workflow.cores
    except WorkflowError:
        return on_a_cluster
    return max(1, min(int(cores), at_most))


def learn_optional_outputs():
    outputs = {}
    if EXPLAIN:
        outputs["importance"] = learn_file(learn_dir(RUN), "importance")
    if ADDED_VALUE:
        outputs["added_value"] = learn_file(learn_dir(RUN), "added_value")
    if SAVE_MODEL:
        for key in ("model", "model_info", "model_card"):
            outputs[key] = learn_file(learn_dir(RUN), key)
        if "intermediate" in PLAN.config["learn"]["fusion"]:
            outputs["fusion_net"] = learn_file(learn_dir(RUN), "fusion_net")
    return outputs


# Connectome plots need importance scores and an atlas with coordinates (image inputs).
CONNECTOME_FIGURES = (
    EXPLAIN and "mri" in PLAN.modalities and PLAN.mri_input != "timeseries"
)


def connectome_figures():
    if not CONNECTOME_FIGURES:
        return []
    return [connectome_figure(figures_dir(RUN), k) for k in ("edges", "regions")]


# Galleries of the per-subject QC figures: MRI draws them from images, speech per recording.
QC_GALLERIES = [
    m
    for m in ("mri", "speech")
    if m in PLAN.modalities
    and PLAN.config[m]["qc_figure"]
    and not (m == "mri" and PLAN.mri_input == "timeseries")
]


def qc_galleries():
    return [qc_gallery_file(figures_dir(RUN), m) for m in QC_GALLERIES]


def final_outputs():
    stages = [PLAN.stage_dir(s) / "dataset_description.json" for s in PLAN.stages]
    return [
        run_file(RUN, "metrics"),
        RUN / "dataset_description.json",
        RUN / "provenance" / "config.yaml",
        RUN / "provenance" / "manifest.json",
        RESULTS / "LATEST",
    ] + stages


def batch_outputs(stage):
    """The per-batch tables of a stage, one features and one QC table per modality."""
    return [
        str(PLAN.batch_table(m, "{batch}", kind))
        for m in PLAN.stage_modalities(stage)
        for kind in KINDS
    ]


def batch_tables(modality, kind):
    return [PLAN.batch_table(modality, i, kind) for i in range(len(PLAN.batches()))]


def mri_batch_inputs(wc):
    inputs = {
        "data": dataset_inputs(PLAN.batch(wc.batch), "mri"),
        "participants": PLAN.participants_tsv,
    }
    if PLAN.mri_input != "timeseries":
        inputs["atlas"] = rules.atlas.output.nii
        inputs["labels"] = rules.atlas.output.tsv
    return inputs


def batch_runtime(wildcards):
    """Minutes for a batch job: grows with the batch so SLURM's time limit is not hit."""
    return 10 + 2 * len(PLAN.batch(wildcards.batch))
