from monkeys.jobs import run_job
from monkeys.stages.plot import plot_style

sm = snakemake  # noqa: F821
run_job(
    sm,
    plot_style,
    sm.input.summary,
    sm.input.rules,
    sm.output[0],
    dataset=sm.wildcards.dataset,
    dpi=sm.params.dpi,
)
