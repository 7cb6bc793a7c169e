from psymodal.learn.paths import learn_dir, learn_file, predict_dir, predict_outputs

LEARN = learn_dir(RUN)


rule learn:
    input:
        participants=PLAN.participants_tsv,
        features=[PLAN.group_table(m, "features") for m in PLAN.modalities],
        qc=[PLAN.group_table(m, "qc") for m in PLAN.modalities],
    output:
        **learn_optional_outputs(),
        metrics=report(
            learn_file(LEARN, "metrics"),
            caption="../report/metrics.rst",
            category="Classification",
        ),
        predictions=learn_file(LEARN, "predictions"),
        exclusions=learn_file(LEARN, "exclusions"),
        calibration=learn_file(LEARN, "calibration"),
        permutation_null=learn_file(LEARN, "permutation_null"),
        membership_inference=report(
            learn_file(LEARN, "membership_inference"),
            caption="../report/membership_inference.rst",
            category="Privacy",
        ),
        hyperparameters=learn_file(LEARN, "hyperparameters"),
        run_info=learn_file(LEARN, "run_info"),
    log:
        RUN / "logs" / "learn.log",
    conda:
        "../../envs/learn.yaml"
    # the last stage to run: its folds and permutations take the run's cores
    threads: learn_threads()
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        cli=PSYMODAL,
        args=lambda wc, threads: shlex.join(
            commands.learn_command(
                PLAN.config,
                PLAN.participants_tsv,
                {m: PLAN.group_table(m, "features") for m in PLAN.modalities},
                {m: PLAN.group_table(m, "qc") for m in PLAN.modalities},
                LEARN,
                n_jobs=threads,
            )
        ),
    shell:
        "{params.cli} {params.args} > {log:q} 2>&1"


# `snakemake predict` (not part of `all`): a saved model (predict.model, the learn folder of
# another run with learn.save_model) applied to this study's group tables. Features other than
# the model's stop it with the differences named; unseen sites are recorded in notes.txt.
if PLAN.config["predict"]["model"] is not None:
    _MODEL = Path(PLAN.config["predict"]["model"])
    _MODEL_DIR = _MODEL.parent if _MODEL.suffix == ".joblib" else _MODEL
    PREDICT = predict_dir(RUN, _MODEL)

    rule predict:
        input:
            model=_MODEL_DIR / "model.joblib",
            model_info=_MODEL_DIR / "model.json",
            participants=PLAN.participants_tsv,
            features=[PLAN.group_table(m, "features") for m in PLAN.modalities],
            qc=[PLAN.group_table(m, "qc") for m in PLAN.modalities],
        output:
            **predict_outputs(PREDICT),
        log:
            RUN / "logs" / f"predict-{PREDICT.name}.log",
        conda:
            "../../envs/learn.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            cli=PSYMODAL,
            args=shlex.join(
                commands.predict_command(
                    PLAN.config,
                    PLAN.participants_tsv,
                    {m: PLAN.group_table(m, "features") for m in PLAN.modalities},
                    {m: PLAN.group_table(m, "qc") for m in PLAN.modalities},
                    PREDICT,
                )
            ),
        shell:
            "{params.cli} {params.args} > {log:q} 2>&1"


# The pointer to the newest finished run; earlier runs stay in runs/.
rule point_latest:
    input:
        RUN / "provenance" / "manifest.json",
    output:
        RESULTS / "LATEST",
    log:
        RUN / "logs" / "point_latest.log",
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=100,
        runtime=1,
    params:
        label=PLAN.run_label,
        link=RESULTS / "latest",
        tmp=f"{RESULTS / 'LATEST'}.tmp",
    shell:
        "(echo {params.label:q} > {params.tmp:q} && mv {params.tmp:q} {output:q}"
        " && ln -sfn runs/{params.label:q} {params.link:q}) > {log:q} 2>&1"


rule record_config:
    output:
        RUN / "provenance" / "config.yaml",
    log:
        RUN / "logs" / "record_config.log",
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=200,
        runtime=1,
    params:
        cli=PSYMODAL,
        config=settings_json(),
    shell:
        "{params.cli} record-config --config {params.config} > {log:q} 2>&1"
