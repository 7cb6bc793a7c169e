from psymodal.report.paths import (
    connectome_figure,
    figures_dir,
    qc_gallery_file,
    qc_gallery_pages,
    report_figure,
)

FIGURES_DIR = figures_dir(RUN)


rule report_figures:
    input:
        metrics=learn_file(LEARN, "metrics"),
        predictions=learn_file(LEARN, "predictions"),
        null=learn_file(LEARN, "permutation_null"),
        # the epsilon of differentially private models, shown on the landing page
        run_info=learn_file(LEARN, "run_info"),
        membership=learn_file(LEARN, "membership_inference"),
        importance=learn_optional_outputs().values(),
        qc=[PLAN.group_table(m, "qc") for m in PLAN.modalities],
    output:
        roc=report(
            report_figure(FIGURES_DIR, "roc"),
            caption="../report/roc.rst",
            category="Classification",
        ),
        auc=report(
            report_figure(FIGURES_DIR, "auc"),
            caption="../report/auc_summary.rst",
            category="Classification",
        ),
        table=report(
            report_figure(FIGURES_DIR, "table"),
            caption="../report/metrics_table.rst",
            category="Classification",
        ),
        qc=report(
            report_figure(FIGURES_DIR, "qc"),
            caption="../report/qc_summary.rst",
            category="Quality control",
        ),
        null=report(
            report_figure(FIGURES_DIR, "null"),
            caption="../report/permutation_null.rst",
            category="Classification",
        ),
        importance=report(
            report_figure(FIGURES_DIR, "importance"),
            caption="../report/feature_importance.rst",
            category="Explanations",
        ),
        confusion=report(
            report_figure(FIGURES_DIR, "confusion"),
            caption="../report/confusion.rst",
            category="Classification",
        ),
        privacy=report(
            report_figure(FIGURES_DIR, "privacy"),
            caption="../report/privacy_attacks.rst",
            category="Privacy",
        ),
        privacy_table=report(
            report_figure(FIGURES_DIR, "privacy_table"),
            caption="../report/privacy_table.rst",
            category="Privacy",
        ),
        # the report's landing page (the Snakefile's report description)
        study=report_figure(FIGURES_DIR, "study"),
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
        outdir=FIGURES_DIR,
        qc=[f"{m}={PLAN.group_table(m, 'qc')}" for m in PLAN.modalities],
        mri=settings_json("mri"),
        speech=settings_json("speech"),
    shell:
        "{params.cli} figures {params.run:q} --out-dir {params.outdir:q} --qc {params.qc:q}"
        " --mri-settings {params.mri} --speech-settings {params.speech} > {log:q} 2>&1"


if CONNECTOME_FIGURES:

    rule connectome_figures:
        input:
            importance=learn_file(LEARN, "importance"),
            atlas=ATLAS_TSV,
        output:
            edges=report(
                connectome_figure(FIGURES_DIR, "edges"),
                caption="../report/connectome.rst",
                category="Explanations",
            ),
            regions=report(
                connectome_figure(FIGURES_DIR, "regions"),
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
            outdir=FIGURES_DIR,
            top_k=20,
        shell:
            "{params.cli} connectome-figures {params.run:q} --atlas-labels {input.atlas:q}"
            " --out-dir {params.outdir:q} --top-k {params.top_k} > {log:q} 2>&1"


if QC_GALLERIES:

    rule qc_gallery:
        input:
            qc=lambda wc: PLAN.group_table(wc.modality, "qc"),
        output:
            page=report(
                qc_gallery_file(FIGURES_DIR, "{modality}"),
                caption="../report/qc_gallery.rst",
                category="Quality control",
            ),
            # the next pages, when the figures do not fit one (each page is one data URL of
            # the single-file report, which Chromium loads only under 2 MB)
            pages=report(
                directory(qc_gallery_pages(FIGURES_DIR, "{modality}")),
                patterns=["page-{page}.html"],
                caption="../report/qc_gallery_page.rst",
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
            "{params.cli} qc-gallery {input.qc:q} --modality {wildcards.modality}"
            " --stage-dir {params.stage:q} --out {output.page:q} --pages-dir {output.pages:q}"
            " > {log:q} 2>&1"


# The full environment, so that the recorded versions are those the audit compares.
rule manifest:
    input:
        metrics=learn_file(LEARN, "metrics"),
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
        stages=[f"{s}={PLAN.stage_dir(s)}" for s in PLAN.stages],
    shell:
        "{params.cli} manifest {params.results:q} --run-dir {params.run:q}"
        " --stage-dirs {params.stages:q} > {log:q} 2>&1"


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
        "{params.cli} audit {params.results:q} 2>&1 | tee {log:q}"


# The run digest (sha256 of the manifest), printed last: the lab copies it into its own records,
# where a forger cannot reach it, and checks a results folder with `psymodal audit --expect`.
onsuccess:
    digest_file = RUN / "provenance" / "manifest.sha256"
    if digest_file.is_file():
        digest = digest_file.read_text().strip()
        print(f"run digest: {digest}")
        print(
            f"  record it; later: psymodal audit {shlex.quote(str(RESULTS))} --expect {digest}"
        )
