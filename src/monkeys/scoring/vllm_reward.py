"""The `vllm` scorer backend: vLLM's offline pooling runner inside the (GPU) scoring job.

The model is loaded with `vllm.LLM(model, runner="pooling")` (set `runner: null` and
`engine_args: {task: reward}` for vLLM < 0.10). `pooling_task: classify` (default)
calls `LLM.classify` and takes the `label`-th class output (`outputs.probs`): the
reward of a sequence-classification reward model (e.g. Skywork-Reward-V2, one label),
after the model's own activation. Any other `pooling_task` (e.g. `token_classify`
for process or token-level reward models, `reward`/`encode` in older vLLM) calls
`LLM.encode(..., pooling_task=...)` and takes the `label`-th entry of the output, of its
last row when the output is per token.

The text scored is `template` rendered with {{prompt}} and {{completion}} (default their
concatenation), or with `input: chat` the tokenizer's chat template applied to the
prompt as the user's turn and the completion as the assistant's. Whole problems go to
vLLM together, at least `checkpoint_samples` samples per call, and each call's problems
are then saved by the stage, so a killed job redoes at most one call.

vLLM is an optional dependency: `pip install 'monkeys[vllm]'` on a machine with an
NVIDIA GPU (or the image from containers/vllm.Dockerfile).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from monkeys.scoring.base import Score, ScoreRequest, ScorerInfo, ScoringError, render

ENGINE_KEYS = (
    "tensor_parallel_size",
    "dtype",
    "max_model_len",
    "gpu_memory_utilization",
    "max_num_seqs",
    "quantization",
    "trust_remote_code",
    "tokenizer",
    "revision",
    "enforce_eager",
)
OWN_KEYS = ("runner", "pooling_task", "label", "input", "template", "checkpoint_samples", "engine_args")


def _import_vllm(name: str):
    try:
        import vllm
    except ImportError as exc:
        raise ScoringError(
            f"scorer {name!r} (backend vllm) needs vLLM, which is not installed here: on a "
            "machine with an NVIDIA GPU run `pip install 'monkeys[vllm]'` in the repository (or "
            f"use the image from containers/vllm.Dockerfile) ({exc})"
        ) from None
    return vllm


def reward_engine_kwargs(name: str, model_path: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `vllm.LLM` from a scorer's `vllm` section."""
    unknown = sorted(set(spec) - set(ENGINE_KEYS) - set(OWN_KEYS))
    if unknown:
        raise ScoringError(
            f"scorer {name!r}: unknown vllm settings {unknown}; allowed: {sorted(ENGINE_KEYS + OWN_KEYS)}"
        )
    kwargs: dict[str, Any] = {"model": model_path, "seed": 0}
    runner = spec.get("runner", "pooling")
    if runner:
        kwargs["runner"] = runner
    kwargs.update({k: spec[k] for k in ENGINE_KEYS if spec.get(k) is not None})
    kwargs.update(spec.get("engine_args") or {})
    return kwargs


def _values(output: Any) -> list[Any]:
    """The numbers of one output: `probs` of LLM.classify, `data` of LLM.encode."""
    outputs = output.outputs
    data = outputs.probs if hasattr(outputs, "probs") else outputs.data
    return data.tolist() if hasattr(data, "tolist") else list(data)


def pick(values: Any, label: int) -> float:
    """The `label`-th entry of an output; of its last row for per-token outputs."""
    if isinstance(values, (int, float)):
        values = [values]
    if values and isinstance(values[0], list):
        values = values[-1]
    if not -len(values) <= label < len(values):
        raise ScoringError(f"label {label} is out of range for {len(values)} output(s)")
    return float(values[label])


class VLLMRewardScorer:
    """Scores samples with a reward model in vLLM's offline pooling runner."""

    def __init__(self, model_path: str, *, name: str, spec: Mapping[str, Any]):
        vllm = _import_vllm(name)
        self.name = name
        self.task = spec.get("pooling_task", "classify")
        self.label = int(spec.get("label", 0))
        self.input = spec.get("input", "text")
        self.template = spec.get("template") or "{{prompt}}{{completion}}"
        if self.input not in ("text", "chat"):
            raise ScoringError(f"scorer {name!r}: vllm.input is {self.input!r}; allowed: text, chat")
        if self.input == "text" and "{{completion}}" not in self.template:
            raise ScoringError(f"scorer {name!r}: vllm.template must contain {{{{completion}}}}")
        self.checkpoint_samples = int(spec.get("checkpoint_samples", 2048))
        kwargs = reward_engine_kwargs(name, model_path, spec)
        try:
            self._llm = vllm.LLM(**kwargs)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ScoringError(f"scorer {name!r}: vLLM could not load {model_path}: {exc}") from exc
        self.info = ScorerInfo(
            backend="vllm",
            scorer=name,
            details={
                "engine_version": getattr(vllm, "__version__", "unknown"),
                "engine_args": {k: v for k, v in kwargs.items() if k != "seed"},
                "pooling_task": self.task,
                "label": self.label,
                "input": self.input,
            },
        )

    def text(self, request: ScoreRequest) -> str:
        """The text the reward model reads for one sample."""
        if self.input == "chat":
            messages = [
                {"role": "user", "content": request.prompt},
                {"role": "assistant", "content": request.completion},
            ]
            return self._llm.get_tokenizer().apply_chat_template(messages, tokenize=False)
        return render(self.template, request.prompt, request.completion)

    def _score(self, requests: list[ScoreRequest]) -> list[Score]:
        started = time.perf_counter()
        texts = [self.text(r) for r in requests]
        if self.task == "classify":
            outputs = self._llm.classify(texts, use_tqdm=False)
        else:
            outputs = self._llm.encode(texts, pooling_task=self.task, use_tqdm=False)
        share = (time.perf_counter() - started) / max(len(requests), 1)
        scores = [pick(_values(output), self.label) for output in outputs]
        if len(scores) != len(requests) or any(math.isnan(s) for s in scores):
            raise ScoringError(
                f"scorer {self.name!r}: vLLM returned {len(scores)} scores "
                f"(NaN among them?) for {len(requests)} samples"
            )
        return [Score(score=s, wall_s=share) for s in scores]

    def score_groups(self, groups: Sequence[Sequence[ScoreRequest]]) -> Iterator[tuple[int, list[Score]]]:
        """Whole problems, `checkpoint_samples` or more samples per vLLM call."""
        chunk: list[int] = []
        size = 0
        for position, group in enumerate(groups):
            chunk.append(position)
            size += len(group)
            if size >= self.checkpoint_samples or position == len(groups) - 1:
                scores = self._score([r for p in chunk for r in groups[p]])
                offset = 0
                for p in chunk:
                    yield p, scores[offset : offset + len(groups[p])]
                    offset += len(groups[p])
                chunk, size = [], 0


def from_config(name: str, spec: Mapping[str, Any], weights: Any) -> VLLMRewardScorer:
    """The vllm scorer backend (monkeys.scoring.backends); the weights' revision unless the
    `vllm` section names one."""
    from monkeys.sampling.weights import vllm_section

    return VLLMRewardScorer(weights.path, name=name, spec=vllm_section(spec))
