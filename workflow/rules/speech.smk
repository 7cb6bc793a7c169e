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
        subjects=lambda wc: " ".join(PLAN.batch(wc.batch)),
        settings=settings_json("speech"),
        bids=BIDS,
        outdir=SPEECH,
        batchdir=SPEECH / "group" / "batches",
    shell:
        "{params.cli} speech --subjects {params.subjects} --bids-dir {params.bids}"
        " --out-dir {params.outdir} --batch-dir {params.batchdir} --batch {wildcards.batch}"
        " --settings {params.settings} > {log} 2>&1"
