from monkeys.jobs import run_job
from monkeys.stages.family import family

sm = snakemake  # noqa: F821
run_job(sm, family, sm.input, sm.output[0], families=sm.params.families, sizes=sm.params.sizes)
