from monkeys.logs import run_logged
from monkeys.stages.fetch import fetch_dataset

sm = snakemake  # noqa: F821
run_logged(sm.log[0], fetch_dataset, sm.wildcards.dataset, sm.params.registry, sm.params.source,
           sm.output[0])
