"""Coverage against cost across models, and the Pareto frontier."""

from __future__ import annotations

import numpy as np
import pandas as pd

from monkeys.stages.cost import cost_curves, pareto_front


def test_pareto_front():
    cost = np.array([1.0, 2.0, 3.0, np.nan, 2.5, 0.5])
    value = np.array([0.2, 0.5, 0.4, 0.9, 0.6, 0.1])
    assert pareto_front(cost, value).tolist() == [True, True, False, False, True, True]


def test_cheap_model_with_many_samples_can_beat_strong_model():
    coverage = pd.DataFrame(
        {
            "model": ["small"] * 3 + ["big"],
            "dataset": "d",
            "k": [1, 10, 100, 1],
            "coverage": [0.2, 0.5, 0.8, 0.6],
        }
    )
    counts = pd.DataFrame(
        {
            "model": ["small", "big"],
            "dataset": "d",
            "problem_id": "p",
            "n": [100, 1],
            "prompt_tokens": [100 * 200, 200],
            "completion_tokens": [100 * 50, 50],
        }
    )
    specs = {
        "small": {"params_billions": 1.0, "price_per_mtok": 0.1},
        "big": {"params_billions": 70.0, "price_per_mtok": 10.0},
    }
    frame = cost_curves(coverage, counts, specs).set_index(["model", "k"])
    small = frame.loc["small"]
    assert small["flops"].is_monotonic_increasing
    # 2 * N * (P + k * D) for the 2N term (no layers given): the prompt is processed once.
    assert small.loc[10, "flops"] == 2 * 1e9 * (200 + 10 * 50)
    # Dollars bill the prompt of every request.
    assert np.isclose(small.loc[10, "dollars"], 10 * 250 * 0.1 / 1e6)
    big = frame.loc[("big", 1)]
    assert small.loc[100, "flops"] < big["flops"] and small.loc[100, "coverage"] > big["coverage"]
    assert bool(small.loc[100, "pareto_flops"]) and not bool(big["pareto_flops"])


def test_model_without_size_is_left_out():
    coverage = pd.DataFrame({"model": "m", "dataset": "d", "k": [1, 2], "coverage": [0.1, 0.2]})
    counts = pd.DataFrame(
        {
            "model": "m",
            "dataset": "d",
            "problem_id": "p",
            "n": [2],
            "prompt_tokens": [20],
            "completion_tokens": [10],
        }
    )
    frame = cost_curves(coverage, counts, {"m": {}})
    assert frame["flops"].isna().all() and not frame["pareto_flops"].any()
