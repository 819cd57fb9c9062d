from monkeys.jobs import run_job
from monkeys.stages.fit import fit

sm = snakemake  # noqa: F821
run_job(sm, fit, sm.input[0], sm.output[0], k_min=sm.params.k_min)
