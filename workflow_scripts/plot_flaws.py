from monkeys.jobs import run_job
from monkeys.stages.plot import plot_flaws

sm = snakemake  # noqa: F821
run_job(
    sm,
    plot_flaws,
    sm.input.table,
    sm.input.fit,
    sm.output[0],
    dataset=sm.wildcards.dataset,
    dpi=sm.params.dpi,
)
