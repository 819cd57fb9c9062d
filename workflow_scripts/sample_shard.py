from monkeys.logs import run_logged
from monkeys.stages.sample import sample_shard

sm = snakemake  # noqa: F821
run_logged(
    sm.log[0], sample_shard, sm.input.problems, sm.input.weights, sm.output[0],
    model=sm.wildcards.model, model_spec=sm.params.model_spec, selection=sm.params.selection,
    sampling=sm.params.sampling, seed=sm.params.seed, **sm.params.shard,
)
