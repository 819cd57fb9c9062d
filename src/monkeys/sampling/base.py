"""The sampler interface: every backend turns sample requests into completions.

Backends (embedded llama.cpp, vLLM's offline engine, OpenAI-compatible servers,
imports of existing sample sets) implement `Sampler`. A request carries its own
seed, so what a backend returns for a request does not depend on which other
requests share its shard (see each backend for what it guarantees).

A backend may also implement `sample_groups`, yielding the results of whole
problems as they finish (a server backend keeps many problems in flight, vLLM
batches many problems per call); `iter_groups` falls back to one `sample` call
per problem. The sampling stage writes each finished problem to a part file, so
a killed shard resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class SamplingParams:
    """Decoding settings shared by all requests of a job (from config `sampling`)."""

    temperature: float
    top_p: float
    max_tokens: int
    stop: tuple[str, ...] = ()
    top_k: int = 0  # 0 disables top-k
    min_p: float = 0.0  # 0 disables min-p

    @classmethod
    def from_config(cls, sampling: dict[str, Any]) -> SamplingParams:
        """Build from the validated `sampling` section of the config."""
        return cls(
            temperature=float(sampling["temperature"]),
            top_p=float(sampling["top_p"]),
            max_tokens=int(sampling["max_tokens"]),
            stop=tuple(sampling["stop"]),
            top_k=int(sampling["top_k"]),
            min_p=float(sampling["min_p"]),
        )


@dataclass(frozen=True)
class SampleRequest:
    """One completion to draw: the prompt and the seed derived for this sample."""

    problem_id: str
    prompt: str
    sample_index: int
    seed: int


@dataclass(frozen=True)
class SampleResult:
    """A completion and what it cost."""

    completion: str
    finish_reason: str  # "stop" (stop sequence or end of text) or "length"
    prompt_tokens: int
    completion_tokens: int
    wall_s: float
    seed: int | None = None  # overrides the request's seed in the table (imports record -1)
    logprob_sum: float | None = None  # sum of the completion tokens' log-probabilities
    score: float | None = None  # an imported reward score
    imported_correct: bool | None = None  # an imported verdict


@dataclass(frozen=True)
class SamplerInfo:
    """What produced the samples, for provenance."""

    backend: str
    model: str
    details: dict[str, Any] = field(default_factory=dict)


class Sampler(Protocol):
    """A backend that draws completions."""

    info: SamplerInfo

    def sample(self, requests: Sequence[SampleRequest], params: SamplingParams) -> list[SampleResult]:
        """One result per request, in request order."""
        ...


def iter_groups(
    sampler: Sampler, groups: Sequence[Sequence[SampleRequest]], params: SamplingParams
) -> Iterator[tuple[int, list[SampleResult]]]:
    """(group position, results in request order) for every group, as groups finish.

    Uses the backend's own `sample_groups` when it has one (the order of groups may
    then differ from the input order); otherwise one `sample` call per group.
    """
    own = getattr(sampler, "sample_groups", None)
    if own is not None:
        yield from own(groups, params)
        return
    for position, group in enumerate(groups):
        yield position, sampler.sample(group, params)
