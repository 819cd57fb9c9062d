# Scores for verifier-based selection: a reward model or an LM judge scores every sample
# (config `scorers`; README, "Scorers"). Helpers live in the library (snakemake --lint):
# scoring_resource(wc, key, default) reads scorers.<scorer>.resources (a vllm scorer asks for
# vllm.tensor_parallel_size GPUs by default); scorer_weights(wc) is a vllm scorer's manifest;
# selection_scores(wc) is what rule selection reads for `analysis.score`.
from monkeys.scoring.rules import score_choice_problem as _score_choice_problem
from monkeys.scoring.rules import scorer_weights as _scorer_weights
from monkeys.scoring.rules import scoring_resources as _scoring_resources
from monkeys.scoring.rules import selection_scores as _selection_scores

if _score_choice_problem(config):
    raise WorkflowError(_score_choice_problem(config))

scoring_resource = _scoring_resources(config)
scorer_weights = _scorer_weights(config)
selection_scores = _selection_scores(config, SHARDS)


rule fetch_scorer:
    output:
        "results/scorers/{scorer}/weights.json",
    log:
        "logs/fetch_scorer/{scorer}.log",
    wildcard_constraints:
        scorer=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    resources:
        mem_mb=2048,
        runtime=30,
    params:
        weights=lambda wc: config["scorers"][wc.scorer]["weights"],
        code=CODE["fetch_model"],
    script:
        "../workflow_scripts/fetch_model.py"


rule score_shard:
    input:
        samples="results/samples/{model}/{dataset}/{shard}.parquet",
        problems="results/datasets/{dataset}/problems.parquet",
        weights=scorer_weights,
    output:
        "results/scores/{scorer}/{model}/{dataset}/{shard}.parquet",
    log:
        "logs/score_shard/{scorer}/{model}/{dataset}/{shard}.log",
    benchmark:
        "results/benchmarks/score_shard/{scorer}/{model}/{dataset}/{shard}.tsv"
    wildcard_constraints:
        scorer=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    threads: lambda wc: config["scorers"][wc.scorer]["threads"]
    resources:
        # From the scorer's `resources` (config/schema.yaml), as sample_shard's from the model's.
        gpu=lambda wc: scoring_resource(wc, "gpu", 0),
        gpu_model=lambda wc: scoring_resource(wc, "gpu_model"),
        cpus_per_gpu=lambda wc: scoring_resource(wc, "cpus_per_gpu"),
        mem_mb=lambda wc: scoring_resource(wc, "mem_mb", 4096),
        runtime=lambda wc: scoring_resource(wc, "runtime", 120),
    params:
        # Without `resources`: what a job asks the cluster for does not change the scores.
        scorer_spec=lambda wc: {
            k: v for k, v in config["scorers"][wc.scorer].items() if k != "resources"
        },
        code=score_code,
    script:
        "../workflow_scripts/score_shard.py"
