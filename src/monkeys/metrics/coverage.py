"""Coverage (pass@k averaged over problems) with a bootstrap band, and per-problem counts."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from monkeys.metrics.bootstrap import bootstrap_mean_band
from monkeys.metrics.passk import log_k_grid, pass_at_k_matrix

STATUS_COLUMNS = {
    "failed": "num_failed",
    "error": "num_error",
    "timeout": "num_timeout",
    "crashed": "num_crashed",
}

log = logging.getLogger("monkeys")


def count_verdicts(samples: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """Per (model, dataset, problem): n, correct, outcome counts, token and time totals.

    Every sample must have exactly one verdict and vice versa; a mismatch is an
    error naming an example, never a silent drop.
    """
    key = ["model", "dataset", "problem_id", "sample_index"]
    merged = samples.merge(verdicts, on=key, how="outer", indicator=True, validate="one_to_one")
    unmatched = merged[merged["_merge"] != "both"]
    if len(unmatched):
        row = unmatched.iloc[0]
        side = "verdict" if row["_merge"] == "left_only" else "sample"
        raise ValueError(
            f"{len(unmatched)} sample(s) lack a matching {side}, e.g. "
            f"{row['problem_id']} #{row['sample_index']}"
        )
    for status, column in STATUS_COLUMNS.items():
        merged[column] = merged["status"] == status
    # Flakiness (execution.reruns) and the plus suite: verdict tables without them count none.
    merged["num_flaky"] = merged["flaky"].eq(True) if "flaky" in merged else False
    has_plus = merged["plus_status"].notna() if "plus_status" in merged else False
    plus_ok = merged["plus_passed"].eq(True) if "plus_passed" in merged else False
    merged["_has_plus"] = has_plus
    merged["num_plus_correct"] = merged["passed"].eq(True) & plus_ok
    grouped = merged.groupby(["model", "dataset", "problem_id"], sort=False)
    counts = grouped.agg(
        n=("sample_index", "size"),
        num_correct=("passed", "sum"),
        **{column: (column, "sum") for column in STATUS_COLUMNS.values()},
        num_flaky=("num_flaky", "sum"),
        num_plus_correct=("num_plus_correct", "sum"),
        _has_plus=("_has_plus", "any"),
        prompt_tokens=("prompt_tokens", "sum"),
        completion_tokens=("completion_tokens", "sum"),
        sample_wall_s=("wall_s", "sum"),
    )
    counts["num_plus_correct"] = counts["num_plus_correct"].astype("Int32").where(
        counts.pop("_has_plus"))
    for (model, dataset), part in counts.groupby(level=["model", "dataset"], sort=False):
        if part["num_flaky"].sum():
            log.info("%s/%s: %d of %d samples flaky (%.2f%%)", model, dataset,
                     part["num_flaky"].sum(), part["n"].sum(),
                     100.0 * part["num_flaky"].sum() / part["n"].sum())
    return counts.reset_index()


def coverage_curve(
    counts: pd.DataFrame, *, resamples: int, seed: int, confidence: float
) -> pd.DataFrame:
    """Coverage at k on a log grid up to the smallest n, with a bootstrap band over problems."""
    if counts.empty:
        raise ValueError("no problems to compute coverage over")
    n = counts["n"].to_numpy(dtype=np.int64)
    c = counts["num_correct"].to_numpy(dtype=np.int64)
    ks = log_k_grid(int(n.min()))
    per_problem = pass_at_k_matrix(n, c, ks)
    mean, lower, upper = bootstrap_mean_band(per_problem, resamples, seed, confidence)
    return pd.DataFrame({
        "model": counts["model"].iat[0],
        "dataset": counts["dataset"].iat[0],
        "k": ks,
        "coverage": mean,
        "lower": lower,
        "upper": upper,
        "num_problems": len(counts),
        "confidence": confidence,
        "bootstrap_resamples": resamples,
    })
