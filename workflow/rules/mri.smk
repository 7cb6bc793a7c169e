from psymodal.mri.paths import atlas_dir, atlas_files

ATLAS_DIR = atlas_dir(MRI)
ATLAS_NII, ATLAS_TSV = atlas_files(ATLAS_DIR, PLAN.atlas_name)


rule atlas:
    output:
        nii=ATLAS_NII,
        tsv=ATLAS_TSV,
    log:
        MRI / "logs" / "atlas.log",
    conda:
        "../../envs/mri.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cli=PSYMODAL,
        args=lambda wc: shlex.join(commands.atlas_command(PLAN.config, ATLAS_DIR)),
    shell:
        "{params.cli} {params.args} > {log:q} 2>&1"


# One job per batch of subjects: per-subject BIDS-style files are written inside the job,
# the batch tables are what Snakemake tracks (process start-up dominates tiny jobs).
rule mri_batch:
    input:
        unpack(mri_batch_inputs),
    output:
        batch_outputs("mri"),
    log:
        MRI / "logs" / "mri_batch-{batch}.log",
    conda:
        "../../envs/mri.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, input: mri_batch_mem_mb(input.data),
        runtime=batch_runtime,
    params:
        cli=PSYMODAL,
        args=lambda wc: shlex.join(
            commands.mri_command(
                PLAN.config,
                PLAN.batch(wc.batch),
                BIDS,
                MRI,
                ATLAS_DIR,
                batch=wc.batch,
                batch_dir=batch_dir(MRI),
            )
        ),
    shell:
        "{params.cli} {params.args} > {log:q} 2>&1"
