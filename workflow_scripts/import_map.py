from monkeys.jobs import run_job
from monkeys.stages.imports import import_map

sm = snakemake  # noqa: F821
run_job(
    sm,
    import_map,
    sm.input.index,
    sm.input.problems,
    sm.output[0],
    spec=sm.params.spec,
    model=sm.wildcards.model,
    dataset=sm.wildcards.dataset,
)
