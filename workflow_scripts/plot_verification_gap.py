from monkeys.jobs import run_job
from monkeys.stages.plot import plot_verification_gap

sm = snakemake  # noqa: F821
run_job(
    sm,
    plot_verification_gap,
    sm.input.curves,
    sm.input.problems,
    sm.input.summary,
    sm.output[0],
    dataset=sm.wildcards.dataset,
    dpi=sm.params.dpi,
)
