"""The `openai` backend: any OpenAI-compatible server (vLLM, SGLang, llama.cpp, hosted APIs).

Requests go to `{base_url}/completions` (completion-style prompts, as the
papers use for base models) or `{base_url}/chat/completions` (`endpoint: chat`,
the prompt as one user message). At most `max_concurrency` requests are in
flight; a request that fails with HTTP 408, 429 or 5xx, a timeout or a dropped
connection is retried up to `max_retries` times with exponential backoff
(`backoff_s * 2**attempt`, capped at `max_backoff_s`, with jitter, or the
server's Retry-After when it sends one; `monkeys.http_retry`, shared with the
`http` scorer); any other HTTP error, or running out of retries, fails the shard
with a message naming the URL and the last error.
Problems finished before the failure are kept by the sampling stage.

Each request carries the sample's seed (`seed`); whether the server honours it
is up to the server. With `n_per_request: k > 1` one request asks for k samples
(`n`) of aligned blocks of k sample indices, seeded with the block's first seed
(recorded as the seed of all k samples); servers that ignore `n` (llama.cpp's
returns one choice) are detected and fail with a clear message. With n > 1
the server reports completion tokens per request only, so they are split over
the choices in proportion to their lengths (an estimate), unless the server
returns log-probabilities, which count each choice's tokens.

Log-probabilities (`logprobs: true`, the default): the request asks for the
sampled tokens' log-probabilities (`logprobs: 0` on /completions, `logprobs:
true, top_logprobs: 0` on /chat/completions) and `logprob_sum` is their sum
(`monkeys.sampling.logprobs` says which value servers report). A sample's
`completion_tokens` is then the number of tokens summed. When the text holds a
stop sequence the server did not apply (more stops than `stop_limit`), the text
is cut here and both stop at the token that completes the stop sequence, as if
the server had stopped there. A server that returns no log-probabilities leaves
`logprob_sum` empty; set `logprobs: false` for one that rejects the field.

The API key is read from the environment variable named by `api_key_env` when
the sampler starts; it is sent only in the Authorization header and is never
logged or written to provenance (only the variable's name is).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from monkeys.errors import MonkeysError
from monkeys.http_retry import JSONPoster
from monkeys.sampling.base import SampleRequest, SampleResult, SamplerInfo, SamplingParams
from monkeys.sampling.logprobs import tokens_through_stop


class OpenAIBackendError(MonkeysError, RuntimeError):
    """The server could not be used (bad configuration, a non-retryable error, or retries exhausted)."""


@dataclass(frozen=True)
class OpenAIConfig:
    """The `openai` section of a model's config."""

    base_url: str
    model: str
    api_key_env: str | None = None
    endpoint: str = "completions"
    max_concurrency: int = 8
    max_retries: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    timeout_s: float = 600.0
    n_per_request: int = 1
    stop_limit: int | None = None
    logprobs: bool = True
    extra_body: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, spec: Mapping[str, Any]) -> OpenAIConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(spec) - known)
        if unknown:
            raise OpenAIBackendError(f"unknown openai settings {unknown}; allowed: {sorted(known)}")
        if "base_url" not in spec or "model" not in spec:
            raise OpenAIBackendError("the openai backend needs `base_url` and `model`")
        return cls(**dict(spec))


