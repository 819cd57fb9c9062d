"""The selection stage on hand-made samples and verdicts."""

from __future__ import annotations

import pandas as pd
import pytest

from monkeys.metrics.passk import pass_at_k
from monkeys.plots import save_figure, selection_figure
from monkeys.stages.selection import selection_curves

KEY = {"model": "m", "dataset": "d"}


def _frames(scores: bool, plus: bool):
    answers = {"a": ["4", "4", "5", "4", "6", "4"], "b": ["1", "2", "2", "3", "2", None]}
    right = {"a": "4", "b": "1"}
    rows = []
    for pid, values in answers.items():
        for i, answer in enumerate(values):
            rows.append(
                {
                    **KEY,
                    "problem_id": pid,
                    "sample_index": i,
                    "answer": answer,
                    "passed": answer == right[pid],
                }
            )
    verdicts = pd.DataFrame(rows)
    if plus:
        verdicts["plus_passed"] = verdicts["passed"] & (verdicts["sample_index"] != 0)
    samples = verdicts[["model", "dataset", "problem_id", "sample_index"]].copy()
    if scores:
        samples["score"] = [0.9 if p else 0.1 for p in verdicts["passed"]]
    return samples, verdicts


def test_majority_vote_and_verifier_based(tmp_path):
    samples, verdicts = _frames(scores=False, plus=False)
    curves = selection_curves(samples, verdicts, draws=400, seed=0)
    assert curves["k"].tolist() == [1, 2, 3, 4, 5, 6]
    at = curves.set_index("k")
    # Coverage: exact pass@k mean over problems; tests as verifier equal it without plus tests.
    expected = (pass_at_k(6, 4, 3) + pass_at_k(6, 1, 3)) / 2
    assert at.loc[3, "coverage"] == pytest.approx(expected)
    assert at.loc[3, "verifier_based"] == pytest.approx(expected)
    # k = all samples: the vote is deterministic: "4" wins a, "2" wins b (wrong).
    assert at.loc[6, "majority_vote"] == pytest.approx(0.5)
    assert curves["verifier"].iat[0] == "weak tests" and curves["judged_by"].iat[0] == "tests"
    save_figure(selection_figure(curves, "d"), tmp_path / "s.png", dpi=60)


def test_reward_scores_and_strong_tests():
    samples, verdicts = _frames(scores=True, plus=True)
    curves = selection_curves(samples, verdicts, draws=50, seed=0)
    assert curves["verifier"].iat[0] == "reward score"
    assert curves["judged_by"].iat[0] == "strong tests"
    # Scores rank every (weakly) correct sample first; sample 0 of each problem fails the
    # strong tests, so best-of-6 picks a tie of passing samples.
    at = curves.set_index("k")
    assert at.loc[6, "verifier_based"] == pytest.approx((3 / 4 + 0) / 2)


def test_code_answers_group_programs_by_their_outputs():
    """Wrong programs are one answer when they return the same values, not when they fail alike;
    one whose behaviour is unknown is an answer of its own; a timeout abstains (None)."""
    from monkeys.stages.execute import answers

    verdicts = pd.DataFrame(
        {
            "status": ["passed", "failed", "failed", "failed", "error", "timeout"],
            "error_type": ["", "AssertionError", "AssertionError", "AssertionError", "NameError", ""],
            "failed_tests": [[], [0, 2], [0, 2], [1], None, None],
            "behaviour": [None, "aa" * 8, "bb" * 8, None, None, None],
        }
    )
    assert list(answers(verdicts)) == ["pass", "out:" + "aa" * 8, "out:" + "bb" * 8, "fail:1", "ran:4", None]
