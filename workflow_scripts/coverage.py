from monkeys.jobs import run_job
from monkeys.stages.coverage import coverage

sm = snakemake  # noqa: F821
run_job(sm, coverage, sm.input[0], sm.output[0], analysis=sm.params.analysis, seed=sm.params.seed)
