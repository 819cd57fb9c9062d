from monkeys.jobs import run_job
from monkeys.stages.fit import fit

sm = snakemake  # noqa: F821
run_job(
    sm,
    fit,
    sm.input.counts,
    sm.input.coverage,
    sm.output[0],
    analysis=sm.params.analysis,
    seed=sm.params.seed,
)
