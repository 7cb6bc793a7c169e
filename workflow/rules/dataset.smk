if PLAN.is_demo:

    rule demo_dataset:
        output:
            flag=PLAN.demo_flag,
            participants=BIDS / "participants.tsv",
        log:
            BIDS / "code" / "logs" / "demo_dataset.log",
        conda:
            "../../envs/demo.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            cli=PSYMODAL,
            args=lambda wc: shlex.join(commands.demo_command(PLAN.config, BIDS)),
        shell:
            "{params.cli} {params.args} > {log:q} 2>&1"


if PLAN.source == "timeseries":

    # A non-BIDS phenotype table (e.g. ABIDE's) becomes the participants.tsv that learning reads.
    rule import_participants:
        input:
            PLAN.participants_source,
        output:
            PLAN.participants_tsv,
        log:
            RESULTS / "logs" / "import_participants.log",
        conda:
            "../../envs/mri.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            cli=PSYMODAL,
            args=lambda wc, output: shlex.join(
                commands.import_participants_command(PLAN.config, output[0])
            ),
        shell:
            "{params.cli} {params.args} > {log:q} 2>&1"
