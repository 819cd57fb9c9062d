"""Per-problem counts from sample and verdict tables: n, correct, outcomes, tokens."""

from __future__ import annotations

import logging

import pandas as pd

log = logging.getLogger(__name__)


STATUS_COLUMNS = {
    "failed": "num_failed",
    "error": "num_error",
    "timeout": "num_timeout",
    "crashed": "num_crashed",
}


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
    counts["num_plus_correct"] = counts["num_plus_correct"].astype("Int32").where(counts.pop("_has_plus"))
    for (model, dataset), part in counts.groupby(level=["model", "dataset"], sort=False):
        if part["num_flaky"].sum():
            log.info(
                "%s/%s: %d of %d samples flaky (%.2f%%)",
                model,
                dataset,
                part["num_flaky"].sum(),
                part["n"].sum(),
                100.0 * part["num_flaky"].sum() / part["n"].sum(),
            )
    return counts.reset_index()
