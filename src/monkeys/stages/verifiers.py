"""The imperfect-verifier stage (Inference Scaling fLaws): resampling with a weak verifier.

The weak verifier is the benchmark's own tests (`num_correct`), the strong one its
plus tests, official or generated (`num_plus_correct` = samples passing both). The
false-positive rate is the paper's, per problem (`monkeys.metrics.flaws`); the pooled
rate is kept beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monkeys.errors import MonkeysError
from monkeys.metrics.bootstrap import bootstrap_mean_band
from monkeys.metrics.flaws import (
    accuracy_asymptote,
    expected_utility,
    false_positive_rate,
    first_passing_accuracy,
    pooled_false_positive_rate,
)
from monkeys.metrics.passk import log_k_grid, pass_at_k_matrix
from monkeys.tables.counts import COUNTS
from monkeys.tables.io import read_table, write_table
from monkeys.tables.verifiers import UTILITY, VERIFIER_CURVES

log = logging.getLogger(__name__)


def with_strong_verifier(counts: pd.DataFrame) -> pd.DataFrame:
    """The problems that have a strong verdict (`num_plus_correct`); the others (no plus test
    and no generated one could be made) are dropped with a warning, so `num_problems` of the
    curves counts only the kept ones. Raises when no problem has one."""
    missing = counts["num_plus_correct"].isna()
    where = f"{counts['model'].iat[0]}/{counts['dataset'].iat[0]}" if len(counts) else "?"
    if missing.all():
        raise MonkeysError(
            f"{where}: no strong verifier for any problem; use a dataset with plus "
            f"tests or set the dataset's `strong_tests`"
        )
    if missing.any():
        log.warning(
            "%s: %d of %d problems have no strong test and are left out of the verifier figures: %s",
            where,
            int(missing.sum()),
            len(counts),
            ", ".join(counts.loc[missing, "problem_id"].head(10)),
        )
    return counts[~missing].reset_index(drop=True)


def verifier_tables(
    counts: pd.DataFrame, *, costs: list[float], resamples: int, seed: int, confidence: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(curves over k, utility over k for each false-positive cost) for one (model, dataset)."""
    counts = with_strong_verifier(counts)
    n = counts["n"].to_numpy(np.int64)
    w = counts["num_correct"].to_numpy(np.int64)
    t = counts["num_plus_correct"].to_numpy(np.int64)
    ks = log_k_grid(int(n.min()))
    per_problem = first_passing_accuracy(n, w, t, ks)
    mean, lower, upper = bootstrap_mean_band(per_problem, resamples, seed, confidence)
    curves = pd.DataFrame(
        {
            "model": counts["model"].iat[0],
            "dataset": counts["dataset"].iat[0],
            "k": ks,
            "coverage_weak": pass_at_k_matrix(n, w, ks).mean(axis=0),
            "coverage_strong": pass_at_k_matrix(n, t, ks).mean(axis=0),
            "resampling_accuracy": mean,
            "lower": lower,
            "upper": upper,
            "asymptote": accuracy_asymptote(n, w, t),
            "false_positive_rate": false_positive_rate(w, t),
            "false_positive_rate_pooled": pooled_false_positive_rate(w, t),
            "single_sample_accuracy": float((t / n).mean()),
            "num_problems": len(counts),
        }
    )
    rows = []
    for cost in costs:
        utility = expected_utility(n, w, t, ks, cost)
        best = int(np.argmax(utility))
        for k, value in zip(ks, utility, strict=True):
            rows.append(
                {
                    "model": counts["model"].iat[0],
                    "dataset": counts["dataset"].iat[0],
                    "cost": float(cost),
                    "k": k,
                    "utility": float(value),
                    "optimal": bool(k == ks[best] and utility[best] > 0),
                }
            )
    return curves, pd.DataFrame(rows)


def verifiers(
    counts_path: str | Path,
    curves_out: str | Path,
    utility_out: str | Path,
    *,
    analysis: Mapping[str, Any],
    seed: int,
) -> None:
    """Write the resampling-accuracy curves and the utility table of one (model, dataset)."""
    counts = read_table(counts_path, COUNTS)
    curves, utility = verifier_tables(
        counts,
        costs=list(analysis["false_positive_costs"]),
        resamples=int(analysis["bootstrap_resamples"]),
        seed=seed,
        confidence=float(analysis["confidence"]),
    )
    write_table(curves, curves_out, VERIFIER_CURVES)
    write_table(utility, utility_out, UTILITY)
    log.info(
        "%s: false-positive rate %.3f per problem (%.3f pooled), asymptote %.3f",
        counts_path,
        curves["false_positive_rate"].iat[0],
        curves["false_positive_rate_pooled"].iat[0],
        curves["asymptote"].iat[0],
    )
