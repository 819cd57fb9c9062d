from monkeys.jobs import run_job
from monkeys.stages.sample import sample_shard

sm = snakemake  # noqa: F821
imported = (
    {"samples": sm.input.imported_samples, "mapping": sm.input.imported_mapping}
    if sm.input.get("imported_samples")
    else None
)
run_job(
    sm,
    sample_shard,
    sm.input.problems,
    sm.input.weights,
    sm.output[0],
    model=sm.wildcards.model,
    model_spec=sm.params.model_spec,
    selection=sm.params.selection,
    sampling=sm.params.sampling,
    seed=sm.params.seed,
    **sm.params.shard,
    imported=imported,
    import_mappings=list(sm.input.get("import_mappings") or []),
)
