from monkeys.logs import run_logged
from monkeys.stages.fetch import fetch_model

sm = snakemake  # noqa: F821
run_logged(sm.log[0], fetch_model, sm.params.weights, sm.output[0])
