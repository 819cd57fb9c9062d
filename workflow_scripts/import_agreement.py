from monkeys.jobs import run_job
from monkeys.stages.import_agreement import import_agreement

sm = snakemake  # noqa: F821
run_job(
    sm,
    import_agreement,
    list(sm.input.samples),
    list(sm.input.verdicts),
    sm.output[0],
    regrade=bool(sm.params.regrade),
)
