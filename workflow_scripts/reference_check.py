from monkeys.jobs import run_job
from monkeys.stages.reference_check import reference_check

sm = snakemake  # noqa: F821
run_job(
    sm,
    reference_check,
    sm.input.problems,
    sm.output.table,
    sm.output.problems,
    registry=sm.params.registry,
    source=sm.params.source,
    selection=sm.params.selection,
    execution=sm.params.execution,
    workers=sm.threads,
    settings=sm.params.settings,
)
