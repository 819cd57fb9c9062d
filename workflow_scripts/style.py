from monkeys.jobs import run_job
from monkeys.stages.style import style

sm = snakemake  # noqa: F821
run_job(
    sm,
    style,
    sm.input.problems,
    sm.input.samples,
    sm.input.verdicts,
    sm.output.summary,
    sm.output.rules,
    analysis=sm.params.analysis,
    seed=sm.params.seed,
)
