"""The `http` scorer backend: a reward model or an LM judge behind an HTTP server.

Methods (`method`):

- `logprob`: the scoring model's log-likelihood of the completion given the prompt,
  from any OpenAI-compatible `/completions` endpoint that echoes prompt
  log-probabilities (vLLM, llama.cpp's servers): the request sends prompt +
  completion with `echo: true, logprobs: 0, max_tokens: 1, temperature: 0` and
  the score is the mean (`reduce: mean`, default) or sum of `token_logprobs` over
  the completion's tokens. Those are the tokens holding at least one character of
  the completion, found from `text_offset` (a token straddling the prompt's end
  counts); the one generated token is not among them. `max_tokens: 1` because
  llama.cpp reads 0 as "no limit". A completion with no tokens scores -inf.
- `judge`: an LM as judge: the log-probability of `answer` (default " Yes") after a
  verification prompt (`template` with {{prompt}} and {{completion}}), by the same
  echo request: sum of the answer's token log-probabilities. Works with base models
  and any server that supports `logprob`.
- `classify`: vLLM's `/classify` (sequence-classification reward models such as
  Skywork-Reward, served with `vllm serve MODEL --runner pooling`): the `label`-th
  entry of `probs` (vLLM < 0.19: after the model's activation unless
  `use_activation: false`) or of `logits` (newer vLLM, where `use_activation`
  defaults to false).
- `pooling`: vLLM's `/pooling` (any pooling runner): the `label`-th entry of the
  returned vector, of its last row for a token-level (per-token) reward model.
- `score`: vLLM's `/score` (cross-encoder and reranker models): `text_1` is the
  prompt, `text_2` the completion.

`classify` and `pooling` send `input` (the rendered `template`, default
"{{prompt}}{{completion}}") or, with `input: chat`, `messages` (the prompt as the
user's turn and the completion as the assistant's), which reward models trained on
chat transcripts expect. vLLM serves these three endpoints at the server's root: the
URL is `base_url` without a trailing `/v1`, plus the endpoint; `url` overrides it.

One request per sample, up to `max_concurrency` in flight. HTTP 408/409/425/429
and 5xx, timeouts and dropped connections are retried up to `max_retries` times
with exponential backoff (`backoff_s * 2**attempt`, capped at `max_backoff_s`, with
jitter, or the server's Retry-After; `monkeys.http_retry`, shared with sampling's
`openai` backend); any other 4xx, a malformed answer, or running out of retries
fails the shard with an error naming the scorer and the URL
(finished problems are kept by the stage). Requests are greedy and seeded, so a
score depends only on the sample and the server. llama.cpp's server reuses the
previous request's prompt prefix and its kernels depend on the batch size, so start
it with `--n_batch 1 --n_ubatch 1` for scores that do not depend on request order.

The API key is read from the environment variable `api_key_env` and sent only as a
Bearer token; it is never logged (only the variable's name is).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from monkeys.http_retry import JSONPoster
from monkeys.scoring.base import Score, ScoreRequest, ScorerInfo, ScoringError, render, run_groups

METHODS = ("logprob", "judge", "classify", "pooling", "score")
DEFAULT_JUDGE = (
    "{{prompt}}{{completion}}\n\nQuestion: Is the solution above correct? Answer Yes or No.\nAnswer:"
)
DEFAULT_TEMPLATES = {
    "logprob": "{{prompt}}",
    "judge": DEFAULT_JUDGE,
    "classify": "{{prompt}}{{completion}}",
    "pooling": "{{prompt}}{{completion}}",
}


@dataclass(frozen=True)
class HTTPConfig:
    """The `http` section of a scorer's config."""

    base_url: str
    model: str
    method: str = "logprob"
    url: str | None = None
    api_key_env: str | None = None
    input: str = "text"
    template: str | None = None
    answer: str = " Yes"
    reduce: str = "mean"
    label: int = 0
    use_activation: bool | None = None
    max_concurrency: int = 8
    max_retries: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    timeout_s: float = 600.0
    extra_body: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, name: str, spec: Mapping[str, Any]) -> HTTPConfig:
        """Check and build; a ScoringError names the scorer and the bad setting."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ScoringError(f"scorer {name!r}: unknown http settings {unknown}; allowed: {sorted(known)}")
        if "base_url" not in spec or "model" not in spec:
            raise ScoringError(f"scorer {name!r}: the http backend needs `base_url` and `model`")
        config = cls(**dict(spec))
        problem = config.problem()
        if problem:
            raise ScoringError(f"scorer {name!r}: {problem}")
        return config

    def problem(self) -> str | None:
        """What is inconsistent in these settings, or None."""
        if self.method not in METHODS:
            return f"http.method is {self.method!r}; allowed: {', '.join(METHODS)}"
        if self.input not in ("text", "chat"):
            return f"http.input is {self.input!r}; allowed: text, chat"
        if self.reduce not in ("mean", "sum"):
            return f"http.reduce is {self.reduce!r}; allowed: mean, sum"
        template = self.template_text()
        if self.method == "logprob" and "{{completion}}" in template:
            return (
                "http.template of method logprob is the context the completion is scored "
                "after: it must not contain {{completion}}"
            )
        if (
            self.method in ("judge", "classify", "pooling")
            and self.input == "text"
            and "{{completion}}" not in template
        ):
            return f"http.template of method {self.method} must contain {{{{completion}}}}"
        if self.method == "judge" and not self.answer:
            return "http.answer (the judge's approving answer, e.g. ' Yes') must not be empty"
        return None

    def template_text(self) -> str:
        """The configured template, or the method's default."""
        return self.template if self.template is not None else DEFAULT_TEMPLATES.get(self.method, "")

    def endpoint_url(self) -> str:
        """Where requests go: `url`, else base_url + /completions, else the server root + /method."""
        if self.url:
            return self.url
        base = self.base_url.rstrip("/")
        if self.method in ("logprob", "judge"):
            return base + "/completions"
        root = base[: -len("/v1")] if base.endswith("/v1") else base
        return f"{root}/{self.method}"


