"""FLOPs (Large Language Monkeys' inference model) and dollars of sample sets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monkeys.cost import (
    ModelCost,
    decode_flops,
    dollars,
    flops_per_token,
    problem_flops,
    problem_flops_from_totals,
    prompt_flops,
)

LLAMA_8B = ModelCost(params=8e9, layers=32, hidden_size=4096)


def brute_force(cost: ModelCost, prompt: int, completions: list[int]) -> float:
    """The paper's sums, term by term."""
    per_token = lambda ctx: 2 * (cost.params + 2 * (cost.layers or 0) * (cost.hidden_size or 0) * ctx)  # noqa: E731
    total = sum(per_token(t) for t in range(1, prompt + 1))
    for d in completions:
        total += sum(per_token(prompt + t) for t in range(1, d + 1))
    return total


def test_closed_forms_match_the_papers_sums():
    for cost in (LLAMA_8B, ModelCost(params=1e9)):
        assert math.isclose(
            problem_flops(100, [20, 35, 1], cost), brute_force(cost, 100, [20, 35, 1]), rel_tol=1e-12
        )
        assert math.isclose(float(prompt_flops(7, cost)), brute_force(cost, 7, []), rel_tol=1e-12)
    assert float(flops_per_token(0, LLAMA_8B)) == 16e9
    assert float(decode_flops(10, 0, LLAMA_8B)) == 0


def test_without_layers_it_is_two_n_per_token():
    cost = ModelCost(params=2e9)
    assert problem_flops(50, [10, 10], cost) == 2 * 2e9 * (50 + 20)
    assert problem_flops(50, [10, 10], cost, prompt_once=False) == 2 * 2e9 * (100 + 20)


def test_from_totals():
    # Equal lengths: exact.
    assert math.isclose(
        problem_flops_from_totals(3, 300, 60, LLAMA_8B),
        problem_flops(100, [20, 20, 20], LLAMA_8B),
        rel_tol=1e-12,
    )
    # Unequal lengths: the attention term is undercounted by 2 L d n Var(D).
    exact = problem_flops(100, [10, 30], LLAMA_8B)
    approx = problem_flops_from_totals(2, 200, 40, LLAMA_8B)
    assert math.isclose(exact - approx, 2 * 32 * 4096 * 2 * np.var([10, 30]), rel_tol=1e-9)
    assert problem_flops_from_totals(0, 0, 0, LLAMA_8B) == 0


def test_config_and_dollars():
    cost = ModelCost.from_config(
        {
            "params_billions": 0.27,
            "layers": 18,
            "hidden_size": 640,
            "price_per_mtok": 0.1,
            "price_per_mtok_completion": 0.4,
        }
    )
    assert cost.params == 0.27e9 and cost.attention == 2 * 18 * 640
    assert math.isclose(float(dollars(1e6, 2e6, cost)), 0.1 + 0.8)
    assert np.isnan(dollars(1, 1, ModelCost(params=1)))
    with pytest.raises(ValueError, match="params_billions"):
        ModelCost.from_config({"backend": "embedded"})
