rule execute_shard:
    input:
        problems="results/datasets/{dataset}/problems.parquet",
        samples="results/samples/{model}/{dataset}/{shard}.parquet",
    output:
        "results/verdicts/{model}/{dataset}/{shard}.parquet",
    params:
        execution=config["execution"],
        code=CODE["execute"],
    threads: config["execution"]["workers"]
    resources:
        mem_mb=lambda wc, threads: 1024 + threads * config["execution"]["memory_mb"],
        runtime=60,
    log:
        "logs/execute_shard/{model}/{dataset}/{shard}.log",
    benchmark:
        "results/benchmarks/execute_shard/{model}/{dataset}/{shard}.tsv"
    script:
        "../workflow_scripts/execute_shard.py"
