rule sample_shard:
    input:
        problems="results/datasets/{dataset}/problems.parquet",
        weights="results/models/{model}/weights.json",
    output:
        "results/samples/{model}/{dataset}/{shard}.parquet",
    params:
        model_spec=lambda wc: config["models"][wc.model],
        selection=lambda wc: config["datasets"][wc.dataset],
        sampling=lambda wc: {k: v for k, v in config["sampling"].items()
                             if k not in ("num_samples", "samples_per_shard")},
        seed=config["seed"],
        shard=shard_range,
        code=CODE["sample"],
    threads: lambda wc: config["models"][wc.model]["threads"]
    resources:
        mem_mb=4096,
        runtime=120,
    log:
        "logs/sample_shard/{model}/{dataset}/{shard}.log",
    benchmark:
        "results/benchmarks/sample_shard/{model}/{dataset}/{shard}.tsv"
    script:
        "../workflow_scripts/sample_shard.py"
