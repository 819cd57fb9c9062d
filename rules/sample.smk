# Helpers live in the library (snakemake --lint wants rules only here):
# sampling_resource(wc, key, default) reads models.<model>.resources (a vllm model asks for
# vllm.tensor_parallel_size GPUs by default); imported_samples(wc) is an import model's file;
# import_inputs(wc) its converted file and key mapping (and, for `problems: from_import`,
# every import model's mapping); see monkeys.sampling.rules.
from monkeys.sampling import rules as _sampling_rules

sampling_resource = _sampling_rules.sampling_resources(config)
imported_samples = _sampling_rules.imported_samples(config)
import_inputs = _sampling_rules.import_inputs(config)
import_agreements = _sampling_rules.import_agreements(config)


localrules:
    import_map,


# An import model's file, converted once (streamed) to a Parquet that shards read by slice.
rule import_release:
    input:
        imported_samples,
    output:
        samples="results/imports/{model}/samples.parquet",
        problems="results/imports/{model}/problems.parquet",
    log:
        "logs/import_release/{model}.log",
    resources:
        mem_mb=2048,
        runtime=60,
    params:
        spec=_sampling_rules.import_spec(config, "import_release"),
        code=CODE["import_release"],
    script:
        "../workflow_scripts/import_release.py"


# Which problem of the dataset each key of the file is (import.match); stops on keys that
# match none, or whose question differs from the problem's text (unless unmatched: drop).
rule import_map:
    input:
        index="results/imports/{model}/problems.parquet",
        problems="results/datasets/{dataset}/problems.parquet",
    output:
        "results/imports/{model}/{dataset}/mapping.parquet",
    log:
        "logs/import_map/{model}/{dataset}.log",
    params:
        spec=_sampling_rules.import_spec(config, "import_map"),
        code=CODE["import_map"],
    script:
        "../workflow_scripts/import_map.py"


rule sample_shard:
    input:
        unpack(import_inputs),
        problems="results/datasets/{dataset}/problems.parquet",
        weights="results/models/{model}/weights.json",
    output:
        "results/samples/{model}/{dataset}/{shard}.parquet",
    log:
        "logs/sample_shard/{model}/{dataset}/{shard}.log",
    benchmark:
        "results/benchmarks/sample_shard/{model}/{dataset}/{shard}.tsv"
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
    params:
        # Without `resources` (what a job asks the cluster for does not change the samples)
        # nor an import's `regrade` (read by execute_shard only).
        model_spec=_sampling_rules.sampling_model_spec(config),
        # Less `grading` (how verdicts are judged), so changing it reruns only execution.
        selection=lambda wc: {
            k: v
            for k, v in config["datasets"][wc.dataset].items()
            if k not in ("grading", "stop")
        },
        sampling=_sampling_rules.sampling_settings(config),
        seed=config["seed"],
        shard=shard_range,
        code=sample_code,
    script:
        "../workflow_scripts/sample_shard.py"
