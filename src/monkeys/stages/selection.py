"""The selection stage: picking one answer among k samples without an oracle.

Each curve is accuracy over k, the mean over problems, judged by the strongest verifier
available (plus tests where the dataset has them; then the weak tests are one imperfect
verifier, else they coincide with coverage), next to coverage (Large Language Monkeys'
majority-vote and reward-model plateaus; Setlur et al. 2025):

- `majority_vote` (verifier-free): the most frequent `answer` among k samples (math: the
  normalised final answer; code: the program's behaviour on the tests' inputs).
- `first_passing`: the first of k samples the benchmark's own (weak) tests pass.
- `best_of_k_score`: the highest reward `score` (exact, ties averaged), where every
  sample that votes has one; `best_of_k_logprob`: the highest `logprob_mean`, the
  verifier-free self-score, where every such sample has one.
- `weighted_vote_score` / `weighted_vote_logprob`: majority vote in which an answer's
  total is the sum of its samples' weights: the raw reward `score` (which must then be
  nonnegative, e.g. a probability; a negative score leaves the column null, with a
  warning), or exp(`logprob_mean`), the geometric-mean token probability, in (0, 1].
- `verifier_based`: `best_of_k_score` when there are scores (`verifier` "reward score"),
  else `first_passing` ("weak tests"); `gap` = `verifier_based` - `majority_vote`.

A curve whose input is missing is null (NaN), never a failure. Samples whose `answer` is
null or empty abstain (see `monkeys.stages.execute.answers`: no extractable answer,
programs that never ran, timeouts): they never vote and are never chosen while a sample
that does not abstain was drawn; k abstaining samples score 0. `abstained` is their
share of all samples. Majority votes are Monte Carlo with `analysis.vote_draws` draws;
each problem's draws use their own seed, derived from (global seed, model, dataset,
problem) as sample seeds are (`vote_seed`), so Monte Carlo errors are independent across
problems.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monkeys.metrics.flaws import first_passing_accuracy
from monkeys.metrics.passk import log_k_grid, pass_at_k_matrix
from monkeys.metrics.selection import best_of_k_accuracy, majority_vote_accuracy
from monkeys.sampling.seeds import derive_seed
from monkeys.scoring.attach import apply_score_choice
from monkeys.tables.io import read_tables, write_table
from monkeys.tables.samples import SAMPLES
from monkeys.tables.selection import SELECTION
from monkeys.tables.verdicts import VERDICTS

log = logging.getLogger(__name__)

VOTE_SAMPLE_INDEX = -1  # the sample index in a vote seed's key: never a real sample's
SCORE_COLUMNS = ("score", "logprob_mean")


def vote_seed(seed: int, model: str, dataset: str, problem_id: str) -> int:
    """The seed of one problem's majority-vote draws (stable across machines and versions)."""
    return derive_seed(seed, model, dataset, str(problem_id), VOTE_SAMPLE_INDEX)


def abstaining(answers: pd.Series) -> np.ndarray:
    """Which samples abstain: no answer (null or empty)."""
    return np.array([not (isinstance(a, str) and a) for a in answers], dtype=bool)


def _usable(merged: pd.DataFrame, column: str, abstain: np.ndarray, label: str) -> bool:
    """Whether every sample that votes has a finite `column`; logs why not otherwise."""
    if column not in merged:
        return False
    values = pd.to_numeric(merged[column], errors="coerce").to_numpy(float)[~abstain]
    finite = np.isfinite(values)
    if not len(values):  # every sample abstains: usable if the samples carry the column at all
        return bool(merged[column].notna().any())
    if finite.all():
        return True
    if finite.any():
        log.warning(
            "%s: %d of %d answering samples lack a finite `%s`; its curves are null",
            label,
            int((~finite).sum()),
            len(values),
            column,
        )
    return False


