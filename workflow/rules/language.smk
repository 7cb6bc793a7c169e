rule language_batch:
    input:
        data=lambda wc: dataset_inputs(PLAN.batch(wc.batch), "language"),
    output:
        batch_outputs("language"),
    log:
        LANGUAGE / "logs" / "language_batch-{batch}.log",
    conda:
        "../../envs/language.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=batch_runtime,
    params:
        cli=PSYMODAL,
        args=lambda wc: shlex.join(
            commands.language_command(
                PLAN.config,
                PLAN.batch(wc.batch),
                BIDS,
                LANGUAGE,
                batch=wc.batch,
                batch_dir=batch_dir(LANGUAGE),
            )
        ),
    shell:
        "{params.cli} {params.args} > {log:q} 2>&1"
