from monkeys.jobs import run_job
from monkeys.stages.fetch import fetch_dataset

sm = snakemake  # noqa: F821
run_job(
    sm,
    fetch_dataset,
    sm.wildcards.dataset,
    sm.params.registry,
    sm.params.source,
    sm.output.problems,
    prompt=sm.params.prompt,
    allow_skip=sm.params.allow_skip,
    skipped_out=sm.output.skipped,
)
