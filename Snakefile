# psymodal: fMRI + speech features and leakage-free classification, from BIDS to metrics.
# Rules are thin glue around the psymodal library (src/psymodal); see README.md.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/mri.smk"
include: "workflow/rules/speech.smk"
include: "workflow/rules/group.smk"
include: "workflow/rules/learn.smk"
include: "workflow/rules/provenance.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
