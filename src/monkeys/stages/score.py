"""The scoring stage: score one shard of samples with a configured scorer (rule score_shard).

A scorer (config `scorers`) is a reward model or an LM judge: `http` (vLLM's
pooling endpoints or any OpenAI-compatible completions server,
`monkeys.scoring.http`) or `vllm` (vLLM's offline pooling runner in the GPU job,
`monkeys.scoring.vllm_reward`). A score shard holds one row per sample of its
sample shard (the SCORES table). Finished problems go to part files as they
finish, as sampling's do (`monkeys.sampling.parts`), so a killed job resumes where
it stopped; the output is written, atomically, only when every problem is scored,
and equals what an uninterrupted run writes (up to wall times).

Selection reads scores through `apply_score_choice` (`analysis.score`; in
`monkeys.scoring.attach`, re-exported here): `none` keeps the samples' own `score` (an
import's, else null), `mean_logprob` takes each sample's `logprob_mean`, and a scorer's
name takes that scorer's score shards (`attach_scores`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from monkeys.hashing import code_hash, sha256_bytes
from monkeys.sampling.parts import ShardParts, fingerprint
from monkeys.sampling.progress import Progress
from monkeys.sampling.weights import Weights, WeightsError, load_manifest, resolve_weights
from monkeys.scoring.attach import ScoresMismatchError, apply_score_choice, attach_scores
from monkeys.scoring.backends import make_scorer, scoring_closure
from monkeys.scoring.base import Score, ScoreRequest, ScoringError
from monkeys.tables.datasets import PROBLEMS
from monkeys.tables.io import read_table, write_table
from monkeys.tables.samples import SAMPLES
from monkeys.tables.scores import SCORES

log = logging.getLogger(__name__)

# For selection (re-exported; selection should import them from monkeys.scoring.attach).
__all__ = ["ScoresMismatchError", "apply_score_choice", "attach_scores", "score_shard"]

# Settings that change how a server is reached, not what it scores: a shard resumed against
# another replica (or with other retry limits) keeps its parts.
OPERATIONAL = {
    "http": {
        "base_url",
        "url",
        "api_key_env",
        "max_concurrency",
        "max_retries",
        "backoff_s",
        "max_backoff_s",
        "timeout_s",
    }
}
NOT_SCORING = ("resources", "threads")


def _weights_here(manifest: str | Path | None, spec: Mapping[str, Any]) -> Weights:
    """The scorer's weights: its manifest (checked on this machine), or none for http."""
    if manifest is None:
        return resolve_weights({})
    try:
        return load_manifest(manifest)
    except WeightsError:
        expected = load_manifest(manifest, verify=False).sha256
        if "package" not in spec:
            raise
        weights = resolve_weights(dict(spec))
        if weights.sha256 != expected:
            raise WeightsError(
                f"{weights.path}: sha256 {weights.sha256} differs from {manifest} ({expected})"
            ) from None
        return weights


def score_requests(samples: pd.DataFrame, problems: pd.DataFrame) -> list[list[ScoreRequest]]:
    """The shard's samples with their problems' prompts, grouped by problem in shard order."""
    prompts = dict(zip(problems["problem_id"], problems["prompt"], strict=True))
    missing = sorted(set(samples["problem_id"]) - set(prompts))
    if missing:
        raise ScoringError(
            f"{len(missing)} problem(s) of the samples are not in the problems "
            f"table (e.g. {missing[0]!r}); fetch the dataset again"
        )
    groups: list[list[ScoreRequest]] = []
    for pid, index, completion in zip(
        samples["problem_id"], samples["sample_index"], samples["completion"], strict=True
    ):
        request = ScoreRequest(
            problem_id=pid,
            sample_index=int(index),
            prompt=prompts[pid],
            completion=completion if isinstance(completion, str) else "",
        )
        if groups and groups[-1][0].problem_id == pid:
            groups[-1].append(request)
        else:
            groups.append([request])
    return groups


