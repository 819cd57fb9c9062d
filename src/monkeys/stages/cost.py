"""The cost stage: coverage against inference FLOPs and dollars across models, with the
Pareto frontier (Large Language Monkeys: a cheap model sampled many times against a
strong model sampled once)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monkeys.cost import ModelCost, dollars, problem_flops_from_totals
from monkeys.tables.cost import COST
from monkeys.tables.counts import COUNTS
from monkeys.tables.coverage import COVERAGE
from monkeys.tables.io import read_tables, write_table

log = logging.getLogger(__name__)


def pareto_front(cost: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Mask of points no other point beats (cost <= and value >=, one strictly); NaN cost: no."""
    order = np.lexsort((-value, cost))
    front = np.zeros(len(cost), dtype=bool)
    best = -np.inf
    for i in order:
        if np.isnan(cost[i]):
            continue
        if value[i] > best:
            front[i] = True
            best = value[i]
    return front


def cost_curves(
    coverage: pd.DataFrame, counts: pd.DataFrame, model_specs: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """Per model and k: coverage, mean FLOPs and dollars per problem for k samples each."""
    rows = []
    for model, curve in coverage.groupby("model", sort=True):
        part = counts[counts["model"] == model]
        spec = model_specs[model]
        try:
            cost = ModelCost.from_config(spec)
        except ValueError:
            cost = None
        n = part["n"].to_numpy(np.float64)
        prompt = part["prompt_tokens"].to_numpy(np.float64) / n  # per sample
        completion = part["completion_tokens"].to_numpy(np.float64) / n
        for k, value in zip(curve["k"], curve["coverage"], strict=True):
            if cost is None:
                flops = price = np.nan
            else:
                flops = np.mean(
                    [
                        problem_flops_from_totals(int(k), p * k, d * k, cost)
                        for p, d in zip(prompt, completion, strict=True)
                    ]
                )
                price = float(np.mean(dollars(prompt * k, completion * k, cost)))
            rows.append(
                {
                    "model": model,
                    "dataset": curve["dataset"].iat[0],
                    "k": int(k),
                    "coverage": float(value),
                    "flops": float(flops),
                    "dollars": price,
                }
            )
    frame = pd.DataFrame(rows)
    frame["pareto_flops"] = pareto_front(frame["flops"].to_numpy(), frame["coverage"].to_numpy())
    frame["pareto_dollars"] = pareto_front(frame["dollars"].to_numpy(), frame["coverage"].to_numpy())
    return frame


def cost(
    coverage_paths: Sequence[str],
    counts_paths: Sequence[str],
    out: str | Path,
    *,
    models: Mapping[str, Mapping[str, Any]],
) -> None:
    """Write the cost table of one dataset (all models)."""
    coverage = read_tables(list(coverage_paths), COVERAGE)
    counts = read_tables(list(counts_paths), COUNTS)
    frame = cost_curves(coverage, counts, models)
    write_table(frame, out, COST)
    missing = sorted(frame.loc[frame["flops"].isna(), "model"].unique())
    if missing:
        log.info("no params_billions for %s: left out of the FLOPs frontier", missing)
