from monkeys.jobs import run_job
from monkeys.stages.plot import plot_coverage

sm = snakemake  # noqa: F821
run_job(
    sm,
    plot_coverage,
    sm.input.coverage,
    sm.input.fits,
    sm.output[0],
    dataset=sm.wildcards.dataset,
    dpi=sm.params.dpi,
)
