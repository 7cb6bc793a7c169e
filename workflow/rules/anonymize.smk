# `snakemake anonymize`: the shareable copy of the study (not part of `all`). The original is
# only read; the pseudonym key stays outside results (psymodal.privacy.paths.key_file).
from psymodal.privacy import paths as privacy_paths

SHAREABLE = privacy_paths.shareable_dir(PLAN.config)


if PLAN.is_demo and PLAN.config["anonymize"]["key_file"] is None:

    rule demo_pseudonym_key:
        output:
            privacy_paths.key_file(PLAN.config),
        log:
            RESULTS / "logs" / "demo_pseudonym_key.log",
        conda:
            "../../envs/privacy.yaml"
        params:
            cli=PSYMODAL,
            seed=PLAN.config["dataset"]["demo"]["seed"],
        shell:
            "{params.cli} pseudonym-key {output:q} --demo-seed {params.seed} > {log:q} 2>&1"


rule anonymize:
    input:
        # the demo's flag, or every file of the study: an edited image or recording reruns it
        data=lambda wc: (
            [PLAN.demo_flag] if PLAN.is_demo else privacy_paths.study_files(BIDS)
        ),
        participants=PLAN.participants_tsv,
        # raises, naming the setting, for a real study without a key or a key inside results
        key=lambda wc: privacy_paths.key_file(PLAN.config),
    output:
        directory(SHAREABLE),
    log:
        RESULTS / "logs" / "anonymize.log",
    conda:
        "../../envs/privacy.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        cli=PSYMODAL,
        args=lambda wc, input: shlex.join(
            commands.anonymize_command(PLAN.config, BIDS, SHAREABLE, input.key)
        ),
    shell:
        "{params.cli} {params.args} > {log:q} 2>&1"
