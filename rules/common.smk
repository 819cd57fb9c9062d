# Configuration access, shard planning and code hashes shared by all rules.

import json
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

from monkeys.config import (
    CONFIG_SOURCE_ENV,
    ConfigError,
    default_config_file,
    describe_source,
    workflow_config,
)
from monkeys.hashing import code_hash, module_closure
from monkeys.grading.graders import GRADERS, grading_closure
from monkeys.sampling.backends import BACKENDS, sampling_closure
from monkeys.scoring.backends import SCORERS, scoring_closure
from monkeys.sampling.shards import shard_name, shard_ranges

# The config is the --configfile(s) alone, merged in order (no `configfile:` directive, so
# nothing of the default leaks into a user's experiment); config/config.yaml only without
# one. --config key=value goes on top of either. See monkeys.config.workflow_config.
_cli_configfiles = [str(f) for f in workflow.config_settings.configfiles]
_default_configfile = default_config_file(workflow.basedir)
try:
    _validated, CONFIG_SOURCE = workflow_config(
        config,
        _cli_configfiles,
        _default_configfile,
        overrides=workflow.config_settings.config,
        from_module=getattr(workflow.modifier, "skip_configfile", False),
    )
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
if CONFIG_SOURCE["kind"] == "default":
    workflow.configfiles.append(
        str(_default_configfile)
    )  # for --report and source archives
config.clear()
config.update(_validated)
os.environ[CONFIG_SOURCE_ENV] = json.dumps(
    CONFIG_SOURCE
)  # for the jobs' provenance records
logger.info(
    f"monkeys: config from {describe_source(CONFIG_SOURCE)}: "
    f"models {', '.join(config['models'])}; datasets {', '.join(config['datasets'])}"
)

MODELS = list(config["models"])
DATASETS = list(config["datasets"])
SHARDS = [
    shard_name(*r)
    for r in shard_ranges(
        config["sampling"]["num_samples"], config["sampling"]["samples_per_shard"]
    )
]


def code(stage, script, closure=None):
    """Hash of a stage's code: its workflow script and every library module it imports
    (or `closure`, the files a job of it runs), by meaning (monkeys.hashing).

    Used as a param, so editing any of that code reruns exactly the jobs that run it
    (Snakemake's own code trigger sees only the `script:` line).
    """
    files = (
        closure if closure is not None else module_closure(f"monkeys.stages.{stage}")
    )
    return code_hash(
        [*files, Path(workflow.basedir) / "workflow_scripts" / f"{script}.py"]
    )


# A sampling job hashes its own backend's code only (monkeys.sampling.backends).
SAMPLE_CODE = {
    backend: code("sample", "sample_shard", sampling_closure(backend))
    for backend in BACKENDS
}


# A scoring job hashes its own backend's code only (monkeys.scoring.backends).
SCORE_CODE = {
    backend: code("score", "score_shard", scoring_closure(backend))
    for backend in SCORERS
}


def score_code(wildcards):
    return SCORE_CODE[config["scorers"][wildcards.scorer]["backend"]]


def sample_code(wildcards):
    return SAMPLE_CODE[config["models"][wildcards.model]["backend"]]


# An execution job hashes its own grader's code only (monkeys.grading.graders).
EXECUTE_CODE = {
    grader: code("execute", "execute_shard", grading_closure(grader))
    for grader in GRADERS
}


def dataset_grader(dataset):
    """The grader of a configured dataset (monkeys.datasets.registry)."""
    from monkeys.datasets.registry import DATASETS as REGISTRY

    return REGISTRY[config["datasets"][dataset].get("registry", dataset)].grader


def execute_code(wildcards):
    return EXECUTE_CODE[dataset_grader(wildcards.dataset)]


CODE = {
    "fetch_dataset": code("fetch", "fetch_dataset"),
    "fetch_model": code("fetch", "fetch_model"),
    "import_release": code("imports", "import_release"),
    "import_map": code("imports", "import_map"),
    "import_agreement": code("import_agreement", "import_agreement"),
    "calibrate_limits": code("time_limits", "calibrate_limits"),
    "reference_check": code("reference_check", "reference_check"),
    "aggregate": code("aggregate", "aggregate"),
    "coverage": code("coverage", "coverage"),
    "fit": code("fit", "fit"),
    "plot": code("plot", "plot_coverage"),
    "verifiers": code("verifiers", "verifiers"),
    "plot_verifiers": code("plot", "plot_verifiers"),
    "flaws": code("flaws", "flaws"),
    "plot_flaws": code("plot", "plot_flaws"),
    "cost": code("cost", "cost"),
    "plot_cost": code("plot", "plot_cost"),
    "selection": code("selection", "selection"),
    "plot_selection": code("plot", "plot_selection"),
    "verification_gap": code("verification_gap", "verification_gap"),
    "plot_verification_gap": code("plot", "plot_verification_gap"),
    "family": code("family", "family"),
    "plot_family": code("plot", "plot_family"),
    "style": code("style", "style"),
    "plot_style": code("plot", "plot_style"),
}


