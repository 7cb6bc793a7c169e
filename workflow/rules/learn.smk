rule collect_modality:
    input:
        features=lambda wc: batch_tables(wc.modality, "features"),
        qc=lambda wc: batch_tables(wc.modality, "qc"),
    output:
        features=report(
            RESULTS / "group" / "{modality}_features.tsv",
            caption="../report/features.rst",
            category="Features",
        ),
        qc=report(
            RESULTS / "group" / "{modality}_qc.tsv",
            caption="../report/qc.rst",
            category="Quality control",
        ),
    log:
        RESULTS / "logs" / "collect_{modality}.log",
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cli=PSYMODAL,
    shell:
        "({params.cli} collect {output.features} {input.features} &&"
        " {params.cli} collect {output.qc} {input.qc}) > {log} 2>&1"


rule learn:
    input:
        participants=BIDS / "participants.tsv",
        features=expand(
            RESULTS / "group" / "{modality}_features.tsv", modality=PLAN.modalities
        ),
        qc=expand(RESULTS / "group" / "{modality}_qc.tsv", modality=PLAN.modalities),
    output:
        metrics=report(
            RESULTS / "learn" / "metrics.tsv",
            caption="../report/metrics.rst",
            category="Classification",
        ),
        predictions=RESULTS / "learn" / "predictions.tsv",
        exclusions=RESULTS / "learn" / "exclusions.tsv",
    log:
        RESULTS / "logs" / "learn.log",
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        cli=PSYMODAL,
        features=" ".join(
            f"{m}={RESULTS / 'group' / f'{m}_features.tsv'}" for m in PLAN.modalities
        ),
        qc=" ".join(f"{m}={RESULTS / 'group' / f'{m}_qc.tsv'}" for m in PLAN.modalities),
        settings=settings_json("learn"),
    shell:
        "{params.cli} learn --participants {input.participants} --features {params.features}"
        " --qc {params.qc} --out-dir {RESULTS}/learn --settings {params.settings} > {log} 2>&1"


rule derivatives_description:
    output:
        RESULTS / "dataset_description.json",
    log:
        RESULTS / "logs" / "derivatives_description.log",
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        cli=PSYMODAL,
    shell:
        "{params.cli} describe {RESULTS} > {log} 2>&1"
