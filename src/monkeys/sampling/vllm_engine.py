"""The `vllm` backend: vLLM's offline engine inside the (GPU) sampling job.

vLLM is an optional dependency (`pip install 'monkeys[vllm]'`, or the image
built from containers/vllm.Dockerfile); the sampler imports it when it starts
and says how to install it when it is missing.

One request per sample, each with its own `SamplingParams(seed=...)` (the seed
derived for that sample), so a sample's seed never depends on the shard layout.
This costs no extra prefill: with `enable_prefix_caching` (on by default) the
requests of one prompt share its KV cache, and vLLM's V1 engine implements
`n > 1` the same way, as n child requests with seeds `seed + i`
(vllm/v1/engine/parallel_sampling.py), which would tie a sample's seed to its
position in a request. Many problems go into one `generate` call (at least
`checkpoint_samples` samples) so the GPU sees large batches; each call's
problems are then written to the shard's part files.

vLLM's results can depend on the batch a request shares (kernels pick tile
sizes by batch size); `batch_invariant: true` sets VLLM_BATCH_INVARIANT=1
(vLLM's batch-invariant kernels, on recent GPUs) for results that depend only
on the request.

Log-probabilities: each request asks for the sampled token's log-probability
(`SamplingParams(logprobs=0)`); `logprob_sum` sums them over the output's
`token_ids` (all of them are counted in `completion_tokens`; see
`monkeys.sampling.logprobs`). vLLM's V1 engine computes them from the raw
logits (`logprobs_mode: raw_logprobs`, its default); another `logprobs_mode` in
`engine_args` is refused. The V0 engine (vLLM < 0.8, VLLM_USE_V1=0, or a fallback) returns
them after temperature and top-k/top-p, which cannot be converted back: there
no log-probabilities are requested and `logprob_sum` is None.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from monkeys.errors import MonkeysError
from monkeys.sampling.base import SampleRequest, SampleResult, SamplerInfo, SamplingParams
from monkeys.sampling.logprobs import DEFINITION

log = logging.getLogger(__name__)

ENGINE_KEYS = (
    "tensor_parallel_size",
    "dtype",
    "max_model_len",
    "gpu_memory_utilization",
    "enable_prefix_caching",
    "max_num_seqs",
    "quantization",
    "trust_remote_code",
    "tokenizer",
    "revision",
    "enforce_eager",
    "swap_space",
)
OWN_KEYS = ("batch_invariant", "checkpoint_samples", "engine_args")


class VLLMBackendError(MonkeysError, RuntimeError):
    """vLLM is missing or could not run the model."""


def _import_vllm():
    try:
        import vllm
    except ImportError as exc:
        raise VLLMBackendError(
            "backend 'vllm' needs vLLM, which is not installed here: on a machine with an "
            "NVIDIA GPU run `pip install 'monkeys[vllm]'` in the repository (or use the image "
            f"from containers/vllm.Dockerfile) ({exc})"
        ) from None
    return vllm


def engine_kwargs(model_path: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `vllm.LLM` from the model's `vllm` config section."""
    unknown = sorted(set(spec) - set(ENGINE_KEYS) - set(OWN_KEYS))
    if unknown:
        raise VLLMBackendError(f"unknown vllm settings {unknown}; allowed: {sorted(ENGINE_KEYS + OWN_KEYS)}")
    kwargs: dict[str, Any] = {"model": model_path, "seed": 0}
    kwargs.update({k: spec[k] for k in ENGINE_KEYS if spec.get(k) is not None})
    kwargs.update(spec.get("engine_args") or {})
    mode = kwargs.get("logprobs_mode", "raw_logprobs")
    if mode != "raw_logprobs":
        raise VLLMBackendError(
            f"vllm engine_args logprobs_mode {mode!r}: samples record raw log-probabilities "
            "(temperature 1, no truncation) so that scores compare across backends; remove "
            "logprobs_mode or set it to raw_logprobs"
        )
    return kwargs


def raw_logprobs(version: str, engine_module: str | None, environ: Mapping[str, str]) -> bool:
    """Whether this vLLM returns raw log-probabilities: its V1 engine does (vLLM 0.8 and later,
    unless VLLM_USE_V1=0 or vLLM fell back to V0); V0 returns them after temperature and
    truncation. `engine_module`: the module of the LLM's engine class, when known."""
    numbers = [int(n) for n in re.findall(r"\d+", version.split("+")[0])[:2]]
    if len(numbers) < 2 or tuple(numbers) < (0, 8):
        return False
    if engine_module is not None:
        return engine_module.startswith("vllm.v1.")
    return environ.get("VLLM_USE_V1", "1") != "0"


def logprob_sum(completion: Any) -> float | None:
    """Sum of the sampled tokens' log-probabilities over a vLLM CompletionOutput's token_ids."""
    entries = getattr(completion, "logprobs", None)
    tokens = list(completion.token_ids)
    if entries is None or len(entries) != len(tokens):
        return None
    total = 0.0
    for token, entry in zip(tokens, entries, strict=True):
        if entry is None or token not in entry:
            return None
        total += float(entry[token].logprob)
    return total


