from monkeys.jobs import run_job
from monkeys.stages.selection import selection

sm = snakemake  # noqa: F821
run_job(
    sm,
    selection,
    sm.input.samples,
    sm.input.verdicts,
    sm.output[0],
    analysis=sm.params.analysis,
    seed=sm.params.seed,
    score_paths=list(sm.input.scores),
)