# -- pure helpers: what to send, and what the answer means ---------------------------------


def span_logprobs(
    text: str, offsets: Sequence[int], logprobs: Sequence[float | None], start: int, stop: int
) -> list[float | None]:
    """Log-probabilities of the echoed tokens that hold a character of text[start:stop].

    Token i covers [offsets[i], offsets[i+1]) (the last one up to len(text)); with `stop` at
    most the length of the text sent, the generated token after it is never included.
    """
    if len(offsets) != len(logprobs):
        raise ValueError("text_offset and token_logprobs differ in length")
    out = []
    for i, (begin, value) in enumerate(zip(offsets, logprobs, strict=True)):
        end = offsets[i + 1] if i + 1 < len(offsets) else len(text)
        if begin < stop and end > start:
            out.append(value)
    return out


def logprob_text(config: HTTPConfig, request: ScoreRequest) -> tuple[str, int, int]:
    """(text sent, start, stop) of the part whose tokens are scored (`logprob` and `judge`)."""
    if config.method == "logprob":
        prefix = render(config.template_text(), request.prompt, request.completion)
        target = request.completion
    else:
        prefix = render(config.template_text(), request.prompt, request.completion)
        target = config.answer
    return prefix + target, len(prefix), len(prefix) + len(target)


def request_body(config: HTTPConfig, request: ScoreRequest) -> dict[str, Any]:
    """The JSON body for one sample."""
    body: dict[str, Any] = {"model": config.model}
    if config.method in ("logprob", "judge"):
        text, _, _ = logprob_text(config, request)
        body.update(prompt=text, max_tokens=1, temperature=0, echo=True, logprobs=0, seed=0)
    elif config.method == "score":
        body.update(text_1=request.prompt, text_2=request.completion)
    elif config.input == "chat":
        body["messages"] = [
            {"role": "user", "content": request.prompt},
            {"role": "assistant", "content": request.completion},
        ]
    else:
        body["input"] = render(config.template_text(), request.prompt, request.completion)
    if config.use_activation is not None and config.method in ("classify", "pooling", "score"):
        body["use_activation"] = config.use_activation
    body.update(config.extra_body)
    return body


def _first(reply: Mapping[str, Any], key: str) -> Any:
    items = reply.get(key)
    if not isinstance(items, list) or not items:
        raise ValueError(f"the answer has no `{key}` list")
    return items[0]


def _entry(values: Any, label: int) -> float:
    if isinstance(values, str):
        raise ValueError("the answer is base64-encoded; do not set encoding_format")
    if isinstance(values, (int, float)):
        values = [values]
    if not isinstance(values, list) or not values:
        raise ValueError(f"expected a list of numbers, got {str(values)[:80]!r}")
    if isinstance(values[0], list):  # token-level output: the last token's row
        values = values[-1]
    if not -len(values) <= label < len(values):
        raise ValueError(f"label {label} is out of range for {len(values)} output(s)")
    return float(values[label])


