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
    params:
        cli=PSYMODAL,
    log:
        RESULTS / "logs" / "collect_{modality}.log",
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "({params.cli} collect {output.features} {input.features} &&"
        " {params.cli} collect {output.qc} {input.qc}) > {log} 2>&1"


rule learn:
    input:
        participants=BIDS / "participants.tsv",
        features=expand(RESULTS / "group" / "{modality}_features.tsv", modality=PLAN.modalities),
        qc=expand(RESULTS / "group" / "{modality}_qc.tsv", modality=PLAN.modalities),
    output:
        metrics=report(
            RESULTS / "learn" / "metrics.tsv",
            caption="../report/metrics.rst",
            category="Classification",
        ),
        predictions=RESULTS / "learn" / "predictions.tsv",
        exclusions=RESULTS / "learn" / "exclusions.tsv",
    params:
        cli=PSYMODAL,
        features=" ".join(
            f"{m}={RESULTS / 'group' / f'{m}_features.tsv'}" for m in PLAN.modalities
        ),
        qc=" ".join(f"{m}={RESULTS / 'group' / f'{m}_qc.tsv'}" for m in PLAN.modalities),
        settings=settings_json("learn"),
    log:
        RESULTS / "logs" / "learn.log",
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "{params.cli} learn --participants {input.participants} --features {params.features}"
        " --qc {params.qc} --out-dir {RESULTS}/learn --settings {params.settings} > {log} 2>&1"


rule derivatives_description:
    output:
        RESULTS / "dataset_description.json",
    params:
        cli=PSYMODAL,
    log:
        RESULTS / "logs" / "derivatives_description.log",
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "{params.cli} describe {RESULTS} > {log} 2>&1"
