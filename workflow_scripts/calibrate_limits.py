from monkeys.jobs import run_job
from monkeys.stages.time_limits import calibrate_limits

sm = snakemake  # noqa: F821
run_job(
    sm,
    calibrate_limits,
    sm.input.problems,
    sm.output[0],
    sandbox=sm.params.sandbox,
    selection=sm.params.selection,
    repeats=int(sm.params.repeats),
    workers=sm.threads,
    strong_tests_path=sm.input.get("strong_tests") or None,
)
