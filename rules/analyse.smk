localrules:
    aggregate,
    coverage,
    fit,
    verifiers,
    flaws,
    cost,
    selection,
    verification_gap,
    family,
    style,


rule aggregate:
    input:
        samples=shards_of("samples"),
        verdicts=shards_of("verdicts"),
    output:
        "results/counts/{model}/{dataset}.parquet",
    log:
        "logs/aggregate/{model}/{dataset}.log",
    params:
        code=CODE["aggregate"],
    script:
        "../workflow_scripts/aggregate.py"


rule coverage:
    input:
        "results/counts/{model}/{dataset}.parquet",
    output:
        "results/coverage/{model}/{dataset}.parquet",
    log:
        "logs/coverage/{model}/{dataset}.log",
    params:
        analysis=analysis_keys("bootstrap_resamples", "confidence"),
        seed=config["seed"],
        code=CODE["coverage"],
    script:
        "../workflow_scripts/coverage.py"


rule fit:
    input:
        counts="results/counts/{model}/{dataset}.parquet",
        coverage="results/coverage/{model}/{dataset}.parquet",
    output:
        "results/fits/{model}/{dataset}.parquet",
    log:
        "logs/fit/{model}/{dataset}.log",
    params:
        analysis=analysis_keys(
            "fit_k_min", "extrapolate_to", "fit_resamples", "confidence"
        ),
        seed=config["seed"],
        code=CODE["fit"],
    script:
        "../workflow_scripts/fit.py"


rule verifiers:
    input:
        "results/counts/{model}/{dataset}.parquet",
    output:
        curves="results/verifiers/{model}/{dataset}.parquet",
        utility="results/utility/{model}/{dataset}.parquet",
    log:
        "logs/verifiers/{model}/{dataset}.log",
    params:
        analysis=analysis_keys(
            "false_positive_costs", "bootstrap_resamples", "confidence"
        ),
        seed=config["seed"],
        code=CODE["verifiers"],
    script:
        "../workflow_scripts/verifiers.py"


rule flaws:
    input:
        expand("results/counts/{model}/{{dataset}}.parquet", model=MODELS),
    output:
        table="results/flaws/{dataset}.parquet",
        fit="results/flaws_fit/{dataset}.parquet",
    log:
        "logs/flaws/{dataset}.log",
    params:
        code=CODE["flaws"],
    script:
        "../workflow_scripts/flaws.py"


rule cost:
    input:
        coverage=expand("results/coverage/{model}/{{dataset}}.parquet", model=MODELS),
        counts=expand("results/counts/{model}/{{dataset}}.parquet", model=MODELS),
    output:
        "results/cost/{dataset}.parquet",
    log:
        "logs/cost/{dataset}.log",
    params:
        models=cost_specs(),
        code=CODE["cost"],
    script:
        "../workflow_scripts/cost.py"


rule selection:
    input:
        samples=shards_of("samples"),
        verdicts=shards_of("verdicts"),
        scores=selection_scores,
    output:
        "results/selection/{model}/{dataset}.parquet",
    log:
        "logs/selection/{model}/{dataset}.log",
    params:
        analysis=analysis_keys("vote_draws", "score"),
        seed=config["seed"],
        code=CODE["selection"],
    script:
        "../workflow_scripts/selection.py"


rule verification_gap:
    input:
        selection=expand("results/selection/{model}/{{dataset}}.parquet", model=MODELS),
        counts=expand("results/counts/{model}/{{dataset}}.parquet", model=MODELS),
        samples=expand(
            "results/samples/{model}/{{dataset}}/{shard}.parquet",
            model=MODELS,
            shard=SHARDS,
        ),
        verdicts=expand(
            "results/verdicts/{model}/{{dataset}}/{shard}.parquet",
            model=MODELS,
            shard=SHARDS,
        ),
    output:
        curves="results/verification_gap/{dataset}.parquet",
        problems="results/verification_gap_problems/{dataset}.parquet",
        summary="results/verification_gap_summary/{dataset}.parquet",
    log:
        "logs/verification_gap/{dataset}.log",
    params:
        max_tokens=config["sampling"]["max_tokens"],
        code=CODE["verification_gap"],
    script:
        "../workflow_scripts/verification_gap.py"


rule family:
    input:
        expand("results/coverage/{model}/{{dataset}}.parquet", model=family_members()),
    output:
        "results/family/{dataset}.parquet",
    log:
        "logs/family/{dataset}.log",
    params:
        families=lambda wc: {m: config["models"][m]["family"] for m in family_members()},
        sizes=lambda wc: {
            m: config["models"][m].get("params_billions", 0.0)
            for m in family_members()
        },
        code=CODE["family"],
    script:
        "../workflow_scripts/family.py"


rule style:
    input:
        problems="results/datasets/{dataset}/problems.parquet",
        samples=shards_of("samples"),
        verdicts=shards_of("verdicts"),
    output:
        summary="results/style/{model}/{dataset}.parquet",
        rules="results/style_rules/{model}/{dataset}.parquet",
    log:
        "logs/style/{model}/{dataset}.log",
    benchmark:
        "results/benchmarks/style/{model}/{dataset}.tsv"
    params:
        analysis=analysis_keys("lint_select", "bootstrap_resamples", "confidence"),
        seed=config["seed"],
        ruff=ruff_version(),
        code=CODE["style"],
    script:
        "../workflow_scripts/style.py"
