# Helpers live in the library (snakemake --lint wants rules only here):
# sampling_resource(wc, key, default) reads models.<model>.resources (a vllm model asks for
# vllm.tensor_parallel_size GPUs by default); imported_samples(wc) is an import model's file.
from monkeys.sampling.rules import imported_samples as _imported_samples
from monkeys.sampling.rules import sampling_resources as _sampling_resources

sampling_resource = _sampling_resources(config)
imported_samples = _imported_samples(config)


rule sample_shard:
    input:
        problems="results/datasets/{dataset}/problems.parquet",
        weights="results/models/{model}/weights.json",
        imported=imported_samples,
    output:
        "results/samples/{model}/{dataset}/{shard}.parquet",
    params:
        # Without `resources`: what a job asks the cluster for does not change the samples.
        model_spec=lambda wc: {k: v for k, v in config["models"][wc.model].items()
                               if k != "resources"},
        selection=lambda wc: config["datasets"][wc.dataset],
        sampling=lambda wc: {k: v for k, v in config["sampling"].items()
                             if k not in ("num_samples", "samples_per_shard")},
        seed=config["seed"],
        shard=shard_range,
        code=CODE["sample"],
    threads: lambda wc: config["models"][wc.model]["threads"]
    resources:
        # From the model's `resources` (config/schema.yaml). With `--profile slurm` these
        # become sbatch --gpus=[gpu_model:]gpu, --cpus-per-gpu (else --cpus-per-task=threads),
        # --mem and -t; locally only --resources limits (e.g. gpu=1) read them.
        gpu=lambda wc: sampling_resource(wc, "gpu", 0),
        gpu_model=lambda wc: sampling_resource(wc, "gpu_model"),
        cpus_per_gpu=lambda wc: sampling_resource(wc, "cpus_per_gpu"),
        mem_mb=lambda wc: sampling_resource(wc, "mem_mb", 4096),
        runtime=lambda wc: sampling_resource(wc, "runtime", 120),
    log:
        "logs/sample_shard/{model}/{dataset}/{shard}.log",
    benchmark:
        "results/benchmarks/sample_shard/{model}/{dataset}/{shard}.tsv"
    script:
        "../workflow_scripts/sample_shard.py"
