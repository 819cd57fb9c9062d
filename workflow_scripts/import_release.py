from monkeys.jobs import run_job
from monkeys.stages.imports import import_release

sm = snakemake  # noqa: F821
run_job(sm, import_release, sm.params.spec, sm.output.samples, sm.output.problems)
