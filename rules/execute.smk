# Grade one shard of samples in the sandbox (src/monkeys/execution; README, "Sandbox").
# The job runs in the workflow image under `--sdm apptainer` (`container:` below); there the
# `process` isolation level jails every candidate inside that container. `threads` is the
# number of fork servers; memory covers each worker's per-candidate address-space limit.
rule execute_shard:
    input:
        problems="results/datasets/{dataset}/problems.parquet",
        samples="results/samples/{model}/{dataset}/{shard}.parquet",
        strong_tests=strong_tests_input,
    output:
        "results/verdicts/{model}/{dataset}/{shard}.parquet",
    params:
        execution=config["execution"],
        code=CODE["execute"],
    threads: config["execution"]["workers"]
    resources:
        mem_mb=lambda wc, threads: 1024 + threads * (config["execution"]["memory_mb"]
                                                     + config["execution"]["disk_mb"]),
        runtime=config["execution"]["runtime_min"],
    container:
        config["container"]
    log:
        "logs/execute_shard/{model}/{dataset}/{shard}.log",
    benchmark:
        "results/benchmarks/execute_shard/{model}/{dataset}/{shard}.tsv"
    script:
        "../workflow_scripts/execute_shard.py"
