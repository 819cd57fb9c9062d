localrules:
    fetch_dataset,


from monkeys.datasets.registry import entry_source_version
from monkeys.datasets.sources import source_inputs


rule fetch_dataset:
    input:
        # a local source file (or a directory's data files): editing it reruns the fetch
        lambda wc: source_inputs(config["datasets"][wc.dataset].get("source")),
    output:
        problems="results/datasets/{dataset}/problems.parquet",
        skipped="results/datasets/{dataset}/skipped_rows.parquet",
    log:
        "logs/fetch_dataset/{dataset}.log",
    params:
        registry=lambda wc: config["datasets"][wc.dataset].get("registry", wc.dataset),
        source=lambda wc: config["datasets"][wc.dataset].get("source"),
        source_version=lambda wc: entry_source_version(
            config["datasets"][wc.dataset], wc.dataset
        ),
        prompt=lambda wc: config["datasets"][wc.dataset].get("prompt"),
        allow_skip=lambda wc: bool(
            config["datasets"][wc.dataset].get("allow_skip", False)
        ),
        code=CODE["fetch_dataset"],
    script:
        "../workflow_scripts/fetch_dataset.py"


rule fetch_model:
    output:
        "results/models/{model}/weights.json",
    log:
        "logs/fetch_model/{model}.log",
    resources:
        mem_mb=2048,
        runtime=30,
    params:
        weights=lambda wc: config["models"][wc.model]["weights"],
        code=CODE["fetch_model"],
    script:
        "../workflow_scripts/fetch_model.py"


# CodeContests false negatives (Large Language Monkeys): each problem's Python 3 reference
# solutions, from the dataset's source, run against all its tests; tests that reject one are
# listed (reference_check.parquet) and left out of problems_checked.parquet, which
# execute_shard grades against with the dataset's `drop_false_negative_tests: true`.
rule reference_check:
    input:
        problems="results/datasets/{dataset}/problems.parquet",
        source=lambda wc: source_inputs(config["datasets"][wc.dataset].get("source")),
    output:
        table="results/datasets/{dataset}/reference_check.parquet",
        problems="results/datasets/{dataset}/problems_checked.parquet",
    log:
        "logs/reference_check/{dataset}.log",
    benchmark:
        "results/benchmarks/reference_check/{dataset}.tsv"
    threads: config["execution"]["workers"]
    resources:
        mem_mb=lambda wc, threads: 1024 + threads * config["execution"]["memory_mb"],
        runtime=60,
    params:
        registry=lambda wc: config["datasets"][wc.dataset].get("registry", wc.dataset),
        source=lambda wc: config["datasets"][wc.dataset].get("source"),
        source_version=lambda wc: entry_source_version(
            config["datasets"][wc.dataset], wc.dataset
        ),
        selection=lambda wc: {
            k: v
            for k, v in config["datasets"][wc.dataset].items()
            if k in ("problems", "limit")
        },
        settings=lambda wc: config["datasets"][wc.dataset].get("reference_check", {}),
        execution={
            k: config["execution"][k]
            for k in ("memory_mb", "file_size_mb", "max_processes")
        },
        code=CODE["reference_check"],
    script:
        "../workflow_scripts/reference_check.py"
