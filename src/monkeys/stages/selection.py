"""The selection stage: picking one answer among k samples without an oracle.

Verifier-free: majority vote over each sample's `answer` (the normalised final
answer for math; for code, a signature of the program's behaviour on the test
inputs), Monte Carlo with a stated number of draws and seed. Verifier-based:
best-of-k by a reward score when the samples carry one (`score`), else the
first sample the benchmark's tests pass. Everything is judged by the strongest
verifier available (plus tests where the dataset has them, so the tests-based
selector is an imperfect verifier; without them it coincides with coverage),
next to coverage (Setlur et al. 2025; Large Language Monkeys' majority-vote and
reward-model plateaus).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monkeys.metrics.flaws import first_passing_accuracy
from monkeys.metrics.passk import log_k_grid, pass_at_k_matrix
from monkeys.metrics.selection import best_of_k_accuracy, majority_vote_accuracy
from monkeys.tables.io import read_tables, write_table
from monkeys.tables.samples import SAMPLES
from monkeys.tables.selection import SELECTION
from monkeys.tables.verdicts import VERDICTS

log = logging.getLogger("monkeys")


def selection_curves(samples: pd.DataFrame, verdicts: pd.DataFrame, *, draws: int,
                     seed: int) -> pd.DataFrame:
    """Coverage, majority vote and verifier-based selection accuracy over k, mean over problems."""
    key = ["model", "dataset", "problem_id", "sample_index"]
    columns = [c for c in ("score",) if c in samples]
    merged = verdicts.merge(samples[key + columns], on=key, how="left", validate="one_to_one")
    if "answer" not in merged:
        merged["answer"] = None
    strong = "plus_passed" in merged and merged["plus_passed"].notna().all()
    # Judged by the strongest verifier available; the weak tests are then one verifier.
    merged["_correct"] = merged["passed"] & merged["plus_passed"] if strong else merged["passed"]
    n_min = int(merged.groupby("problem_id").size().min())
    ks = log_k_grid(n_min)
    has_scores = "score" in merged and merged["score"].notna().all()
    rows = {"coverage": [], "majority_vote": [], "verifier_based": []}
    for _, problem in merged.groupby("problem_id", sort=True):
        correct = problem["_correct"].to_numpy(bool)
        n, c, w = len(problem), int(correct.sum()), int(problem["passed"].sum())
        rows["coverage"].append(pass_at_k_matrix([n], [c], ks)[0])
        answers = [a if isinstance(a, str) and a else None for a in problem["answer"]]
        rows["majority_vote"].append(
            majority_vote_accuracy(answers, correct, ks, draws=draws, seed=seed))
        if has_scores:
            rows["verifier_based"].append(
                best_of_k_accuracy(problem["score"].to_numpy(float), correct, ks))
        else:
            rows["verifier_based"].append(first_passing_accuracy([n], [w], [c], ks)[0])
    out = pd.DataFrame({"k": ks, **{name: np.mean(values, axis=0) for name, values in rows.items()}})
    out.insert(0, "model", merged["model"].iat[0])
    out.insert(1, "dataset", merged["dataset"].iat[0])
    out["verifier"] = "reward score" if has_scores else "weak tests"
    out["judged_by"] = "strong tests" if strong else "tests"
    out["gap"] = out["verifier_based"] - out["majority_vote"]
    out["num_problems"] = merged["problem_id"].nunique()
    out["draws"] = draws
    out["seed"] = seed
    return out


def selection(sample_paths: Sequence[str], verdict_paths: Sequence[str], out: str | Path, *,
              analysis: Mapping[str, Any], seed: int) -> None:
    """Write the selection curves of one (model, dataset)."""
    samples = read_tables(list(sample_paths), SAMPLES)
    verdicts = read_tables(list(verdict_paths), VERDICTS)
    curves = selection_curves(samples, verdicts, draws=int(analysis["vote_draws"]), seed=seed)
    write_table(curves, out, SELECTION)
    log.info("%s: majority vote at k=%d: %.3f (coverage %.3f)", out, curves["k"].iat[-1],
             curves["majority_vote"].iat[-1], curves["coverage"].iat[-1])
