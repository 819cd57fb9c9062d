from monkeys.jobs import run_job
from monkeys.stages.verifiers import verifiers

sm = snakemake  # noqa: F821
run_job(
    sm,
    verifiers,
    sm.input[0],
    sm.output.curves,
    sm.output.utility,
    analysis=sm.params.analysis,
    seed=sm.params.seed,
)
