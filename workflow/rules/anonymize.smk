# `snakemake share`: the study's feature tables under keyed pseudonyms, with the linkage risk
# measured on this study (the safe default: no image, voice or text). `snakemake anonymize`:
# the shareable copy of the study itself. Neither is part of `all`. The original is only read;
# the pseudonym key stays outside results (psymodal.privacy.paths.key_file), and both use it,
# so a participant has the same pseudonym in both.
from psymodal.privacy import paths as privacy_paths

SHAREABLE = privacy_paths.shareable_dir(PLAN.config)
SHARED_FEATURES = privacy_paths.shared_features_dir(PLAN.config)
FEATURE_TABLES = {m: PLAN.group_table(m, "features") for m in PLAN.modalities}


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


rule share:
    input:
        participants=PLAN.participants_tsv,
        features=list(FEATURE_TABLES.values()),
        key=lambda wc: privacy_paths.key_file(PLAN.config),
    output:
        directory(SHARED_FEATURES),
    log:
        RESULTS / "logs" / "share.log",
    conda:
        "../../envs/privacy.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        cli=PSYMODAL,
        # the attacks read the MRI stage's time series and the study's recordings
        args=lambda wc, input: shlex.join(
            commands.share_features_command(
                PLAN.config,
                input.participants,
                FEATURE_TABLES,
                SHARED_FEATURES,
                input.key,
                timeseries_dir=MRI if "mri" in FEATURE_TABLES else None,
                recordings_dir=BIDS if "speech" in FEATURE_TABLES else None,
            )
        ),
    shell:
        "{params.cli} {params.args} > {log:q} 2>&1"