class VLLMSampler:
    """Draws completions with vLLM's offline `LLM` engine."""

    def __init__(self, model_path: str, *, name: str, spec: Mapping[str, Any]):
        if spec.get("batch_invariant"):
            os.environ["VLLM_BATCH_INVARIANT"] = "1"
        vllm = _import_vllm()
        self._vllm = vllm
        self.checkpoint_samples = int(spec.get("checkpoint_samples", 2048))
        kwargs = engine_kwargs(model_path, spec)
        try:
            self._llm = vllm.LLM(**kwargs)
        except (ValueError, RuntimeError, OSError) as exc:
            raise VLLMBackendError(f"vLLM could not load {model_path}: {exc}") from exc
        self._max_len = spec.get("max_model_len")
        version = getattr(vllm, "__version__", "unknown")
        engine = getattr(self._llm, "llm_engine", None)
        self._logprobs = raw_logprobs(
            version, None if engine is None else type(engine).__module__, os.environ
        )
        if not self._logprobs:
            log.warning(
                "vLLM %s runs its V0 engine, whose log-probabilities are taken after "
                "temperature and truncation: logprob_sum is not recorded",
                version,
            )
        try:
            self._tokenizer = self._llm.get_tokenizer()
        except Exception:  # pragma: no cover - only for engines without a tokenizer
            self._tokenizer = None
        self.info = SamplerInfo(
            backend="vllm",
            model=name,
            details={
                "engine": "vllm",
                "engine_version": version,
                "engine_args": {k: v for k, v in kwargs.items() if k != "seed"},
                "batch_invariant": bool(spec.get("batch_invariant")),
                "logprobs": DEFINITION if self._logprobs else None,
            },
        )

    def _params(self, params: SamplingParams, seed: int):
        kwargs: dict[str, Any] = {
            "n": 1,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            "seed": seed,
        }
        if self._logprobs:
            kwargs["logprobs"] = 0  # the sampled token's log-probability only
        if params.stop:
            kwargs["stop"] = list(params.stop)
        if params.top_k > 0:
            kwargs["top_k"] = params.top_k
        if params.min_p > 0:
            kwargs["min_p"] = params.min_p
        return self._vllm.SamplingParams(**kwargs)

    def _too_long(self, prompt: str) -> int | None:
        """The prompt's token count when it leaves no room to generate, else None."""
        if self._tokenizer is None or not self._max_len:
            return None
        count = len(self._tokenizer.encode(prompt))
        return count if count >= self._max_len else None

    def _generate(self, requests: list[SampleRequest], params: SamplingParams) -> list[SampleResult]:
        started = time.perf_counter()
        results: list[SampleResult | None] = [None] * len(requests)
        todo = []
        for i, request in enumerate(requests):
            count = self._too_long(request.prompt)
            if count is None:
                todo.append(i)
            else:
                results[i] = SampleResult("", "prompt_too_long", count, 0, 0.0)
        if todo:
            outputs = self._llm.generate(
                [requests[i].prompt for i in todo],
                [self._params(params, requests[i].seed) for i in todo],
                use_tqdm=False,
            )
            share = (time.perf_counter() - started) / len(todo)
            for i, output in zip(todo, outputs, strict=True):
                completion = output.outputs[0]
                results[i] = SampleResult(
                    completion=completion.text,
                    finish_reason=completion.finish_reason or "stop",
                    prompt_tokens=len(output.prompt_token_ids or []),
                    completion_tokens=len(completion.token_ids),
                    wall_s=share,
                    logprob_sum=logprob_sum(completion) if self._logprobs else None,
                )
        return results  # type: ignore[return-value]

    def sample_groups(
        self, groups: Sequence[Sequence[SampleRequest]], params: SamplingParams
    ) -> Iterator[tuple[int, list[SampleResult]]]:
        """Whole problems, `checkpoint_samples` or more samples per `generate` call."""
        chunk: list[int] = []
        size = 0
        for position, group in enumerate(groups):
            chunk.append(position)
            size += len(group)
            if size >= self.checkpoint_samples or position == len(groups) - 1:
                flat = [request for p in chunk for request in groups[p]]
                results = self._generate(flat, params)
                offset = 0
                for p in chunk:
                    yield p, results[offset : offset + len(groups[p])]
                    offset += len(groups[p])
                chunk, size = [], 0

    def sample(self, requests: Sequence[SampleRequest], params: SamplingParams) -> list[SampleResult]:
        """One completion per request, in request order."""
        return self._generate(list(requests), params)


def from_config(model: str, model_spec: Mapping[str, Any], weights: Any, imported: Any = None) -> VLLMSampler:
    """The vllm backend (monkeys.sampling.backends); the weights' revision unless the
    `vllm` section names one."""
    from monkeys.sampling.weights import vllm_section

    return VLLMSampler(weights.path, name=model, spec=vllm_section(model_spec))
