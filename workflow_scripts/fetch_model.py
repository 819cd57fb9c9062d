from monkeys.jobs import run_job
from monkeys.stages.fetch import fetch_model

sm = snakemake  # noqa: F821
run_job(sm, fetch_model, sm.params.weights, sm.output[0])
