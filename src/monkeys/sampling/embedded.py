"""The embedded sampler: a GGUF model run on the CPU by llama.cpp (llama-cpp-python).

Determinism across shard layouts: llama.cpp reuses its KV cache for a shared
prompt prefix and may compute a token's activations with different kernels
depending on how many tokens share its batch. So that a sample never depends
on what ran before it in the same process, every problem's prompt is prepared
the same way: the cache is reset, all prompt tokens but the last are
evaluated, and each sample then evaluates the last prompt token alone and
draws with its own seed.

Log-probabilities (`logprob_sum`, defined in `monkeys.sampling.logprobs`): each
token llama.cpp yields is scored against the logits of the step that drew it,
read from the context before the next token is evaluated; reading them does not
change what is drawn.
"""

from __future__ import annotations

import functools
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monkeys.errors import MonkeysError
from monkeys.sampling.base import SampleRequest, SampleResult, SamplerInfo, SamplingParams
from monkeys.sampling.logprobs import DEFINITION, token_logprob


class EmbeddedModelError(MonkeysError, RuntimeError):
    """The embedded model could not be loaded or used."""


def model_file(model_path: str | Path) -> Path:
    """The GGUF file to load; a clear error if it is missing."""
    path = Path(model_path)
    if not path.is_file():
        raise EmbeddedModelError(f"model file not found: {path}")
    return path


REBUILD = (
    'pip cache remove llama_cpp_python && CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON '
    '-DGGML_FMA=ON -DGGML_F16C=ON" pip install --no-cache-dir --force-reinstall '
    "--no-deps llama-cpp-python"
)

_PROBE = """
import sys, llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=64, n_threads=1, verbose=False)
llm.eval(llm.tokenize(b"def f(x):\\n    return x", add_bos=True))
"""


@functools.cache
def check_build(path: Path) -> None:
    """Refuse a llama.cpp build whose AMX kernels this machine cannot run.

    A native build uses AMX tiles where the CPU reports them; virtual machines may report
    AMX without enabling it, and every decode then dies with SIGSEGV. Such a build is
    probed once per process in a child process, so the crash becomes a clear error.
    """
    import llama_cpp

    if b"AMX" not in llama_cpp.llama_print_system_info():
        return
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)], capture_output=True, text=True, check=False
    )
    if probe.returncode < 0:
        raise EmbeddedModelError(
            f"this llama.cpp build uses AMX, and a decode on this machine died with "
            f"{signal.Signals(-probe.returncode).name} (a CPU that reports AMX without "
            f"enabling it). Rebuild it for a portable CPU baseline: {REBUILD}"
        )
    if probe.returncode != 0:
        raise EmbeddedModelError(f"llama.cpp could not decode with {path}: {probe.stderr.strip()[-2000:]}")


def llama_info(
    name: str, path: Path, threads: int, context_length: int, engine: str, **details: Any
) -> SamplerInfo:
    """What an embedded llama.cpp sampler records in provenance."""
    import llama_cpp

    return SamplerInfo(
        backend="embedded",
        model=name,
        details={
            "engine": engine,
            "engine_version": llama_cpp.__version__,
            "model_path": str(path),
            "threads": threads,
            "context_length": context_length,
            "logprobs": DEFINITION,
            **details,
        },
    )


class LlamaCppSampler:
    """Draws completions from a local GGUF model with llama.cpp."""

    def __init__(self, model_path: str | Path, *, name: str, threads: int, context_length: int):
        try:
            from llama_cpp import Llama
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise EmbeddedModelError(
                "llama-cpp-python is not installed; run `pip install -e .` in the repository"
            ) from exc
        path = model_file(model_path)
        check_build(path)
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=context_length,
                n_threads=threads,
                n_threads_batch=threads,
                seed=0,
                logits_all=False,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise EmbeddedModelError(f"llama.cpp could not load {path}: {exc}") from exc
        self._context_length = context_length
        self._prepared: tuple[int, ...] | None = None
        self._n_vocab = self._llm.n_vocab()
        self._logprobs: list[float] = []
        self._generate = self._llm.generate
        self._llm.generate = self._scored_generate  # type: ignore[method-assign]  # create_completion draws through it
        self.info = llama_info(name, path, threads, context_length, "llama-cpp-python")

    def _scored_generate(self, *args: Any, **kwargs: Any):
        """llama-cpp-python's `generate`, recording each yielded token's log-probability
        under the logits it was drawn from (the last row of the latest decode)."""
        import llama_cpp

        for token in self._generate(*args, **kwargs):
            pointer = llama_cpp.llama_get_logits_ith(self._llm.ctx, -1)
            logits = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))
            self._logprobs.append(token_logprob(logits, token))
            yield token

    def _prepare(self, tokens: list[int]) -> None:
        """Reset the cache and evaluate all prompt tokens but the last."""
        self._llm.reset()
        self._llm.eval(tokens[:-1])
        self._prepared = tuple(tokens)

    def _draw(self, request: SampleRequest, params: SamplingParams) -> SampleResult:
        started = time.perf_counter()
        tokens = self._llm.tokenize(request.prompt.encode("utf-8"), add_bos=True, special=False)
        budget = self._context_length - len(tokens)
        if budget < 1:
            return SampleResult("", "prompt_too_long", len(tokens), 0, time.perf_counter() - started)
        if self._prepared != tuple(tokens):
            self._prepare(tokens)
        self._logprobs = []
        out: dict[str, Any] = self._llm.create_completion(
            tokens,
            max_tokens=min(params.max_tokens, budget),
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=params.top_k,
            min_p=params.min_p,
            typical_p=1.0,
            repeat_penalty=1.0,
            stop=list(params.stop) or None,
            seed=request.seed,
        )  # type: ignore[assignment]
        choice = out["choices"][0]
        usage = out["usage"]
        count = int(usage["completion_tokens"])
        # The yielded tokens are the completion's tokens, then an end-of-text token when
        # one ended it (not counted in completion_tokens).
        if len(self._logprobs) not in (count, count + 1):
            raise EmbeddedModelError(
                f"llama.cpp yielded {len(self._logprobs)} tokens for a completion of {count}"
            )
        return SampleResult(
            completion=choice["text"],
            finish_reason=choice["finish_reason"] or "stop",
            prompt_tokens=int(usage["prompt_tokens"]),
            completion_tokens=count,
            wall_s=time.perf_counter() - started,
            logprob_sum=float(sum(self._logprobs[:count])),
        )

    def sample(self, requests: Sequence[SampleRequest], params: SamplingParams) -> list[SampleResult]:
        """One completion per request, in order."""
        return [self._draw(request, params) for request in requests]


def from_config(model: str, model_spec: Mapping[str, Any], weights: Any, imported: Any = None) -> Any:
    """The embedded backend (monkeys.sampling.backends): llama.cpp, one sequence at a time, or
    `parallel` sequences in one batch (monkeys.sampling.batched)."""
    parallel = int(model_spec.get("parallel", 1))
    if parallel > 1:
        from monkeys.sampling.batched import LlamaBatchedSampler

        return LlamaBatchedSampler(
            weights.path,
            name=model,
            threads=model_spec["threads"],
            context_length=model_spec["context_length"],
            parallel=parallel,
            block=model_spec.get("block"),
        )
    return LlamaCppSampler(
        weights.path, name=model, threads=model_spec["threads"], context_length=model_spec["context_length"]
    )
