rule report_figures:
    input:
        metrics=RUN / "learn" / "metrics.tsv",
        predictions=RUN / "learn" / "predictions.tsv",
        null=RUN / "learn" / "permutation_null.tsv",
        importance=learn_optional_outputs().values(),
        qc=[PLAN.group_table(m, "qc") for m in PLAN.modalities],
    output:
        roc=report(
            RUN / "figures" / "roc_curves.png",
            caption="../report/roc.rst",
            category="Classification",
        ),
        auc=report(
            RUN / "figures" / "auc_summary.png",
            caption="../report/auc_summary.rst",
            category="Classification",
        ),
        table=report(
            RUN / "figures" / "metrics_table.html",
            caption="../report/metrics_table.rst",
            category="Classification",
        ),
        qc=report(
            RUN / "figures" / "qc_summary.png",
            caption="../report/qc_summary.rst",
            category="Quality control",
        ),
        null=report(
            RUN / "figures" / "permutation_null.png",
            caption="../report/permutation_null.rst",
            category="Classification",
        ),
        importance=report(
            RUN / "figures" / "feature_importance.png",
            caption="../report/feature_importance.rst",
            category="Explanations",
        ),
    log:
        RUN / "logs" / "report_figures.log",
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cli=PSYMODAL,
        run=RUN,
        outdir=RUN / "figures",
        qc=" ".join(f"{m}={PLAN.group_table(m, 'qc')}" for m in PLAN.modalities),
        mri=settings_json("mri"),
        speech=settings_json("speech"),
    shell:
        "{params.cli} figures {params.run} --out-dir {params.outdir} --qc {params.qc}"
        " --mri-settings {params.mri} --speech-settings {params.speech} > {log} 2>&1"


if CONNECTOME_FIGURES:

    rule connectome_figures:
        input:
            importance=RUN / "learn" / "importance.tsv",
            atlas=MRI / "atlas" / f"atlas-{PLAN.atlas_name}_dseg.tsv",
        output:
            edges=report(
                RUN / "figures" / "connectome_top_edges.png",
                caption="../report/connectome.rst",
                category="Explanations",
            ),
            regions=report(
                RUN / "figures" / "region_importance.png",
                caption="../report/region_importance.rst",
                category="Explanations",
            ),
        log:
            RUN / "logs" / "connectome_figures.log",
        conda:
            "../../envs/learn.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            cli=PSYMODAL,
            run=RUN,
            outdir=RUN / "figures",
            top_k=20,
        shell:
            "{params.cli} connectome-figures {params.run} --atlas-labels {input.atlas}"
            " --out-dir {params.outdir} --top-k {params.top_k} > {log} 2>&1"


if QC_GALLERIES:

    rule qc_gallery:
        input:
            qc=lambda wc: PLAN.group_table(wc.modality, "qc"),
        output:
            report(
                RUN / "figures" / "{modality}_qc_gallery.html",
                caption="../report/qc_gallery.rst",
                category="Quality control",
            ),
        log:
            RUN / "logs" / "qc_gallery_{modality}.log",
        wildcard_constraints:
            modality="|".join(QC_GALLERIES),
        conda:
            "../../envs/psymodal.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            cli=PSYMODAL,
            stage=lambda wc: PLAN.stage_dir(MODALITY_STAGE[wc.modality]),
        shell:
            "{params.cli} qc-gallery {input.qc} --modality {wildcards.modality}"
            " --stage-dir {params.stage} --out {output} > {log} 2>&1"


# The full environment, so that the recorded versions are those the audit compares.
rule manifest:
    input:
        metrics=RUN / "learn" / "metrics.tsv",
        description=RUN / "dataset_description.json",
        config=RUN / "provenance" / "config.yaml",
        figures=rules.report_figures.output,
        connectome=connectome_figures(),
        galleries=qc_galleries(),
        stages=[PLAN.stage_dir(s) / "dataset_description.json" for s in PLAN.stages],
    output:
        report(
            RUN / "provenance" / "manifest.json",
            caption="../report/manifest.rst",
            category="Provenance",
        ),
    log:
        RUN / "logs" / "manifest.log",
    conda:
        "../../envs/psymodal.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        cli=PSYMODAL,
        results=RESULTS,
        run=RUN,
        stages=" ".join(f"{s}={PLAN.stage_dir(s)}" for s in PLAN.stages),
    shell:
        "{params.cli} manifest {params.results} --run-dir {params.run}"
        " --stage-dirs {params.stages} > {log} 2>&1"


# `snakemake audit`: verify the latest run against its manifest (never cached: always runs).
rule audit:
    input:
        RUN / "provenance" / "manifest.json",
    log:
        RUN / "logs" / "audit.log",
    conda:
        "../../envs/psymodal.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        cli=PSYMODAL,
        results=RESULTS,
    shell:
        "{params.cli} audit {params.results} 2>&1 | tee {log}"