def ruff_version():
    """The installed ruff's version: a param of the style analysis, so a new ruff relints."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ruff")
    except PackageNotFoundError:
        return "not installed"


def family_members():
    """Models in a `family` that has at least two configured members."""
    families = [config["models"][m].get("family") for m in MODELS]
    return [m for m, f in zip(MODELS, families) if f and families.count(f) >= 2]


COST_KEYS = (
    "params_billions",
    "layers",
    "hidden_size",
    "price_per_mtok",
    "price_per_mtok_prompt",
    "price_per_mtok_completion",
)


def cost_specs():
    """Each model's size and prices (only these keys, so other model settings rerun nothing)."""
    return {
        m: {k: v for k, v in config["models"][m].items() if k in COST_KEYS}
        for m in MODELS
    }


def strong_tests_input(wildcards):
    """The generated strong tests of a dataset whose config asks for them (else no input)."""
    if config["datasets"][wildcards.dataset].get("strong_tests"):
        return f"results/datasets/{wildcards.dataset}/strong_tests.parquet"
    return []


def has_strong_verifier(dataset):
    """Whether a dataset's samples get a second, stronger test suite (official or generated)."""
    from monkeys.datasets.registry import DATASETS

    entry = config["datasets"][dataset]
    spec = DATASETS[entry.get("registry", dataset)]
    return bool(entry.get("strong_tests")) or spec.plus_tests


def math_grading(wildcards):
    """A math dataset's `grading` rule for execute_shard ("" for other graders, so changing
    it reruns only the math datasets' execution)."""
    if dataset_grader(wildcards.dataset) != "math":
        return ""
    return config["datasets"][wildcards.dataset].get("grading", "paper")


def execute_threads(wildcards):
    """execute_shard's threads: `execution.workers` fork servers, but 1 for a math dataset,
    whose answers are graded in the job's own process (monkeys.grading.math.grade_math).
    """
    if dataset_grader(wildcards.dataset) == "math":
        return 1
    return config["execution"]["workers"]


def time_limits_input(wildcards):
    """The reference timings a unit-test dataset's shards are limited by (rule
    calibrate_limits), with `execution.time_limit.mode: calibrated` (else no input)."""
    if (
        config["execution"].get("time_limit", {}).get("mode", "calibrated")
        != "calibrated"
        or dataset_grader(wildcards.dataset) != "unit_tests"
    ):
        return []
    return f"results/datasets/{wildcards.dataset}/time_limits.parquet"


def execute_problems(wildcards):
    """The problems table a shard is graded against: without the tests that reject a correct
    reference (rule reference_check) for a stdio dataset with `drop_false_negative_tests`.
    """
    entry = config["datasets"][wildcards.dataset]
    stdio = dataset_grader(wildcards.dataset) == "stdio"
    name = (
        "problems_checked"
        if stdio and entry.get("drop_false_negative_tests")
        else "problems"
    )
    return f"results/datasets/{wildcards.dataset}/{name}.parquet"


# Each analysis rule's params hold only the `analysis` keys its stage reads, so changing one
# key reruns only the rules that read it (tests/test_reruns.py).
def analysis_keys(*keys):
    """The named keys of the `analysis` section."""
    return {k: config["analysis"][k] for k in keys}


def shard_range(wildcards):
    start, stop = (int(x) for x in wildcards.shard.split("-"))
    return {"start": start, "stop": stop}


def shards_of(kind):
    """All shard files of one kind ('samples' or 'verdicts') for a (model, dataset)."""

    def inputs(wildcards):
        return expand(
            f"results/{kind}/{wildcards.model}/{wildcards.dataset}/{{shard}}.parquet",
            shard=SHARDS,
        )

    return inputs


def lineage(wildcards):
    """Every upstream file of a dataset's figure, hashed into its provenance record."""
    return [
        f"results/datasets/{wildcards.dataset}/problems.parquet",
        *expand("results/models/{model}/weights.json", model=MODELS),
        *expand(
            "results/{kind}/{model}/{dataset}/{shard}.parquet",
            kind=["samples", "verdicts"],
            model=MODELS,
            dataset=wildcards.dataset,
            shard=SHARDS,
        ),
        *expand(
            "results/counts/{model}/{dataset}.parquet",
            model=MODELS,
            dataset=wildcards.dataset,
        ),
    ]


def all_figures():
    """Every figure the configured data supports."""
    formats = config["plots"]["format"]
    figures = expand(
        "results/figures/{figure}/{dataset}.{ext}",
        figure=["coverage", "cost", "selection", "verification_gap"],
        dataset=DATASETS,
        ext=formats,
    )
    strong = [d for d in DATASETS if has_strong_verifier(d)]
    figures += expand(
        "results/figures/{figure}/{dataset}.{ext}",
        figure=["verifiers", "utility", "style", "flaws"],
        dataset=strong,
        ext=formats,
    )
    if family_members():
        figures += expand(
            "results/figures/family/{dataset}.{ext}", dataset=DATASETS, ext=formats
        )
    return figures
