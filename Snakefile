# psymodal: fMRI + speech features and leakage-free classification, from BIDS to metrics.
# Rules are thin glue around the psymodal library (src/psymodal); see README.md.
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

# The library of this checkout plans the jobs, as it runs them (the rules put src/ first on
# PYTHONPATH): Snakemake may be started from any folder, with any psymodal installed.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from psymodal.report.paths import figures_dir, report_figure
from psymodal.settings import SettingsError, resolve_config
from psymodal.workflow.summary import print_run_summary

min_version("9.0")

# The working folder's config/config.yaml, else the workflow's own (said on the console, so
# that running from another folder never drops a config silently). --configfile extends it;
# every key left out takes its default from the settings schema.
_LOCAL_CONFIG = Path("config/config.yaml")
_CONFIG = (
    _LOCAL_CONFIG if _LOCAL_CONFIG.is_file() else Path(workflow.basedir) / _LOCAL_CONFIG
)
if _CONFIG != _LOCAL_CONFIG:
    print(
        f"psymodal: no {_LOCAL_CONFIG} in {Path.cwd()}: using {_CONFIG}",
        file=sys.stderr,
    )


configfile: str(_CONFIG)


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
include: "workflow/rules/language.smk"
include: "workflow/rules/group.smk"
include: "workflow/rules/learn.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/anonymize.smk"


# The report's landing page: the study (who was included, each model against the confound
# baseline) once a run has written it, else the workflow's description (a relative path
# would be read from the Snakefile's folder, not the working folder).
_STUDY_PAGE = report_figure(figures_dir(RUN), "study")


report: str(_STUDY_PAGE.resolve()) if _STUDY_PAGE.is_file() else "workflow/report/workflow.rst"


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
