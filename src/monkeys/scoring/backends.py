"""Scorer backends, registered by name: each is a module with a `from_config` function,
imported by name when a job runs, so that a scoring job's code hash covers its own backend
(monkeys.registries): an edit to the HTTP client reruns no vLLM scoring."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monkeys.registries import Registry
from monkeys.scoring.base import ScoringError

SCORERS = Registry(
    "scorer backend",
    {"http": "monkeys.scoring.http", "vllm": "monkeys.scoring.vllm_reward"},
)


def make_scorer(name: str, spec: Mapping[str, Any], weights: Any) -> Any:
    """The scorer backend named by the scorer's config."""
    try:
        module = SCORERS.load(str(spec.get("backend")))
    except ValueError as exc:
        raise ScoringError(f"scorer {name!r}: {exc}") from None
    return module.from_config(name, spec, weights)


def scoring_closure(backend: str) -> list[Path]:
    """The library files a scoring job with `backend` runs: what its code hash covers."""
    return SCORERS.closure("monkeys.stages.score", backend)
