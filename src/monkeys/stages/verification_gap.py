"""The verification-gap stage of one dataset (Setlur et al. 2025), across its models.

Per model: verifier-based vs verifier-free selection accuracy (the selection table's `k`,
`coverage`, `majority_vote` and `verifier_based`) against the expected output tokens of k
samples, H(k) = k * mean over problems of the mean completion tokens per sample (from the
counts table); per problem, the base policy's heterogeneity sigma_x and anti-concentration
c_x(eps) of the bi-level reward (samples' completion tokens and verdicts, judged like the
selection stage: by the plus tests where every sample has them); per model, their summaries
next to the measured gap at the largest budget every model reaches. Definitions, estimators
and how they map onto repeated samples: monkeys.metrics.verification_gap.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from monkeys.errors import MonkeysError
from monkeys.metrics.verification_gap import (
    EPSILON,
    anti_concentration,
    bilevel_rewards,
    heterogeneity,
    largest_common_budget,
    policy_heterogeneity,
    token_budget,
    value_at_budget,
)
from monkeys.tables.counts import COUNTS
from monkeys.tables.io import read_tables, write_table
from monkeys.tables.samples import SAMPLES
from monkeys.tables.selection import SELECTION
from monkeys.tables.verdicts import VERDICTS
from monkeys.tables.verification_gap import GAP_CURVES, GAP_PROBLEMS, GAP_SUMMARY

log = logging.getLogger(__name__)

# The only selection columns this stage reads (others are added to that table over time).
SELECTION_READ = pa.schema(
    [
        SELECTION.field(name)
        for name in ("model", "dataset", "k", "coverage", "majority_vote", "verifier_based")
    ]
)
_KEY = ["model", "dataset", "problem_id", "sample_index"]


def _same_models(named: dict[str, set[str]]) -> list[str]:
    """The models every input covers; an error naming the input that differs."""
    (first, models), *rest = named.items()
    for name, other in rest:
        if other != models:
            raise MonkeysError(
                f"verification gap: the {first} tables cover models {sorted(models)} but the "
                f"{name} tables cover {sorted(other)}; rerun the workflow so that every "
                f"model's {first} and {name} come from the same samples"
            )
    return sorted(models)


def budget_curves(selection: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """Selection accuracy per model over k, with H(k) in expected output tokens."""
    frames = []
    for model, rows in selection.groupby("model", sort=True):
        part = counts[counts["model"] == model]
        n = part["n"].to_numpy(np.float64)
        if not len(part) or np.any(n <= 0):
            raise MonkeysError(
                f"{model}: its counts have no samples for some problem, so it "
                f"has no tokens per sample; rerun `aggregate`"
            )
        per_sample = part["completion_tokens"].to_numpy(np.float64) / n
        rows = rows.sort_values("k")
        budget = token_budget(rows["k"].to_numpy(), per_sample)
        if not np.any(per_sample > 0):
            budget = np.full(len(rows), np.nan)  # no token counts (e.g. imported samples)
        frames.append(
            pd.DataFrame(
                {
                    "model": model,
                    "dataset": rows["dataset"].to_numpy(),
                    "k": rows["k"].to_numpy(),
                    "budget_tokens": budget,
                    "coverage": rows["coverage"].to_numpy(),
                    "majority_vote": rows["majority_vote"].to_numpy(),
                    "verifier_based": rows["verifier_based"].to_numpy(),
                    "gap": (rows["verifier_based"] - rows["majority_vote"]).to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else GAP_CURVES.empty_table().to_pandas()


def _judged(samples: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per sample: its completion tokens and whether it is correct."""
    columns = [c for c in ("passed", "plus_passed") if c in verdicts]
    merged = samples[_KEY + ["completion_tokens"]].merge(
        verdicts[_KEY + columns], on=_KEY, how="outer", indicator=True, validate="one_to_one"
    )
    unmatched = merged[merged["_merge"] != "both"]
    if len(unmatched):
        row = unmatched.iloc[0]
        side = "verdict" if row["_merge"] == "left_only" else "sample"
        raise MonkeysError(
            f"{len(unmatched)} sample(s) lack a matching {side}, e.g. "
            f"{row['model']}/{row['problem_id']} #{row['sample_index']}; "
            f"rerun execute_shard for that shard"
        )
    frames = []
    for _, part in merged.groupby("model", sort=True):
        part = part.copy()
        passed = part["passed"].eq(True)
        strong = "plus_passed" in part and part["plus_passed"].notna().all()
        part["correct"] = passed & part["plus_passed"].eq(True) if strong else passed
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def problem_diagnostics(judged: pd.DataFrame, *, horizon: int, epsilon: float = EPSILON) -> pd.DataFrame:
    """Per (model, problem): accuracy, tokens, and sigma_x and c_x(eps) of the bi-level reward."""
    rows = []
    for (model, dataset, problem), part in judged.groupby(["model", "dataset", "problem_id"], sort=True):
        correct = part["correct"].to_numpy(bool)
        tokens = part["completion_tokens"].to_numpy(np.float64)
        rewards = bilevel_rewards(correct, tokens, horizon)
        rows.append(
            {
                "model": model,
                "dataset": dataset,
                "problem_id": problem,
                "n": len(part),
                "num_correct": int(correct.sum()),
                "accuracy": float(correct.mean()),
                "tokens_per_sample": float(tokens.mean()),
                "mean_reward": float(rewards.mean()),
                "heterogeneity": heterogeneity(rewards),
                "heterogeneity_binary": heterogeneity(correct.astype(np.float64)),
                "anti_concentration": anti_concentration(rewards, epsilon),
            }
        )
    return pd.DataFrame(rows, columns=GAP_PROBLEMS.names)


