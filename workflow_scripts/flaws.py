from monkeys.jobs import run_job
from monkeys.stages.flaws import flaws

sm = snakemake  # noqa: F821
run_job(sm, flaws, sm.input, sm.output.table, sm.output.fit)
