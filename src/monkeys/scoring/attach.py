"""Scores for selection: fill the samples' `score` column as `analysis.score` chooses.

Kept apart from the scoring stage and its backends, so the selection stage's code hash
(which follows imports) does not change when a scorer backend does.
"""

from __future__ import annotations

import logging

import pandas as pd

from monkeys.errors import MonkeysError
from monkeys.scoring.base import BUILTIN_SCORES
from monkeys.tables.io import read_tables
from monkeys.tables.scores import SCORES

log = logging.getLogger(__name__)

KEY = ["model", "dataset", "problem_id", "sample_index"]


class ScoresMismatchError(MonkeysError, ValueError):
    """Score shards do not match the samples they should score."""


def attach_scores(samples: pd.DataFrame, score_paths: list[str]) -> pd.DataFrame:
    """A copy of `samples` whose `score` column holds the scores of the score shards.

    Every sample must have exactly one score, all from one scorer; scores of samples not in
    `samples` are ignored (with a warning).
    """
    scores = read_tables(list(score_paths), SCORES)
    scorers = sorted(scores["scorer"].unique())
    if len(scorers) > 1:
        raise ScoresMismatchError(
            f"score shards of several scorers were given ({scorers}); selection uses one (analysis.score)"
        )
    duplicated = scores.duplicated(KEY)
    if duplicated.any():
        row = scores.loc[duplicated, KEY].iloc[0].tolist()
        raise ScoresMismatchError(
            f"{int(duplicated.sum())} sample(s) are scored twice in the score shards (e.g. {row})"
        )
    merged = samples.drop(columns=["score"], errors="ignore").merge(
        scores[KEY + ["score"]], on=KEY, how="left", validate="one_to_one", indicator=True
    )
    missing = merged["_merge"] == "left_only"
    if missing.any():
        row = merged.loc[missing, KEY].iloc[0].tolist()
        raise ScoresMismatchError(
            f"{int(missing.sum())} of {len(samples)} samples have no score from "
            f"{scorers[0] if scorers else 'the score shards'} (e.g. {row}); rerun its "
            "score_shard jobs (delete their outputs) after resampling"
        )
    extra = len(scores) - int((merged["_merge"] == "both").sum())
    if extra:
        log.warning("ignoring %d score(s) of samples not in the samples table", extra)
    out = merged.drop(columns="_merge")
    return out[list(samples.columns) + (["score"] if "score" not in samples else [])]


def apply_score_choice(samples: pd.DataFrame, choice: str, score_paths: list[str]) -> pd.DataFrame:
    """The samples with `score` as `analysis.score` chooses: `none` keeps the samples' own
    (an import's, else null), `mean_logprob` takes `logprob_mean` (-inf for an empty
    completion whose engine gave log-probabilities), a scorer's name takes its score
    shards (`score_paths`, via `attach_scores`)."""
    if choice not in BUILTIN_SCORES and not score_paths:
        raise ScoresMismatchError(f"analysis.score is {choice!r} but no score shards were given")
    if choice == "none":
        return samples
    if choice == "mean_logprob":
        out = samples.copy()
        # An empty completion has no mean; with the engine's logprobs present it is never preferred.
        empty = out["logprob_mean"].isna() & out["logprob_sum"].notna() & (out["completion_tokens"] == 0)
        out["score"] = out["logprob_mean"].astype("float64").mask(empty, float("-inf"))
        return out
    return attach_scores(samples, score_paths)
