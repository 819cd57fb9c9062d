"""Helpers for rules/sample.smk, kept here so the Snakefile holds rules only (snakemake --lint).

Each takes the workflow's (validated) config dict and returns the function a rule calls
with its wildcards (or, `import_agreements`, a list of targets).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def sampling_resources(config: Mapping[str, Any]) -> Callable[..., Any]:
    """`sampling_resource(wildcards, key, default)`: one cluster resource of a sampling job.

    models.<model>.resources.<key>, else `default`; a vllm model's jobs ask for
    vllm.tensor_parallel_size GPUs (default 1) unless its `resources` say otherwise.
    """

    def sampling_resource(wildcards, key: str, default: Any = None) -> Any:
        model = config["models"][wildcards.model]
        if key == "gpu" and model["backend"] == "vllm":
            default = (model.get("vllm") or {}).get("tensor_parallel_size", 1)
        return (model.get("resources") or {}).get(key, default)

    return sampling_resource


def imported_samples(config: Mapping[str, Any]) -> Callable[..., list[str]]:
    """Input function: an import model's sample file (so replacing the file re-imports)."""

    def inputs(wildcards) -> list[str]:
        model = config["models"][wildcards.model]
        return [model["import"]["path"]] if model["backend"] == "import" else []

    return inputs


# The import settings each import rule reads (so e.g. `regrade` re-grades without re-importing).
IMPORT_KEYS = {
    "import_release": ("path", "sha256", "format", "preset", "layout", "columns"),
    "import_map": ("preset", "layout", "columns", "match", "problem_id_template", "unmatched"),
}


def import_models(config: Mapping[str, Any]) -> list[str]:
    """The configured models with backend import."""
    return [m for m, spec in config["models"].items() if spec["backend"] == "import"]


def import_spec(config: Mapping[str, Any], rule: str) -> Callable[..., dict[str, Any]]:
    """Param function: the model's import settings that `rule` reads (IMPORT_KEYS)."""

    def spec(wildcards) -> dict[str, Any]:
        section = config["models"][wildcards.model]["import"]
        return {k: v for k, v in section.items() if k in IMPORT_KEYS[rule]}

    return spec


def sampling_model_spec(config: Mapping[str, Any]) -> Callable[..., dict[str, Any]]:
    """Param function: the model's settings a sampling shard depends on (not its cluster
    `resources`, nor an import's `regrade`, which only the execute stage reads)."""

    def spec(wildcards) -> dict[str, Any]:
        out = {k: v for k, v in config["models"][wildcards.model].items() if k != "resources"}
        if "import" in out:
            out["import"] = {k: v for k, v in out["import"].items() if k != "regrade"}
        return out

    return spec


def import_inputs(config: Mapping[str, Any]) -> Callable[..., dict[str, Any]]:
    """Input function (unpack) of a sampling shard: an import model's converted file and key
    mapping; for a dataset with `problems: from_import`, every import model's mapping."""

    def inputs(wildcards) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if config["models"][wildcards.model]["backend"] == "import":
            out["imported_samples"] = f"results/imports/{wildcards.model}/samples.parquet"
            out["imported_mapping"] = f"results/imports/{wildcards.model}/{wildcards.dataset}/mapping.parquet"
        if config["datasets"][wildcards.dataset].get("problems") == "from_import":
            out["import_mappings"] = [
                f"results/imports/{m}/{wildcards.dataset}/mapping.parquet" for m in import_models(config)
            ]
        return out

    return inputs


def import_regrade(config: Mapping[str, Any]) -> Callable[..., bool]:
    """Param function: whether an import model's samples are re-graded (else their labels decide)."""

    def regrade(wildcards) -> bool:
        return bool((config["models"][wildcards.model].get("import") or {}).get("regrade", False))

    return regrade


def import_agreements(config: Mapping[str, Any]) -> list[str]:
    """Agreement tables of every import model and dataset (targets of `rule all`)."""
    return [
        f"results/import_agreement/{m}/{d}.parquet" for m in import_models(config) for d in config["datasets"]
    ]


def sampling_settings(config: Mapping[str, Any]) -> Callable[..., dict[str, Any]]:
    """Param function: the `sampling` settings a shard's samples depend on, with the dataset's
    stop sequences (its `stop`, else its prompt preset's, else `sampling.stop`); not the
    shard layout (`num_samples`, `samples_per_shard`)."""
    from monkeys.datasets.prompts import stop_sequences
    from monkeys.datasets.registry import DATASETS

    def settings(wildcards) -> dict[str, Any]:
        entry = config["datasets"][wildcards.dataset]
        spec = DATASETS[entry.get("registry", wildcards.dataset)]
        out = {k: v for k, v in config["sampling"].items() if k not in ("num_samples", "samples_per_shard")}
        out["stop"] = stop_sequences(
            entry.get("stop"), entry.get("prompt"), spec.prompt, config["sampling"]["stop"]
        )
        return out

    return settings
