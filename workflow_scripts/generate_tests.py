from monkeys.jobs import run_job
from monkeys.stages.testgen import generate_tests

sm = snakemake  # noqa: F821
run_job(
    sm,
    generate_tests,
    sm.input.problems,
    sm.output[0],
    seed=sm.params.seed,
    selection=sm.params.selection,
    settings=sm.params.settings,
    workers=sm.threads,
    memory_mb=sm.params.memory_mb,
)
