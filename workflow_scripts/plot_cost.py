from monkeys.jobs import run_job
from monkeys.stages.plot import plot_cost

sm = snakemake  # noqa: F821
run_job(sm, plot_cost, sm.input[0], sm.output[0], dataset=sm.wildcards.dataset, dpi=sm.params.dpi)
