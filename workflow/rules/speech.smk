rule speech_batch:
    input:
        data=lambda wc: dataset_inputs(PLAN.batch(wc.batch), "speech"),
    output:
        batch_outputs("speech"),
    log:
        SPEECH / "logs" / "speech_batch-{batch}.log",
    conda:
        "../../envs/speech.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=batch_runtime,
    params:
        cli=PSYMODAL,
        args=lambda wc: shlex.join(
            commands.speech_command(
                PLAN.config,
                PLAN.batch(wc.batch),
                BIDS,
                SPEECH,
                batch=wc.batch,
                batch_dir=batch_dir(SPEECH),
            )
        ),
    shell:
        "{params.cli} {params.args} > {log:q} 2>&1"
