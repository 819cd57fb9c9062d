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
    params:
        registry=lambda wc: config["datasets"][wc.dataset].get("registry", wc.dataset),
        source=lambda wc: config["datasets"][wc.dataset].get("source"),
        source_version=lambda wc: entry_source_version(config["datasets"][wc.dataset], wc.dataset),
        prompt=lambda wc: config["datasets"][wc.dataset].get("prompt"),
        allow_skip=lambda wc: bool(config["datasets"][wc.dataset].get("allow_skip", False)),
        code=CODE["fetch_dataset"],
    log:
        "logs/fetch_dataset/{dataset}.log",
    script:
        "../workflow_scripts/fetch_dataset.py"


rule fetch_model:
    output:
        "results/models/{model}/weights.json",
    params:
        weights=lambda wc: config["models"][wc.model]["weights"],
        code=CODE["fetch_model"],
    resources:
        mem_mb=2048,
        runtime=30,
    log:
        "logs/fetch_model/{model}.log",
    script:
        "../workflow_scripts/fetch_model.py"
