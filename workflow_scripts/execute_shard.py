from monkeys.jobs import run_job
from monkeys.stages.execute import execute_shard

sm = snakemake  # noqa: F821
run_job(
    sm,
    execute_shard,
    sm.input.problems,
    sm.input.samples,
    sm.output[0],
    execution=sm.params.execution,
    strong_tests_path=sm.input.get("strong_tests") or None,
    grading=sm.params.grading or "paper",
    regrade=bool(sm.params.regrade),
    time_limits_path=sm.input.get("time_limits") or None,
)
