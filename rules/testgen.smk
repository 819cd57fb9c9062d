# Generated strong tests (EvalPlus-style input mutation) for code datasets with reference
# solutions: `snakemake results/datasets/humaneval/strong_tests.parquet`. Seeded by the
# global seed and each problem id, so a problem's tests do not depend on the selection.


rule generate_tests:
    input:
        problems="results/datasets/{dataset}/problems.parquet",
    output:
        "results/datasets/{dataset}/strong_tests.parquet",
    log:
        "logs/generate_tests/{dataset}.log",
    benchmark:
        "results/benchmarks/generate_tests/{dataset}.tsv"
    threads: config["execution"]["workers"]
    resources:
        mem_mb=lambda wc, threads: 1024 + threads * config["execution"]["memory_mb"],
        runtime=60,
    params:
        seed=config["seed"],
        selection=lambda wc: {
            k: v
            for k, v in config["datasets"][wc.dataset].items()
            if k in ("problems", "limit")
        },
        settings=lambda wc: config["datasets"][wc.dataset].get("strong_tests", {}),
        memory_mb=config["execution"]["memory_mb"],
        code=code("testgen", "generate_tests"),
    script:
        "../workflow_scripts/generate_tests.py"
