from monkeys.jobs import run_job
from monkeys.stages.aggregate import aggregate

sm = snakemake  # noqa: F821
run_job(sm, aggregate, sm.input.samples, sm.input.verdicts, sm.output[0])
