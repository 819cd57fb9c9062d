from monkeys.jobs import run_job
from monkeys.stages.sample import sample_shard

sm = snakemake  # noqa: F821
run_job(
    sm, sample_shard, sm.input.problems, sm.input.weights, sm.output[0],
    model=sm.wildcards.model, model_spec=sm.params.model_spec, selection=sm.params.selection,
    sampling=sm.params.sampling, seed=sm.params.seed, **sm.params.shard,
)
