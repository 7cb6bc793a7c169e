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
            bids=BIDS,
            settings=shlex.quote(
                json.dumps(config["dataset"].get("demo", {}), sort_keys=True)
            ),
        shell:
            "{params.cli} demo {params.bids} --settings {params.settings} > {log} 2>&1"
