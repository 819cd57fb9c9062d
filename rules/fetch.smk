localrules:
    fetch_dataset,


rule fetch_dataset:
    output:
        "results/datasets/{dataset}/problems.parquet",
    params:
        registry=lambda wc: config["datasets"][wc.dataset].get("registry", wc.dataset),
        source=lambda wc: config["datasets"][wc.dataset].get("source"),
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
