from monkeys.jobs import run_job
from monkeys.stages.plot import plot_utility, plot_verifiers

sm = snakemake  # noqa: F821
plot = plot_verifiers if sm.params.figure == "verifiers" else plot_utility
run_job(sm, plot, sm.input, sm.output[0], dataset=sm.wildcards.dataset, dpi=sm.params.dpi)