def summarise(
    curves: pd.DataFrame,
    problems: pd.DataFrame,
    judged: pd.DataFrame,
    *,
    horizon: int,
    epsilon: float = EPSILON,
) -> pd.DataFrame:
    """Per model: sigma_b, c_x summaries, and the gap at the largest common token budget."""
    ranges = [
        (float(part["budget_tokens"].min()), float(part["budget_tokens"].max()))
        for _, part in curves.groupby("model")
    ]
    common = largest_common_budget(ranges)
    rows: list[dict[str, Any]] = []
    for model, part in problems.groupby("model", sort=True):
        curve = curves[curves["model"] == model].sort_values("k")
        samples = judged[judged["model"] == model]
        budgets = curve["budget_tokens"].to_numpy()
        defined = part["anti_concentration"].dropna()
        at = {
            name: value_at_budget(budgets, curve[name].to_numpy(), common)
            for name in ("majority_vote", "verifier_based", "gap")
        }
        rows.append(
            {
                "model": model,
                "dataset": part["dataset"].iat[0],
                "num_problems": len(part),
                "num_samples": int(part["n"].sum()),
                "reward": (
                    "bi-level" if (samples["completion_tokens"] > 0).any() else "binary (no token counts)"
                ),
                "horizon_tokens": int(horizon),
                "epsilon": float(epsilon),
                "accuracy": float(part["accuracy"].mean()),
                "heterogeneity": policy_heterogeneity(part["heterogeneity"]),
                "heterogeneity_median": float(part["heterogeneity"].median()),
                "heterogeneity_binary": policy_heterogeneity(part["heterogeneity_binary"]),
                "between_problem_sd": (
                    float(part["mean_reward"].std(ddof=1)) if len(part) > 1 else float("nan")
                ),
                "anti_concentration": float(defined.mean()) if len(defined) else float("nan"),
                "anti_concentration_problems": len(defined),
                "tokens_per_sample": float(part["tokens_per_sample"].mean()),
                "max_budget_tokens": float(np.nanmax(budgets))
                if np.isfinite(budgets).any()
                else float("nan"),
                "common_budget_tokens": common,
                "majority_vote_at_common": at["majority_vote"],
                "verifier_based_at_common": at["verifier_based"],
                "gap_at_common": at["gap"],
                "gap_at_max": float(curve["gap"].iat[-1]) if len(curve) else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=GAP_SUMMARY.names)


def verification_gap_tables(
    selection: pd.DataFrame,
    counts: pd.DataFrame,
    samples: pd.DataFrame,
    verdicts: pd.DataFrame,
    *,
    horizon: int,
    epsilon: float = EPSILON,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The curves, per-problem and per-model tables of one dataset."""
    if selection.empty:
        raise MonkeysError("verification gap: no selection tables; run the `selection` rule")
    _same_models(
        {
            "selection": set(selection["model"]),
            "counts": set(counts["model"]),
            "samples": set(samples["model"]),
            "verdicts": set(verdicts["model"]),
        }
    )
    judged = _judged(samples, verdicts)
    too_long = int((judged["completion_tokens"] > horizon).sum())
    if too_long:
        log.warning(
            "%d sample(s) are longer than the budget H = %d tokens (sampling.max_tokens); "
            "their bi-level reward is 0",
            too_long,
            horizon,
        )
    curves = budget_curves(selection, counts)
    problems = problem_diagnostics(judged, horizon=horizon, epsilon=epsilon)
    return curves, problems, summarise(curves, problems, judged, horizon=horizon, epsilon=epsilon)


def verification_gap(
    selection_paths: Sequence[str],
    counts_paths: Sequence[str],
    sample_paths: Sequence[str],
    verdict_paths: Sequence[str],
    curves_out: str | Path,
    problems_out: str | Path,
    summary_out: str | Path,
    *,
    horizon: int,
) -> None:
    """Write the verification-gap tables of one dataset (all models)."""
    curves, problems, summary = verification_gap_tables(
        read_tables(list(selection_paths), SELECTION_READ),
        read_tables(list(counts_paths), COUNTS),
        read_tables(list(sample_paths), SAMPLES),
        read_tables(list(verdict_paths), VERDICTS),
        horizon=int(horizon),
    )
    write_table(curves, curves_out, GAP_CURVES)
    write_table(problems, problems_out, GAP_PROBLEMS)
    write_table(summary, summary_out, GAP_SUMMARY)
    for row in summary.itertuples():
        log.info(
            "%s/%s: sigma_b %.3f, mean c_x %.3f over %d problems, gap %.3f at %.0f tokens",
            row.model,
            row.dataset,
            row.heterogeneity,
            row.anti_concentration,
            row.anti_concentration_problems,
            row.gap_at_common,
            row.common_budget_tokens,
        )
