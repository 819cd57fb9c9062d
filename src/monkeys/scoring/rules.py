"""Helpers for rules/score.smk, kept here so the Snakefile holds rules only (snakemake --lint).

Each takes the workflow's (validated) config dict and returns what a rule uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from monkeys.scoring.base import BUILTIN_SCORES


def score_choice_problem(config: Mapping[str, Any]) -> str | None:
    """What is wrong with `analysis.score` (it must be built in or a configured scorer), or None."""
    choice = config["analysis"].get("score", "none")
    scorers = config.get("scorers") or {}
    if choice in BUILTIN_SCORES or choice in scorers:
        return None
    known = ", ".join([*BUILTIN_SCORES, *sorted(scorers)])
    return (
        f"invalid config: 'analysis.score' is {choice!r}: neither a built-in score nor a "
        f"scorer under `scorers`; allowed: {known}"
    )


def scoring_resources(config: Mapping[str, Any]) -> Callable[..., Any]:
    """`scoring_resource(wildcards, key, default)`: one cluster resource of a scoring job.

    scorers.<scorer>.resources.<key>, else `default`; a vllm scorer's jobs ask for
    vllm.tensor_parallel_size GPUs (default 1) unless its `resources` say otherwise.
    """

    def scoring_resource(wildcards, key: str, default: Any = None) -> Any:
        scorer = config["scorers"][wildcards.scorer]
        if key == "gpu" and scorer["backend"] == "vllm":
            default = (scorer.get("vllm") or {}).get("tensor_parallel_size", 1)
        return (scorer.get("resources") or {}).get(key, default)

    return scoring_resource


def scorer_weights(config: Mapping[str, Any]) -> Callable[..., list[str]]:
    """Input function: a vllm scorer's weights manifest (nothing for an http scorer)."""

    def inputs(wildcards) -> list[str]:
        if config["scorers"][wildcards.scorer]["backend"] == "vllm":
            return [f"results/scorers/{wildcards.scorer}/weights.json"]
        return []

    return inputs


def selection_scores(config: Mapping[str, Any], shards: Sequence[str]) -> Callable[..., list[str]]:
    """Input function for selection: the score shards of (model, dataset) from the scorer that
    `analysis.score` names; nothing for a built-in choice."""

    def inputs(wildcards) -> list[str]:
        choice = config["analysis"].get("score", "none")
        if choice in BUILTIN_SCORES:
            return []
        return [
            f"results/scores/{choice}/{wildcards.model}/{wildcards.dataset}/{shard}.parquet"
            for shard in shards
        ]

    return inputs
