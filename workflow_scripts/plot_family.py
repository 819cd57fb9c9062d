from monkeys.jobs import run_job
from monkeys.stages.plot import plot_family

sm = snakemake  # noqa: F821
run_job(
    sm,
    plot_family,
    sm.input.coverage,
    sm.input.family,
    sm.output[0],
    dataset=sm.wildcards.dataset,
    dpi=sm.params.dpi,
)
