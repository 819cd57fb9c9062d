"""Helpers for rules/sample.smk, kept here so the Snakefile holds rules only (snakemake --lint).

Both take the workflow's (validated) config dict and return the function a rule calls
with its wildcards.
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
