from monkeys.jobs import run_job
from monkeys.stages.verification_gap import verification_gap

sm = snakemake  # noqa: F821
run_job(
    sm,
    verification_gap,
    sm.input.selection,
    sm.input.counts,
    sm.input.samples,
    sm.input.verdicts,
    sm.output.curves,
    sm.output.problems,
    sm.output.summary,
    horizon=sm.params.max_tokens,
)
