"""Inference cost of sample sets: FLOPs (the Large Language Monkeys model) and dollars.

Large Language Monkeys (Brown et al. 2024, section 2.3) approximate the
inference FLOPs of a dense transformer as

    FLOPsPerToken(ctx) = 2 * (NumParameters + 2 * NumLayers * TokenDim * ctx)

    TotalInferenceFLOPs = sum_{t=1..P} FLOPsPerToken(t)
                        + NumCompletions * sum_{t=1..D} FLOPsPerToken(P + t)

for one problem with a P-token prompt and NumCompletions samples of D tokens:
the prompt is processed once (its KV cache is shared by all samples) and every
completion token attends to the prompt and the tokens before it. Here each
sample's own D is used (`problem_flops`), or, when only totals are known, the
mean D (`problem_flops_from_totals`; exact for the 2 * NumParameters term, and
it undercounts the attention term by 2 * NumLayers * TokenDim * n * Var(D)).
Without NumLayers and TokenDim the attention term is left out (2 * N per token).

Dollars: tokens times the model's price per million tokens (prompt and
completion prices may differ, as hosted APIs charge). An API bills the prompt of
every request, so `dollars` takes the billed token totals as the caller counts them.

Pure functions; the aggregate/analysis stages decide which counts to feed them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ModelCost:
    """A model's size and prices, from its config entry."""

    params: float  # number of parameters (not billions)
    layers: int | None = None
    hidden_size: int | None = None
    price_prompt_per_mtok: float | None = None
    price_completion_per_mtok: float | None = None

    @classmethod
    def from_config(cls, model_spec: Mapping[str, Any]) -> ModelCost:
        """From a validated `models.<name>` entry (params_billions, layers, hidden_size, prices)."""
        if "params_billions" not in model_spec:
            raise ValueError("the model has no params_billions; set it in the config for FLOPs")
        price = model_spec.get("price_per_mtok")
        return cls(
            params=float(model_spec["params_billions"]) * 1e9,
            layers=model_spec.get("layers"),
            hidden_size=model_spec.get("hidden_size"),
            price_prompt_per_mtok=model_spec.get("price_per_mtok_prompt", price),
            price_completion_per_mtok=model_spec.get("price_per_mtok_completion", price),
        )

    @property
    def attention(self) -> float:
        """2 * NumLayers * TokenDim, the per-context-token term (0 when unknown)."""
        if self.layers is None or self.hidden_size is None:
            return 0.0
        return 2.0 * self.layers * self.hidden_size


def flops_per_token(context: float | np.ndarray, cost: ModelCost) -> float | np.ndarray:
    """FLOPsPerToken(ctx) = 2 * (N + 2 * L * d * ctx)."""
    return 2.0 * (cost.params + cost.attention * np.asarray(context, dtype=np.float64))


def prompt_flops(prompt_tokens: float | np.ndarray, cost: ModelCost) -> float | np.ndarray:
    """sum_{t=1..P} FLOPsPerToken(t) = 2 N P + 2 (2 L d) P (P + 1) / 2."""
    p = np.asarray(prompt_tokens, dtype=np.float64)
    return 2.0 * cost.params * p + cost.attention * p * (p + 1.0)


def decode_flops(
    prompt_tokens: float | np.ndarray, completion_tokens: float | np.ndarray, cost: ModelCost
) -> float | np.ndarray:
    """sum_{t=1..D} FLOPsPerToken(P + t) = 2 N D + 2 (2 L d) (D P + D (D + 1) / 2)."""
    p = np.asarray(prompt_tokens, dtype=np.float64)
    d = np.asarray(completion_tokens, dtype=np.float64)
    return 2.0 * cost.params * d + 2.0 * cost.attention * (d * p + d * (d + 1.0) / 2.0)


def problem_flops(
    prompt_tokens: int,
    completion_tokens: Sequence[int] | np.ndarray,
    cost: ModelCost,
    *,
    prompt_once: bool = True,
) -> float:
    """Inference FLOPs of one problem's samples: the prompt once, then every completion.

    `prompt_once=False` counts the prompt for every sample (no shared prefill).
    """
    d = np.asarray(completion_tokens, dtype=np.float64)
    prompts = 1 if prompt_once else d.size
    decode: Any = decode_flops(prompt_tokens, d, cost)
    return float(prompts * prompt_flops(prompt_tokens, cost) + decode.sum())


def problem_flops_from_totals(
    n: int,
    prompt_tokens_total: float,
    completion_tokens_total: float,
    cost: ModelCost,
    *,
    prompt_once: bool = True,
) -> float:
    """`problem_flops` from a problem's sample count and token totals (e.g. the COUNTS table).

    Every sample of a problem records the same prompt, so P = prompt total / n; the
    completions are taken to have the mean length (see the module docstring).
    """
    if n <= 0:
        return 0.0
    p = prompt_tokens_total / n
    d = completion_tokens_total / n
    prompts = 1 if prompt_once else n
    return float(prompts * prompt_flops(p, cost) + n * decode_flops(p, d, cost))


def dollars(
    prompt_tokens: float | np.ndarray, completion_tokens: float | np.ndarray, cost: ModelCost
) -> float | np.ndarray:
    """Price of billed tokens; a missing price makes the result NaN (unknown), not 0."""
    prompt_price = np.nan if cost.price_prompt_per_mtok is None else cost.price_prompt_per_mtok
    completion_price = np.nan if cost.price_completion_per_mtok is None else cost.price_completion_per_mtok
    p = np.asarray(prompt_tokens, dtype=np.float64)
    d = np.asarray(completion_tokens, dtype=np.float64)
    return (p * prompt_price + d * completion_price) / 1e6
