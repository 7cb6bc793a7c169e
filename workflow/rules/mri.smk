rule atlas:
    output:
        nii=MRI / "atlas" / f"atlas-{PLAN.atlas_name}_dseg.nii.gz",
        tsv=MRI / "atlas" / f"atlas-{PLAN.atlas_name}_dseg.tsv",
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
        outdir=MRI / "atlas",
        settings=shlex.quote(json.dumps(config["mri"].get("atlas", {}), sort_keys=True)),
    shell:
        "{params.cli} atlas {params.outdir} --settings {params.settings} > {log} 2>&1"


# One job per batch of subjects: per-subject BIDS-style files are written inside the job,
# the batch tables are what Snakemake tracks (process start-up dominates tiny jobs).
rule mri_batch:
    input:
        data=lambda wc: dataset_inputs(PLAN.batch(wc.batch), "mri"),
        atlas=rules.atlas.output.nii,
        labels=rules.atlas.output.tsv,
    output:
        features=MRI / "group" / "batches" / "mri_batch-{batch}_features.tsv",
        qc=MRI / "group" / "batches" / "mri_batch-{batch}_qc.tsv",
    log:
        MRI / "logs" / "mri_batch-{batch}.log",
    conda:
        "../../envs/mri.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, input: mri_batch_mem_mb(input.data),
        runtime=30,
    params:
        cli=PSYMODAL,
        subjects=lambda wc: " ".join(PLAN.batch(wc.batch)),
        settings=settings_json("mri"),
        bids=BIDS,
        fmriprep=PLAN.fmriprep_dir,
        atlas_name=PLAN.atlas_name,
        outdir=MRI,
    shell:
        "{params.cli} mri --subjects {params.subjects} --bids-dir {params.bids}"
        " --fmriprep-dir {params.fmriprep} --atlas {input.atlas}"
        " --atlas-labels {input.labels} --atlas-name {params.atlas_name}"
        " --out-dir {params.outdir} --batch-features {output.features} --batch-qc {output.qc}"
        " --settings {params.settings} > {log} 2>&1"
