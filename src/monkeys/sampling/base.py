"""The sampler interface: every backend turns sample requests into completions.

Backends (the embedded llama.cpp model here; vLLM, OpenAI-compatible servers and
imports of existing sample sets later) implement `Sampler`. A request carries its
own seed, so what a backend returns for a request never depends on which other
requests share its batch or shard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class SamplingParams:
    """Decoding settings shared by all requests of a job (from config `sampling`)."""

    temperature: float
    top_p: float
    max_tokens: int
    stop: tuple[str, ...] = ()
    top_k: int = 0          # 0 disables top-k
    min_p: float = 0.0      # 0 disables min-p

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
    finish_reason: str        # "stop" (stop sequence or end of text) or "length"
    prompt_tokens: int
    completion_tokens: int
    wall_s: float


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