def scores_frame(
    model: str, dataset: str, scorer: str, requests: Sequence[ScoreRequest], scores: Sequence[Score]
) -> pd.DataFrame:
    """Rows of the SCORES table for requests and their scores."""
    return pd.DataFrame(
        {
            "model": model,
            "dataset": dataset,
            "problem_id": [r.problem_id for r in requests],
            "sample_index": [r.sample_index for r in requests],
            "score": [s.score for s in scores],
            "scorer": scorer,
            "wall_s": [s.wall_s for s in scores],
        },
        columns=SCORES.names,
    )


def scoring_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that determine a scorer's scores (not cluster resources or how it is reached)."""
    out = {k: v for k, v in spec.items() if k not in NOT_SCORING}
    for section, keys in OPERATIONAL.items():
        if isinstance(out.get(section), Mapping):
            out[section] = {k: v for k, v in out[section].items() if k not in keys}
    return out


def job_key(
    *, scorer: str, spec: Mapping[str, Any], groups: Sequence[Sequence[ScoreRequest]], weights: Weights
) -> str:
    """What determines a shard's scores; part files of another key are not reused."""
    inputs = "\x1e".join(
        f"{r.problem_id}\x1f{r.sample_index}\x1f{r.prompt}\x1f{r.completion}"
        for group in groups
        for r in group
    )
    return fingerprint(
        {
            "scorer": scorer,
            "spec": scoring_spec(spec),
            "inputs": sha256_bytes(inputs.encode("utf-8")),
            "weights": [weights.sha256, weights.source],
            "code": code_hash(scoring_closure(str(spec.get("backend")))),
        }
    )


def score_shard(
    samples_path: str | Path,
    problems_path: str | Path,
    out: str | Path,
    *,
    scorer: str,
    scorer_spec: Mapping[str, Any],
    manifest: str | Path | None = None,
    progress_interval_s: float = 10.0,
) -> None:
    """Score every sample of a sample shard with `scorer` and write the score shard.

    Resumes from `<out>.part/` when an earlier run of the same job was killed.
    """
    started = time.perf_counter()
    samples = read_table(samples_path, SAMPLES)
    problems = read_table(problems_path, PROBLEMS)
    groups = score_requests(samples, problems)
    model = str(samples["model"].iat[0]) if len(samples) else ""
    dataset = str(samples["dataset"].iat[0]) if len(samples) else ""
    weights = _weights_here(manifest, scorer_spec.get("weights") or {})
    parts = ShardParts(out, job_key(scorer=scorer, spec=scorer_spec, groups=groups, weights=weights), SCORES)
    done = parts.open()
    todo = [i for i in range(len(groups)) if i not in done]
    label = f"{scorer} on {model}/{dataset} {Path(samples_path).stem}"
    if done:
        log.info(
            "%s: resuming, %d of %d problems already done in %s", label, len(done), len(groups), parts.dir
        )
    progress = Progress(
        label,
        len(groups),
        len(samples),
        resumed_problems=len(done),
        resumed_samples=sum(len(done[i]) for i in done),
        interval_s=progress_interval_s,
    )
    if todo:
        backend = make_scorer(scorer, scorer_spec, weights)
        log.info(
            "%s: %s backend %s, %d problems (%d samples) to score",
            label,
            backend.info.backend,
            backend.info.details,
            len(todo),
            sum(len(groups[i]) for i in todo),
        )
        try:
            for local, scores in backend.score_groups([groups[i] for i in todo]):
                position = todo[local]
                frame = scores_frame(model, dataset, scorer, groups[position], scores)
                parts.write(position, frame)
                done[position] = frame
                progress.update(len(frame), 0)
        finally:
            close = getattr(backend, "close", None)
            if close is not None:
                close()
    frames = [done[i] for i in range(len(groups))]
    frame = pd.concat(frames, ignore_index=True) if frames else SCORES.empty_table().to_pandas()
    write_table(frame, out, SCORES)
    parts.remove()
    log.info("%s: wrote %d scores in %.1f s", label, len(frame), time.perf_counter() - started)
