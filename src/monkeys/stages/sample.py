"""The sampling stage: draw one shard of samples with a configured backend."""


from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from monkeys import tables
from monkeys.datasets.registry import select_problems
from monkeys.sampling.base import SampleRequest, SamplingParams
from monkeys.sampling.seeds import derive_seed
from monkeys.sampling.weights import (
    Weights,
    WeightsError,
    load_manifest,
    resolve_weights,
)

log = logging.getLogger("monkeys")


def _weights_here(manifest: str | Path, weights_spec: Mapping[str, Any]) -> Weights:
    """The manifest's weights, re-materialised from their package on a node that lacks them."""
    try:
        return load_manifest(manifest)
    except WeightsError:
        if "package" not in weights_spec:
            raise
        expected = load_manifest(manifest, verify=False).sha256
        weights = resolve_weights(dict(weights_spec))
        if weights.sha256 != expected:
            raise WeightsError(f"{weights.path}: sha256 {weights.sha256} differs from "
                               f"{manifest} ({expected})") from None
        return weights


def make_sampler(model: str, model_spec: Mapping[str, Any], weights: Weights):
    """The sampler backend named by the model's config."""
    backend = model_spec["backend"]
    if backend == "embedded":
        from monkeys.sampling.embedded import LlamaCppSampler

        return LlamaCppSampler(weights.path, name=model, threads=model_spec["threads"],
                               context_length=model_spec["context_length"])
    raise ValueError(f"model {model!r}: unknown backend {backend!r}")


def sample_requests(
    problems: pd.DataFrame, *, seed: int, model: str, start: int, stop: int
) -> list[SampleRequest]:
    """Requests for sample indices [start, stop) of every problem, grouped by problem."""
    return [
        SampleRequest(problem_id=pid, prompt=prompt, sample_index=index,
                      seed=derive_seed(seed, model, dataset, pid, index))
        for dataset, pid, prompt in zip(problems["dataset"], problems["problem_id"],
                                        problems["prompt"], strict=True)
        for index in range(start, stop)
    ]


def sample_shard(
    problems_path: str | Path,
    manifest: str | Path,
    out: str | Path,
    *,
    model: str,
    model_spec: Mapping[str, Any],
    selection: Mapping[str, Any],
    sampling: Mapping[str, Any],
    seed: int,
    start: int,
    stop: int,
) -> None:
    """Draw samples [start, stop) for every selected problem and write the shard."""
    problems = select_problems(tables.read_table(problems_path, tables.PROBLEMS),
                               selection.get("problems"), selection.get("limit"))
    sampler = make_sampler(model, model_spec, _weights_here(manifest, model_spec["weights"]))
    requests = sample_requests(problems, seed=seed, model=model, start=start, stop=stop)
    results = sampler.sample(requests, SamplingParams.from_config(dict(sampling)))
    frame = pd.DataFrame([vars(r) for r in results])
    frame.insert(0, "model", model)
    frame.insert(1, "dataset", problems["dataset"].iat[0])
    frame.insert(2, "problem_id", [r.problem_id for r in requests])
    frame.insert(3, "sample_index", [r.sample_index for r in requests])
    frame.insert(4, "seed", [r.seed for r in requests])
    tables.write_table(frame, out, tables.SAMPLES)
    log.info("%s/%s %d-%d: %d samples, %.1f s sampling, %d completion tokens", model,
             frame["dataset"].iat[0], start, stop, len(frame), frame["wall_s"].sum(),
             frame["completion_tokens"].sum())