def split_tokens(total: int, texts: Sequence[str]) -> list[int]:
    """Split `total` tokens over texts in proportion to their lengths (sums to `total`)."""
    if not texts:
        return []
    weights = [max(len(t), 1) for t in texts]
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    out = [int(s) for s in shares]
    order = sorted(range(len(texts)), key=lambda i: (out[i] - shares[i], i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def apply_stops(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """Cut `text` at the first occurrence of any stop sequence; (text, whether cut)."""
    hits = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[: min(hits)], True) if hits else (text, False)


def choice_logprobs(choice: Mapping[str, Any]) -> tuple[list[float], list[str]] | None:
    """(log-probabilities, text pieces) of a choice's tokens, from the completions format
    (`token_logprobs`, `tokens`) or the chat format (`content`); None when absent or partial."""
    data = choice.get("logprobs")
    if not isinstance(data, Mapping):
        return None
    if isinstance(data.get("content"), list):
        entries = data["content"]
        values = [e.get("logprob") if isinstance(e, Mapping) else None for e in entries]
        pieces = [e.get("token") if isinstance(e, Mapping) else None for e in entries]
    else:
        values, pieces = data.get("token_logprobs"), data.get("tokens")
    if not isinstance(values, list) or not isinstance(pieces, list) or len(values) != len(pieces):
        return None
    if any(not isinstance(v, int | float) or isinstance(v, bool) for v in values):
        return None
    return [float(v) for v in values], [p if isinstance(p, str) else "" for p in pieces]


def scored_tokens(choice: Mapping[str, Any], stops: Sequence[str], cut: bool) -> tuple[int, float] | None:
    """(completion tokens, their log-probability sum) of a choice with log-probabilities; with
    `cut` (the text held a stop sequence the server did not apply), only the tokens through the
    one that completes it. None when the choice has no usable log-probabilities."""
    parsed = choice_logprobs(choice)
    if parsed is None:
        return None
    values, pieces = parsed
    if cut:
        kept = tokens_through_stop(pieces, stops)
        if kept is None:
            return None
        values = values[:kept]
    return len(values), math.fsum(values)


def blocks(requests: Sequence[SampleRequest], size: int) -> list[list[SampleRequest]]:
    """Requests of one prompt grouped into aligned blocks of `size` sample indices."""
    groups: dict[int, list[SampleRequest]] = {}
    for request in sorted(requests, key=lambda r: r.sample_index):
        groups.setdefault(request.sample_index // size, []).append(request)
    return [groups[key] for key in sorted(groups)]


class OpenAISampler:
    """Draws completions from an OpenAI-compatible HTTP server."""

    def __init__(self, *, name: str, config: Mapping[str, Any]):
        self.config = OpenAIConfig.from_config(config)
        cfg = self.config
        if cfg.endpoint not in ("completions", "chat"):
            raise OpenAIBackendError(f"openai endpoint must be 'completions' or 'chat', not {cfg.endpoint!r}")
        api_key = None
        if cfg.api_key_env:
            api_key = os.environ.get(cfg.api_key_env)
            if not api_key:
                raise OpenAIBackendError(
                    f"model {name!r}: environment variable {cfg.api_key_env} (openai.api_key_env) "
                    "is not set; export the API key under that name"
                )
        path = "completions" if cfg.endpoint == "completions" else "chat/completions"
        self.url = cfg.base_url.rstrip("/") + "/" + path
        self._poster = JSONPoster(
            self.url, cfg, where=f"POST {self.url}", error=OpenAIBackendError, api_key=api_key
        )
        self.stats = self._poster.stats
        self.info = SamplerInfo(
            backend="openai",
            model=name,
            details={
                "base_url": cfg.base_url,
                "served_model": cfg.model,
                "endpoint": cfg.endpoint,
                "max_concurrency": cfg.max_concurrency,
                "n_per_request": cfg.n_per_request,
                "api_key_env": cfg.api_key_env,  # the variable's name, never its value
                "logprobs": "the server's sampled-token logprobs" if cfg.logprobs else None,
            },
        )

    # -- HTTP ---------------------------------------------------------------

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST with retries (`monkeys.http_retry`)."""
        return self._poster.post(body)

    # -- one request ----------------------------------------------------------

    def _body(self, prompt: str, n: int, seed: int, params: SamplingParams) -> dict[str, Any]:
        cfg = self.config
        body: dict[str, Any] = {
            "model": cfg.model,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": seed,
        }
        if cfg.endpoint == "completions":
            body["prompt"] = prompt
        else:
            body["messages"] = [{"role": "user", "content": prompt}]
        if n > 1:
            body["n"] = n
        stops = list(params.stop)
        if stops:
            body["stop"] = stops[: cfg.stop_limit] if cfg.stop_limit is not None else stops
            if not body["stop"]:
                del body["stop"]
        if params.top_k > 0:
            body["top_k"] = params.top_k
        if params.min_p > 0:
            body["min_p"] = params.min_p
        if cfg.logprobs and cfg.endpoint == "completions":
            body["logprobs"] = 0  # the sampled token's only
        elif cfg.logprobs:
            body.update(logprobs=True, top_logprobs=0)
        body.update(cfg.extra_body)
        return body

    def _request(self, block: list[SampleRequest], params: SamplingParams) -> list[SampleResult]:
        """One HTTP request for a block of samples of one prompt."""
        started = time.perf_counter()
        n = len(block)
        reply = self._post(self._body(block[0].prompt, n, block[0].seed, params))
        choices = sorted(reply.get("choices") or [], key=lambda c: c.get("index", 0))
        if len(choices) != n:
            raise OpenAIBackendError(
                f"{self.url} returned {len(choices)} choice(s) for n={n}: this server does not "
                "honour `n`; set openai.n_per_request: 1 for it"
            )
        usage = reply.get("usage") or {}
        texts, cut = [], []
        for choice in choices:
            text = choice.get("text")
            if text is None:
                text = (choice.get("message") or {}).get("content") or ""
            text, was_cut = apply_stops(text, params.stop)
            texts.append(text)
            cut.append(was_cut)
        prompt_tokens = int(usage.get("prompt_tokens", 0))
        completion = int(usage.get("completion_tokens", 0))
        tokens = [completion] if n == 1 else split_tokens(completion, texts)
        scored = [
            scored_tokens(choice, params.stop, was_cut) if self.config.logprobs else None
            for choice, was_cut in zip(choices, cut, strict=True)
        ]
        share = (time.perf_counter() - started) / n
        seed = None if n == 1 else block[0].seed
        return [
            SampleResult(
                completion=text,
                finish_reason="stop" if was_cut else (choice.get("finish_reason") or "stop"),
                prompt_tokens=prompt_tokens,
                completion_tokens=count if score is None else score[0],
                wall_s=share,
                seed=seed,
                logprob_sum=None if score is None else score[1],
            )
            for text, was_cut, choice, count, score in zip(texts, cut, choices, tokens, scored, strict=True)
        ]

    # -- the sampler interface ------------------------------------------------

    def _blocks(self, group: Sequence[SampleRequest]) -> list[list[SampleRequest]]:
        return blocks(group, self.config.n_per_request)

    def sample_groups(
        self, groups: Sequence[Sequence[SampleRequest]], params: SamplingParams
    ) -> Iterator[tuple[int, list[SampleResult]]]:
        """Results of whole problems as they finish, with up to `max_concurrency` requests in flight."""
        pending: dict[int, int] = {}
        results: dict[int, dict[int, SampleResult]] = {}
        work: list[tuple[int, list[SampleRequest]]] = []
        for position, group in enumerate(groups):
            parts = self._blocks(group)
            pending[position] = len(parts)
            results[position] = {}
            work.extend((position, part) for part in parts)
            if not parts:
                yield position, []
        if not work:
            return
        queue = iter(work)
        pool = ThreadPoolExecutor(max_workers=self.config.max_concurrency, thread_name_prefix="openai")
        running: dict[Future, tuple[int, list[SampleRequest]]] = {}

        def submit_next() -> None:
            item = next(queue, None)
            if item is not None:
                running[pool.submit(self._request, item[1], params)] = item

        try:
            for _ in range(self.config.max_concurrency):
                submit_next()
            while running:
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    position, part = running.pop(future)
                    for request, result in zip(part, future.result(), strict=True):
                        results[position][request.sample_index] = result
                    pending[position] -= 1
                    submit_next()
                    if pending[position] == 0:
                        finished = results.pop(position)
                        yield position, [finished[r.sample_index] for r in groups[position]]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def sample(self, requests: Sequence[SampleRequest], params: SamplingParams) -> list[SampleResult]:
        """One completion per request, in request order."""
        by_problem: dict[str, list[SampleRequest]] = {}
        for request in requests:
            by_problem.setdefault(request.problem_id, []).append(request)
        out: dict[tuple[str, int], SampleResult] = {}
        groups = list(by_problem.values())
        for position, results in self.sample_groups(groups, params):
            for request, result in zip(groups[position], results, strict=True):
                out[(request.problem_id, request.sample_index)] = result
        return [out[(r.problem_id, r.sample_index)] for r in requests]


def from_config(
    model: str, model_spec: Mapping[str, Any], weights: Any = None, imported: Any = None
) -> OpenAISampler:
    """The openai backend (monkeys.sampling.backends): any OpenAI-compatible server."""
    return OpenAISampler(name=model, config=model_spec["openai"])