def parse_reply(config: HTTPConfig, request: ScoreRequest, reply: Mapping[str, Any]) -> float:
    """The score in a server's answer; ValueError says what is missing."""
    if config.method in ("logprob", "judge"):
        choice = _first(reply, "choices")
        lp = choice.get("logprobs") or {}
        offsets, values = lp.get("text_offset"), lp.get("token_logprobs")
        if not isinstance(offsets, list) or not isinstance(values, list):
            raise ValueError(
                "the answer has no logprobs.text_offset/token_logprobs: the server "
                "must support `echo` with `logprobs` on /completions"
            )
        text, start, stop = logprob_text(config, request)
        echoed = choice.get("text") or ""
        if not echoed.startswith(text):
            raise ValueError("the answer does not echo the prompt (does the server support `echo: true`?)")
        picked = span_logprobs(echoed, offsets, values, start, stop)
        if any(v is None for v in picked):
            raise ValueError(
                "the server gave no log-probability for a scored token (the "
                "first token of a text has none: give the template some context)"
            )
        if not picked:
            return -math.inf
        total = math.fsum(float(v) for v in picked)  # type: ignore[arg-type]
        return total / len(picked) if config.method == "logprob" and config.reduce == "mean" else total
    if config.method == "score":
        return float(_first(reply, "data")["score"])
    item = _first(reply, "data")
    if config.method == "pooling":
        return _entry(item.get("data"), config.label)
    for key in ("probs", "probabilities", "logits"):  # /classify, old and new vLLM
        if item.get(key):
            return _entry(item[key], config.label)
    raise ValueError("the /classify answer has none of probs, probabilities, logits")


# -- the backend ----------------------------------------------------------------------------


class HTTPScorer:
    """Scores samples with a model behind an HTTP server."""

    def __init__(self, *, name: str, config: Mapping[str, Any]):
        self.name = name
        self.config = HTTPConfig.from_config(name, config)
        self.url = self.config.endpoint_url()
        api_key = None
        if self.config.api_key_env:
            api_key = os.environ.get(self.config.api_key_env)
            if not api_key:
                raise ScoringError(
                    f"scorer {name!r}: environment variable {self.config.api_key_env} "
                    "(http.api_key_env) is not set; export the API key under that name"
                )
        self._poster = JSONPoster(
            self.url,
            self.config,
            where=f"scorer {name!r}: POST {self.url}",
            error=ScoringError,
            api_key=api_key,
        )
        self.stats = self._poster.stats
        cfg = self.config
        self.info = ScorerInfo(
            backend="http",
            scorer=name,
            details={
                "url": self.url,
                "served_model": cfg.model,
                "method": cfg.method,
                "max_concurrency": cfg.max_concurrency,
                "api_key_env": cfg.api_key_env,  # the variable's name, never its value
            },
        )

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST with retries (`monkeys.http_retry`)."""
        return self._poster.post(body)

    def score_one(self, request: ScoreRequest) -> Score:
        """One sample's score (one request)."""
        started = time.perf_counter()
        reply = self._post(request_body(self.config, request))
        try:
            value = parse_reply(self.config, request, reply)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ScoringError(
                f"scorer {self.name!r}: unexpected answer from {self.url} "
                f"(method {self.config.method}): {exc}"
            ) from None
        if math.isnan(value):
            raise ScoringError(
                f"scorer {self.name!r}: {self.url} returned NaN for "
                f"{request.problem_id} sample {request.sample_index}"
            )
        return Score(score=value, wall_s=time.perf_counter() - started)

    def score_groups(self, groups: Sequence[Sequence[ScoreRequest]]) -> Iterator[tuple[int, list[Score]]]:
        """Scores of whole problems as they finish, `max_concurrency` requests in flight."""
        yield from run_groups(
            groups, self.score_one, max_concurrency=self.config.max_concurrency, name=f"score-{self.name}"
        )


def from_config(name: str, spec: Mapping[str, Any], weights: Any = None) -> HTTPScorer:
    """The http scorer backend (monkeys.scoring.backends): a reward model behind a server."""
    return HTTPScorer(name=name, config=spec.get("http") or {})
