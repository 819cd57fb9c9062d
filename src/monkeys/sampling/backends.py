"""Sampler backends, registered by name: each is a module with a `from_config` function.

`make_sampler` imports the chosen backend's module only when a job runs, by name, so that a
sampling job's code hash (`sampling_closure`) covers the sampling stage and that backend, not
the others: an edit to the OpenAI client reruns no llama.cpp or vLLM shard. Add a backend by
writing its module and naming it here (and in the config schema).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monkeys.registries import Registry

BACKENDS = Registry(
    "sampler backend",
    {
        "embedded": "monkeys.sampling.embedded",
        "vllm": "monkeys.sampling.vllm_engine",
        "openai": "monkeys.sampling.openai_api",
        "import": "monkeys.sampling.importer",
    },
)


def make_sampler(
    model: str, model_spec: Mapping[str, Any], weights: Any, imported: Mapping[str, str | Path] | None = None
) -> Any:
    """The sampler the model's config names (an import reads `imported`: its converted
    `samples` and its key `mapping`, see monkeys.stages.imports)."""
    try:
        module = BACKENDS.load(model_spec["backend"])
    except ValueError as exc:
        raise ValueError(f"model {model!r}: {exc}") from None
    return module.from_config(model, model_spec, weights, imported)


def sampling_closure(backend: str) -> list[Path]:
    """The library files a sampling job with `backend` runs: what its code hash covers."""
    return BACKENDS.closure("monkeys.stages.sample", backend)
