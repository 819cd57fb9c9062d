from monkeys.jobs import run_job
from monkeys.stages.score import score_shard

sm = snakemake  # noqa: F821
weights = sm.input.weights  # the scorer's manifest (vllm backend), or nothing (http)
run_job(
    sm,
    score_shard,
    sm.input.samples,
    sm.input.problems,
    sm.output[0],
    scorer=sm.wildcards.scorer,
    scorer_spec=sm.params.scorer_spec,
    manifest=weights if isinstance(weights, str) else (weights[0] if len(weights) else None),
)
