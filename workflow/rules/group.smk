rule collect_modality:
    input:
        features=lambda wc: batch_tables(wc.modality, "features"),
        qc=lambda wc: batch_tables(wc.modality, "qc"),
    output:
        features=report(
            group_table(RESULTS / "{stage}-{key}", "{modality}", "features"),
            caption="../report/features.rst",
            category="Features",
        ),
        qc=report(
            group_table(RESULTS / "{stage}-{key}", "{modality}", "qc"),
            caption="../report/qc.rst",
            category="Quality control",
        ),
    log:
        RESULTS / "{stage}-{key}" / "logs" / "collect_{modality}.log",
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cli=PSYMODAL,
    shell:
        "({params.cli} collect {output.features:q} {input.features:q} &&"
        " {params.cli} collect {output.qc:q} {input.qc:q}) > {log:q} 2>&1"


# Every stage folder and run folder is a BIDS-Derivatives dataset of its own.
rule derivatives_description:
    output:
        RESULTS / "{folder}" / "dataset_description.json",
    log:
        RESULTS / "{folder}" / "logs" / "dataset_description.log",
    wildcard_constraints:
        folder=r"(mri|speech|language)-[0-9a-f]{10}|runs/[^/]+",
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        cli=PSYMODAL,
        folder=lambda wc: RESULTS / wc.folder,
    shell:
        "{params.cli} describe {params.folder:q} > {log:q} 2>&1"
