from monkeys.jobs import run_job
from monkeys.stages.plot import plot_selection

sm = snakemake  # noqa: F821
run_job(sm, plot_selection, sm.input, sm.output[0], dataset=sm.wildcards.dataset, dpi=sm.params.dpi)
