# psymodal: fMRI + speech features and leakage-free classification, from BIDS to metrics.
# Rules are thin glue around the psymodal library (src/psymodal); see README.md.
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

from psymodal.settings import SettingsError, resolve_config
from psymodal.workflow.summary import print_run_summary

min_version("9.0")


configfile: "config/config.yaml"


# Every key is checked against workflow/schemas/config.schema.yaml (an unknown one is named with
# the nearest valid key) and every default is filled from it, before any job is planned.
try:
    EFFECTIVE_CONFIG = resolve_config(config)
except SettingsError as error:
    raise WorkflowError(f"config: {error}") from None
config.clear()
config.update(EFFECTIVE_CONFIG)


include: "workflow/rules/common.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/mri.smk"
include: "workflow/rules/speech.smk"
include: "workflow/rules/group.smk"
include: "workflow/rules/learn.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/anonymize.smk"


rule all:
    default_target: True
    input:
        final_outputs(),


# The console's last word: who was excluded (file and reason, from the QC tables) and, when a
# job failed, its subjects and the error lines of its log. Snakemake keeps one handler of each
# kind: one registered by an included file (provenance.smk's run digest) runs after this one.
_INCLUDED_ONSUCCESS = globals().get("onsuccess")
_INCLUDED_ONERROR = globals().get("onerror")


onsuccess:
    print_run_summary(PLAN, log)
    if _INCLUDED_ONSUCCESS is not None:
        _INCLUDED_ONSUCCESS()


onerror:
    print_run_summary(PLAN, log, failed=True)
    if _INCLUDED_ONERROR is not None:
        _INCLUDED_ONERROR()
