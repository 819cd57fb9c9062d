"""The cross-model fLaws stage (Inference Scaling fLaws, Fig. 1a) of one dataset.

Per model, from its counts: single-sample accuracy on the strong tests, the resampling
ceiling (infinite budget, weak tests as verifier, judged by the strong tests) and the paper's
per-problem false-positive rate (see `monkeys.metrics.flaws` for the definitions and where
they come from), whether the ceiling stays below the strongest model's single-sample
accuracy, and the flaky fraction. Across models: the paper's line, conditional accuracy
(1 - FPR) on single-sample accuracy, with slope, intercept, r, R^2 and p.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monkeys.errors import MonkeysError
from monkeys.metrics.flaws import (
    ceiling_bounds,
    conditional_accuracy,
    false_positive_rate,
    line_fit,
    pooled_false_positive_rate,
)
from monkeys.tables.counts import COUNTS
from monkeys.tables.io import read_tables, write_table
from monkeys.tables.verifiers import FLAWS, FLAWS_FIT

log = logging.getLogger(__name__)


def _flaky(counts: pd.DataFrame) -> dict[str, Any]:
    flaky = counts["num_flaky"].fillna(0).to_numpy(np.int64)
    samples = int(counts["n"].sum())
    return {
        "num_flaky": int(flaky.sum()),
        "flaky_sample_fraction": float(flaky.sum() / samples) if samples else float("nan"),
        "flaky_problem_fraction": float(np.mean(flaky > 0)),
    }


def model_row(counts: pd.DataFrame) -> dict[str, Any]:
    """The fLaws numbers of one (model, dataset) from its per-problem counts."""
    model, dataset = counts["model"].iat[0], counts["dataset"].iat[0]
    n = counts["n"].to_numpy(np.int64)
    if np.any(n <= 0):
        raise MonkeysError(f"{model}/{dataset}: a problem has no samples (n = 0) in its counts")
    w = counts["num_correct"].to_numpy(np.int64)
    plus = counts["num_plus_correct"]
    row: dict[str, Any] = {
        "model": model,
        "dataset": dataset,
        "num_problems": len(counts),
        "num_samples": int(n.sum()),
        "weak_accuracy": float(np.mean(w / n)),
        "num_problems_weak_pass": int(np.sum(w > 0)),
        **_flaky(counts),
    }
    if plus.isna().all():
        nan = float("nan")
        return {
            **row,
            "strong_verifier": False,
            "single_sample_accuracy": nan,
            "false_positive_rate": nan,
            "false_positive_rate_pooled": nan,
            "conditional_accuracy": nan,
            "resampling_ceiling": nan,
            "resampling_ceiling_upper": nan,
        }
    if plus.isna().any():
        missing = counts.loc[plus.isna(), "problem_id"].iat[0]
        raise MonkeysError(
            f"{model}/{dataset}: the strong verifier ran on some problems but not "
            f"on {missing}; rerun `execute_shard` for this model and dataset"
        )
    t = plus.to_numpy(np.int64)
    if np.any(t > w) or np.any(w > n):
        raise MonkeysError(f"{model}/{dataset}: counts need num_plus_correct <= num_correct <= n")
    lower, upper = ceiling_bounds(w, t)
    return {
        **row,
        "strong_verifier": True,
        "single_sample_accuracy": float(np.mean(t / n)),
        "false_positive_rate": false_positive_rate(w, t),
        "false_positive_rate_pooled": pooled_false_positive_rate(w, t),
        "conditional_accuracy": conditional_accuracy(w, t),
        "resampling_ceiling": lower,
        "resampling_ceiling_upper": upper,
    }


def flaws_tables(counts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per model, the one-row fit table) of one dataset's counts (all models)."""
    if counts.empty:
        raise MonkeysError("no counts to analyse: every model's counts table is empty")
    datasets = counts["dataset"].unique()
    if len(datasets) != 1:
        raise MonkeysError(f"counts of several datasets given to one fLaws table: {list(datasets)}")
    table = pd.DataFrame([model_row(part) for _, part in counts.groupby("model", sort=True)])
    strong = table[table["strong_verifier"]]
    dataset = str(datasets[0])
    fit_row: dict[str, Any] = {"dataset": dataset, "x": "single_sample_accuracy", "y": "conditional_accuracy"}
    if strong.empty:
        table["below_strongest"] = None
        fit = line_fit([], [])
        return table, pd.DataFrame(
            [
                {
                    **fit_row,
                    "num_models": 0,
                    "slope": fit.slope,
                    "intercept": fit.intercept,
                    "r": fit.r,
                    "r2": fit.r2,
                    "p_value": fit.p_value,
                    "note": "no fit: the dataset has no strong verifier (plus tests)",
                    "strongest_model": None,
                    "strongest_accuracy": float("nan"),
                    "num_below_strongest": 0,
                }
            ]
        )
    best = strong.sort_values(["single_sample_accuracy", "model"], ascending=[False, True]).iloc[0]
    table["below_strongest"] = [
        bool(c < best["single_sample_accuracy"]) if s else None
        for c, s in zip(table["resampling_ceiling"], table["strong_verifier"], strict=True)
    ]
    fit = line_fit(strong["single_sample_accuracy"], strong["conditional_accuracy"])
    fit_table = pd.DataFrame(
        [
            {
                **fit_row,
                "num_models": fit.num_points,
                "slope": fit.slope,
                "intercept": fit.intercept,
                "r": fit.r,
                "r2": fit.r2,
                "p_value": fit.p_value,
                "note": fit.note,
                "strongest_model": best["model"],
                "strongest_accuracy": float(best["single_sample_accuracy"]),
                "num_below_strongest": int(sum(b is True for b in table["below_strongest"])),
            }
        ]
    )
    return table, fit_table


def flaws(counts_paths: Sequence[str], table_out: str | Path, fit_out: str | Path) -> None:
    """Write the fLaws table (per model) and its fit (per dataset) from every model's counts."""
    table, fit = flaws_tables(read_tables(list(counts_paths), COUNTS))
    write_table(table, table_out, FLAWS)
    write_table(fit, fit_out, FLAWS_FIT)
    for row in table.itertuples():
        log.info(
            "%s/%s: single-sample accuracy %.3f, ceiling %.3f, false-positive rate %.3f "
            "per problem (%.3f pooled), flaky %.2f%% of samples",
            row.model,
            row.dataset,
            row.single_sample_accuracy,
            row.resampling_ceiling,
            row.false_positive_rate,
            row.false_positive_rate_pooled,
            100 * row.flaky_sample_fraction,
        )
    row = fit.iloc[0]
    log.info(
        "%s: conditional accuracy = %.3f * accuracy + %.3f (r %.3f, R^2 %.3f, %d models)%s",
        row["dataset"],
        row["slope"],
        row["intercept"],
        row["r"],
        row["r2"],
        row["num_models"],
        f"; {row['note']}" if row["note"] else "",
    )
