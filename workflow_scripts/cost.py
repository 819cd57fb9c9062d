from monkeys.jobs import run_job
from monkeys.stages.cost import cost

sm = snakemake  # noqa: F821
run_job(sm, cost, sm.input.coverage, sm.input.counts, sm.output[0], models=sm.params.models)
