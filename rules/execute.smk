# Grade one shard of samples in the sandbox (src/monkeys/execution; README, "Sandbox").
# The job runs in the workflow image under `--sdm apptainer` (`container:` below); there the
# `process` isolation level jails every candidate inside that container. `threads` is the
# number of fork servers; memory covers each worker's per-candidate address-space limit.
rule execute_shard:
    input:
        problems=execute_problems,
        samples="results/samples/{model}/{dataset}/{shard}.parquet",
        strong_tests=strong_tests_input,
        time_limits=time_limits_input,
    output:
        "results/verdicts/{model}/{dataset}/{shard}.parquet",
    log:
        "logs/execute_shard/{model}/{dataset}/{shard}.log",
    benchmark:
        "results/benchmarks/execute_shard/{model}/{dataset}/{shard}.tsv"
    container:
        config["container"]
    threads: execute_threads
    resources:
        mem_mb=lambda wc, threads: 1024
        + threads * (config["execution"]["memory_mb"] + config["execution"]["disk_mb"]),
        runtime=config["execution"]["runtime_min"],
    params:
        execution=config["execution"],
        grading=math_grading,
        # an import model's `regrade`: its labels decide the verdicts unless true
        regrade=_sampling_rules.import_regrade(config),
        code=execute_code,
    script:
        "../workflow_scripts/execute_shard.py"


# Reference timings that calibrate the candidates' time limits (README, "Time limits";
# monkeys.execution.time_limits): each selected problem's reference runs `repeats` times per
# suite in the sandbox. Floor, factor and ceiling are applied by execute_shard, so changing
# them reruns execution only.
rule calibrate_limits:
    input:
        problems="results/datasets/{dataset}/problems.parquet",
        strong_tests=strong_tests_input,
    output:
        "results/datasets/{dataset}/time_limits.parquet",
    log:
        "logs/calibrate_limits/{dataset}.log",
    benchmark:
        "results/benchmarks/calibrate_limits/{dataset}.tsv"
    container:
        config["container"]
    threads: config["execution"]["workers"]
    resources:
        mem_mb=lambda wc, threads: 1024
        + threads * (config["execution"]["memory_mb"] + config["execution"]["disk_mb"]),
        runtime=30,
    params:
        sandbox={
            k: v
            for k, v in config["execution"].items()
            if k
            in (
                "memory_mb",
                "file_size_mb",
                "max_processes",
                "isolation",
                "image",
                "disk_mb",
            )
        },
        selection=lambda wc: {
            k: v
            for k, v in config["datasets"][wc.dataset].items()
            if k in ("problems", "limit")
        },
        repeats=config["execution"]["time_limit"]["repeats"],
        code=CODE["calibrate_limits"],
    script:
        "../workflow_scripts/calibrate_limits.py"


# How our grader agrees with an import model's labels (results/import_agreement, README "import").
rule import_agreement:
    input:
        samples=shards_of("samples"),
        verdicts=shards_of("verdicts"),
    output:
        "results/import_agreement/{model}/{dataset}.parquet",
    log:
        "logs/import_agreement/{model}/{dataset}.log",
    resources:
        mem_mb=2048,
    params:
        regrade=_sampling_rules.import_regrade(config),
        code=CODE["import_agreement"],
    script:
        "../workflow_scripts/import_agreement.py"