def selection_curves(samples: pd.DataFrame, verdicts: pd.DataFrame, *, draws: int, seed: int) -> pd.DataFrame:
    """Coverage and every available selector's accuracy over k, mean over problems."""
    key = ["model", "dataset", "problem_id", "sample_index"]
    columns = [c for c in SCORE_COLUMNS if c in samples]
    merged = verdicts.merge(samples[key + columns], on=key, how="left", validate="one_to_one")
    if "answer" not in merged:
        merged["answer"] = None
    merged = merged.sort_values(key, kind="stable").reset_index(drop=True)
    model, dataset = str(merged["model"].iat[0]), str(merged["dataset"].iat[0])
    label = f"{model}/{dataset}"
    strong = "plus_passed" in merged and merged["plus_passed"].notna().all()
    # Judged by the strongest verifier available; the weak tests are then one verifier.
    merged["_correct"] = merged["passed"] & merged["plus_passed"] if strong else merged["passed"]
    merged["_abstain"] = abstaining(merged["answer"])
    abstain = merged["_abstain"].to_numpy(bool)
    has_score = _usable(merged, "score", abstain, label)
    has_logprob = _usable(merged, "logprob_mean", abstain, label)
    score_weights = has_score and bool((merged.loc[~merged["_abstain"], "score"].astype(float) >= 0).all())
    if has_score and not score_weights:
        log.warning(
            "%s: some scores are negative; weighted_vote_score needs nonnegative "
            "weights (import e.g. a probability) and is null",
            label,
        )
    n_min = int(merged.groupby("problem_id").size().min())
    ks = log_k_grid(n_min)
    nan = np.full(len(ks), np.nan)
    rows: dict[str, list[np.ndarray]] = {
        name: []
        for name in (
            "coverage",
            "majority_vote",
            "first_passing",
            "best_of_k_score",
            "best_of_k_logprob",
            "weighted_vote_score",
            "weighted_vote_logprob",
        )
    }
    for problem_id, problem in merged.groupby("problem_id", sort=True):
        correct = problem["_correct"].to_numpy(bool)
        mask = problem["_abstain"].to_numpy(bool)
        n, c, w = len(problem), int(correct.sum()), int(problem["passed"].sum())
        answers = [None if m else a for a, m in zip(problem["answer"], mask, strict=True)]
        vote = partial(
            majority_vote_accuracy,
            answers,
            correct,
            ks,
            draws=draws,
            seed=vote_seed(seed, model, dataset, str(problem_id)),
        )
        rows["coverage"].append(pass_at_k_matrix([n], [c], ks)[0])
        rows["majority_vote"].append(vote())
        rows["first_passing"].append(first_passing_accuracy([n], [w], [c], ks)[0])
        score = problem["score"].to_numpy(float) if has_score else None
        logprob = problem["logprob_mean"].to_numpy(float) if has_logprob else None
        rows["best_of_k_score"].append(
            best_of_k_accuracy(score, correct, ks, mask) if score is not None else nan
        )
        rows["best_of_k_logprob"].append(
            best_of_k_accuracy(logprob, correct, ks, mask) if logprob is not None else nan
        )
        rows["weighted_vote_score"].append(vote(weights=score) if score_weights else nan)
        rows["weighted_vote_logprob"].append(
            vote(weights=np.exp(np.where(mask, 0.0, logprob))) if logprob is not None else nan
        )
    out = pd.DataFrame({"k": ks, **{name: np.mean(values, axis=0) for name, values in rows.items()}})
    out.insert(0, "model", model)
    out.insert(1, "dataset", dataset)
    out["verifier_based"] = out["best_of_k_score"] if has_score else out["first_passing"]
    out["verifier"] = "reward score" if has_score else "weak tests"
    out["judged_by"] = "strong tests" if strong else "tests"
    out["gap"] = out["verifier_based"] - out["majority_vote"]
    out["num_samples"] = len(merged)
    out["abstained_samples"] = int(abstain.sum())
    out["abstained"] = float(abstain.mean())
    out["num_problems"] = merged["problem_id"].nunique()
    out["draws"] = draws
    out["seed"] = seed
    return out[list(SELECTION.names)]


def selection(
    sample_paths: Sequence[str],
    verdict_paths: Sequence[str],
    out: str | Path,
    *,
    analysis: Mapping[str, Any],
    seed: int,
    score_paths: Sequence[str] = (),
) -> None:
    """Write the selection curves of one (model, dataset); `score` as `analysis.score` says
    (the samples' own, `mean_logprob`, or a scorer's shards `score_paths`)."""
    samples = apply_score_choice(
        read_tables(list(sample_paths), SAMPLES), str(analysis.get("score", "none")), list(score_paths)
    )
    verdicts = read_tables(list(verdict_paths), VERDICTS)
    curves = selection_curves(samples, verdicts, draws=int(analysis["vote_draws"]), seed=seed)
    write_table(curves, out, SELECTION)
    last = curves.iloc[-1]
    log.info(
        "%s: at k=%d: majority vote %.3f, coverage %.3f, %s %.3f; %d of %d samples abstain (%.1f%%)",
        out,
        last["k"],
        last["majority_vote"],
        last["coverage"],
        last["verifier"],
        last["verifier_based"],
        last["abstained_samples"],
        last["num_samples"],
        100 * last["abstained"],
    )
