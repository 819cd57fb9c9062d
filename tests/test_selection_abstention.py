"""Selection without voting blocks (abstention) and by scores, against brute-force enumeration.

Reproduces issue 14's two cases: a GSM8K-like problem whose no-answer samples outvoted the
right answer, and an add(a, b) problem whose SyntaxError programs did; then checks every
selector the stage adds (best-of-k by score or log-probability with abstention, weighted
majority vote) against enumeration over all k-subsets, each with a negative control.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from monkeys.execution.sandbox import Limits
from monkeys.grading.math import grade_math
from monkeys.grading.unit_tests import grade_unit_tests
from monkeys.metrics.selection import TIE_RTOL, best_of_k_accuracy, majority_vote_accuracy
from monkeys.plots import save_figure, selection_figure
from monkeys.sampling.seeds import derive_seed
from monkeys.stages.execute import answers, execute_shard
from monkeys.stages.selection import selection, selection_curves, vote_seed
from monkeys.tables.datasets import PROBLEMS
from monkeys.tables.io import read_table, write_table
from monkeys.tables.samples import SAMPLES
from monkeys.tables.selection import SELECTION
from monkeys.tables.verdicts import VERDICTS

KEY = {"model": "m", "dataset": "d"}


# --- brute force ------------------------------------------------------------------------------


def brute_vote(answers_, correct, k, weights=None):
    """Exact (weighted) majority vote: every k-subset, None abstains, ties averaged."""
    n = len(answers_)
    weights = [1.0] * n if weights is None else weights
    group = {
        a: np.mean([correct[i] for i in range(n) if answers_[i] == a]) for a in set(answers_) if a is not None
    }
    total = 0.0
    subsets = list(itertools.combinations(range(n), k))
    for subset in subsets:
        votes: Counter = Counter()
        for i in subset:
            if answers_[i] is not None:
                votes[answers_[i]] += weights[i]
        if votes:
            top = max(votes.values())
            leaders = [a for a, v in votes.items() if v >= top - TIE_RTOL * abs(top)]
            total += np.mean([group[a] for a in leaders])
    return total / len(subsets)


def brute_best(scores, correct, k, abstains):
    """Exact best-of-k: the highest score among the drawn samples that answer (ties averaged);
    a draw with no answering sample scores 0."""
    total, subsets = 0.0, list(itertools.combinations(range(len(scores)), k))
    for subset in subsets:
        live = [i for i in subset if not abstains[i]]
        if live:
            top = max(scores[i] for i in live)
            total += np.mean([correct[i] for i in live if scores[i] == top])
    return total / len(subsets)


def within(estimate, exact, draws):
    return abs(estimate - exact) < 4 * np.sqrt(max(exact * (1 - exact), 1e-3) / draws) + 1e-9


# --- issue 14, case 1: math samples with no answer ---------------------------------------------

GSM = pd.DataFrame(
    {
        "problem_id": ["gsm/1"],
        "answer": ["42"],
        "canonical_solution": ["6 * 7 = 42\n#### 42"],
        "metadata": [json.dumps({"style": "gsm8k"})],
    }
)
GSM_COMPLETIONS = [
    "6 times 7 is 42.\n#### 42",
    "#### 42",
    "#### 17",
    "I am not sure.",
    "It is 42 apples in all",
    "",
]


def _math_verdicts():
    samples = pd.DataFrame(
        {**KEY, "problem_id": "gsm/1", "sample_index": range(6), "completion": GSM_COMPLETIONS}
    )
    verdicts = grade_math(GSM, samples, rule="paper")
    verdicts["answer"] = answers(verdicts)
    return samples, verdicts


def test_math_samples_without_an_answer_abstain():
    samples, verdicts = _math_verdicts()
    assert list(verdicts["error_type"]) == ["", "", "wrong_answer"] + ["no_answer"] * 3
    assert list(verdicts["answer"]) == ["42", "42", "17", None, None, None]
    curves = selection_curves(samples, verdicts, draws=300, seed=0).set_index("k")
    assert curves.loc[6, "majority_vote"] == 1.0  # every answer drawn: 42 beats 17
    correct = list(verdicts["passed"])
    for k in (2, 3, 4):
        assert within(curves.loc[k, "majority_vote"], brute_vote(list(verdicts["answer"]), correct, k), 300)
    assert curves["abstained_samples"].iat[0] == 3 and curves["abstained"].iat[0] == 0.5
    # Negative control: the old behaviour string made the three a block that wins at k = 6.
    block = ["42", "42", "17"] + ["failed:no_answer"] * 3
    assert brute_vote(block, correct, 6) == 0.0
    assert majority_vote_accuracy(block, correct, [6], draws=20, seed=0)[0] == 0.0


def test_math_abstention_through_the_stages(tmp_path):
    """execute_shard writes a null answer for no-answer samples; the selection stage reads it
    back as abstention and writes the abstained share in its table."""
    problems = GSM.assign(
        dataset="d",
        prompt="q",
        entry_point="",
        test="",
        source="test",
        source_sha256="0" * 64,
        plus_test="",
        grader="math",
        time_limit_s=float("nan"),
    )
    write_table(problems, tmp_path / "problems.parquet", PROBLEMS)
    samples = pd.DataFrame(
        {
            **KEY,
            "problem_id": "gsm/1",
            "sample_index": range(6),
            "completion": GSM_COMPLETIONS,
            "seed": 1,
            "finish_reason": "stop",
            "prompt_tokens": 1,
            "completion_tokens": 1,
            "wall_s": 0.1,
            "logprob_sum": None,
            "logprob_mean": None,
            "score": None,
            "imported_correct": None,
        }
    )
    write_table(samples, tmp_path / "samples.parquet", SAMPLES)
    execution = {"timeout_s": 5, "memory_mb": 512, "workers": 1}
    execute_shard(
        tmp_path / "problems.parquet",
        tmp_path / "samples.parquet",
        tmp_path / "verdicts.parquet",
        execution=execution,
    )
    stored = read_table(tmp_path / "verdicts.parquet", VERDICTS)
    assert stored["answer"].tolist()[:3] == ["42", "42", "17"] and stored["answer"][3:].isna().all()
    selection(
        [str(tmp_path / "samples.parquet")],
        [str(tmp_path / "verdicts.parquet")],
        tmp_path / "selection.parquet",
        analysis={"vote_draws": 50},
        seed=0,
    )
    table = read_table(tmp_path / "selection.parquet", SELECTION).set_index("k")
    assert table.loc[6, "majority_vote"] == 1.0 and table["abstained"].iat[0] == 0.5
    assert table["best_of_k_logprob"].isna().all() and table["weighted_vote_score"].isna().all()


# --- issue 14, case 2: programs that never ran --------------------------------------------------

ADD = pd.DataFrame(
    {
        "dataset": "toy",
        "problem_id": ["toy/add"],
        "entry_point": ["add"],
        "prompt": ['def add(a, b):\n    """a + b"""\n'],
        "test": [
            "def check(candidate):\n    assert candidate(1, 2) == 3\n"
            "    assert candidate(0, 0) == 0\n    assert candidate(-4, 7) == 3\n"
        ],
        "plus_test": [""],
        "canonical_solution": ["    return a + b\n"],
    }
)
CORRECT = ["    return a + b\n", "    return b + a\n", "    return sum((a, b))\n"]
SYNTAX = ["    return (a +\n", "    return a +* b\n", "    retrun a + b\n", "    return a + b)\n"]
WRONG = ["    return a - b\n", "    return a * b\n", "    return a\n"]
# Never reach the tests' calls, or give no observable answer: all abstain.
NO_RUN = {
    "import error": "    return a + b\nimport not_a_module_anywhere\n",
    "module-level crash": "    return a + b\nraise RuntimeError('before any call')\n",
    "timeout": "    while True:\n        pass\n",
    "killed": "    import os\n    os._exit(3)\n",
}
RAISES = "    raise ValueError('no')\n"  # runs, raises on every call: a behaviour, it votes


def _add_samples(bodies):
    return pd.DataFrame(
        {
            **KEY,
            "dataset": "toy",
            "problem_id": "toy/add",
            "sample_index": range(len(bodies)),
            "completion": bodies,
        }
    )


@pytest.fixture(scope="module")
def add_verdicts():
    bodies = CORRECT + SYNTAX + WRONG + list(NO_RUN.values()) + [RAISES]
    verdicts = grade_unit_tests(ADD, _add_samples(bodies), Limits(timeout_s=2), workers=2)
    verdicts["answer"] = answers(verdicts)
    return verdicts


def test_programs_that_never_ran_abstain(add_verdicts):
    v = add_verdicts
    assert list(v["status"][3:7]) == ["error"] * 4 and set(v["error_type"][3:7]) == {"SyntaxError"}
    assert list(v["answer"][:3]) == ["pass"] * 3
    assert v["answer"][3:7].isna().all()
    wrong = list(v["answer"][7:10])
    assert all(a.startswith("out:") for a in wrong) and len(set(wrong)) == 3
    no_run = v.iloc[10:14]
    assert list(no_run["status"]) == ["error", "error", "timeout", "crashed"], no_run["detail"]
    assert list(no_run["error_type"][:2]) == ["ModuleNotFoundError", "RuntimeError"]
    assert no_run["answer"].isna().all()
    assert v["answer"].iat[14].startswith("out:")  # it ran: what it raised is its behaviour


def test_add_majority_vote_rises_with_k(add_verdicts):
    verdicts = add_verdicts.iloc[:10].copy()  # 3 correct, 4 SyntaxError, 3 distinct wrong
    samples = _add_samples(CORRECT + SYNTAX + WRONG)
    draws = 2000
    curves = selection_curves(samples, verdicts, draws=draws, seed=3).set_index("k")
    assert {5, 8, 10} <= set(curves.index)
    correct = list(verdicts["passed"])
    exact = {k: brute_vote(list(verdicts["answer"]), correct, k) for k in (5, 8, 10)}
    assert exact[5] == pytest.approx(2 / 3) and exact[8] == pytest.approx(0.95)
    assert exact[10] == 1.0 and curves.loc[10, "majority_vote"] == 1.0
    for k in (5, 8):
        assert within(curves.loc[k, "majority_vote"], exact[k], draws)
    assert np.all(np.diff(curves["majority_vote"].to_numpy()) > -0.03)  # rises (MC noise aside)
    assert curves["abstained"].iat[0] == pytest.approx(0.4)
    # Negative control: the four SyntaxErrors as one answer (the old "fail:0,1,2") give the
    # issue's 0.35, 0.27 and 0.0.
    block = ["pass"] * 3 + ["fail:0,1,2"] * 4 + list(verdicts["answer"][7:10])
    assert [round(brute_vote(block, correct, k), 2) for k in (5, 8, 10)] == [0.35, 0.27, 0.0]


def test_answer_rules_without_per_test_information():
    """No digest and no per-test split: a program that ran is an answer of its own; partial
    per-test failures keep their signature; grader-level 'never ran' errors abstain."""
    verdicts = pd.DataFrame(
        {
            "sample_index": [0, 1, 2, 3, 4, 5, 6],
            "status": ["failed", "failed", "error", "error", "failed", "error", "error"],
            "error_type": [
                "AssertionError",
                "AssertionError",
                "IndexError",
                "NoTests",
                "AssertionError",
                "IndentationError",
                "NameError",
            ],
            "num_tests": pd.array([None, None, None, None, 3, None, 3], dtype="Int32"),
            "failed_tests": [None, None, None, None, [0, 2], None, [0, 1, 2]],
        }
    )
    assert list(answers(verdicts)) == ["ran:0", "ran:1", "ran:2", None, "fail:0,2", None, None]


# --- estimators against brute force -----------------------------------------------------------

ANSWERS = ["4", "5", None, "4", "5", "6", None, "5", "4", "7"]
CORRECT_4 = [1 if a == "4" else 0 for a in ANSWERS]
ABSTAIN = [a is None for a in ANSWERS]


def test_best_of_k_with_abstention_equals_enumeration():
    scores = [0.2, 0.9, 5.0, 0.9, 0.1, 0.3, 7.0, 0.2, 0.5, 0.9]  # abstainers score highest
    ks = list(range(1, len(scores) + 1))
    exact = best_of_k_accuracy(scores, CORRECT_4, ks, ABSTAIN)
    for k, value in zip(ks, exact, strict=True):
        assert value == pytest.approx(brute_best(scores, CORRECT_4, k, ABSTAIN), abs=1e-12)
    # NaN scores are allowed where a sample abstains, nowhere else.
    nan_scores = [np.nan if a else s for s, a in zip(scores, ABSTAIN, strict=True)]
    np.testing.assert_allclose(best_of_k_accuracy(nan_scores, CORRECT_4, ks, ABSTAIN), exact)
    with pytest.raises(ValueError, match="NaN"):
        best_of_k_accuracy(nan_scores, CORRECT_4, ks)
    # Every sample abstains: 0, even if the verdicts say correct (an imported label).
    assert best_of_k_accuracy([1.0, 2.0], [1, 1], [1, 2], [True, True]).tolist() == [0, 0]
    # Negative control: letting the abstainers be chosen by their score differs.
    naive = best_of_k_accuracy(scores, CORRECT_4, ks)
    assert np.max(np.abs(naive - exact)) > 0.05


def test_weighted_majority_vote_matches_enumeration():
    weights = [0.9, 0.2, 3.0, 0.1, 0.3, 1.4, 2.0, 0.25, 0.05, 0.6]  # abstainers' are ignored
    ks, draws = [1, 2, 3, 5, 10], 6000
    estimate = majority_vote_accuracy(ANSWERS, CORRECT_4, ks, draws=draws, seed=5, weights=weights)
    exact = [brute_vote(ANSWERS, CORRECT_4, k, weights) for k in ks]
    plain = [brute_vote(ANSWERS, CORRECT_4, k) for k in ks]
    for k, value, e in zip(ks, estimate, exact, strict=True):
        assert within(value, e, draws), (k, value, e)
    # Negative control: the weights change the answer (by more than the Monte Carlo error).
    assert any(not within(value, p, draws) for value, p in zip(estimate, plain, strict=True))
    # Unit weights are the plain vote, draw for draw.
    np.testing.assert_array_equal(
        majority_vote_accuracy(ANSWERS, CORRECT_4, ks, draws=300, seed=2, weights=[1.0] * 10),
        majority_vote_accuracy(ANSWERS, CORRECT_4, ks, draws=300, seed=2),
    )


def test_weighted_vote_ties_and_zero_weights_match_enumeration():
    """Equal totals tie (broken at random); votes that all weigh 0 pick among the answers drawn,
    never an answer that was not drawn."""
    answers_ = ["a", "b", "b", "c", None]
    correct = [1, 0, 0, 0, 1]
    weights = [1.0, 0.5, 0.5, 0.0, 9.0]  # a's 1.0 ties b's 0.5 + 0.5
    ks, draws = [1, 2, 3, 4, 5], 6000
    estimate = majority_vote_accuracy(answers_, correct, ks, draws=draws, seed=9, weights=weights)
    for k, value in zip(ks, estimate, strict=True):
        assert within(value, brute_vote(answers_, correct, k, weights), draws)
    assert brute_vote(answers_, correct, 5, weights) == 0.5  # the tie at k = 5
    with pytest.raises(ValueError, match="nonnegative"):
        majority_vote_accuracy(answers_, correct, ks, draws=5, seed=0, weights=[1.0, -0.5, 0.5, 0.0, 0.0])


def test_majority_vote_all_abstaining_is_zero():
    value = majority_vote_accuracy([None] * 3, [1, 1, 1], [1, 3], draws=10, seed=0)
    assert value.tolist() == [0.0, 0.0]


# --- per-problem seeds ------------------------------------------------------------------------


def test_each_problem_draws_with_its_own_seed():
    assert vote_seed(7, "m", "d", "p1") == derive_seed(7, "m", "d", "p1", -1)  # stable
    assert vote_seed(7, "m", "d", "p1") != vote_seed(7, "m", "d", "p2")
    rows = []
    for pid in ("p1", "p2"):  # two problems with identical samples
        for i, answer in enumerate(["x", "y", "y", "x", "z", "x", "y", "z"]):
            rows.append(
                {**KEY, "problem_id": pid, "sample_index": i, "answer": answer, "passed": answer == "x"}
            )
    verdicts = pd.DataFrame(rows)
    samples = verdicts[["model", "dataset", "problem_id", "sample_index"]]
    curves = selection_curves(samples, verdicts, draws=50, seed=7)
    one = verdicts[verdicts["problem_id"] == "p1"]
    per_problem = [
        majority_vote_accuracy(
            list(one["answer"]),
            list(one["passed"]),
            curves["k"].tolist(),
            draws=50,
            seed=vote_seed(7, "m", "d", pid),
        )
        for pid in ("p1", "p2")
    ]
    np.testing.assert_allclose(curves["majority_vote"], np.mean(per_problem, axis=0))
    # Negative control: with one seed for both, the two estimates would be identical.
    assert not np.array_equal(per_problem[0], per_problem[1])


# --- the stage with scores and log-probabilities ---------------------------------------------


def _scored(score=True, logprob=True):
    rows = []
    for pid, values in {"a": ["4", "4", "5", None, "6", "5"], "b": ["1", "2", "2", "1", None, "3"]}.items():
        for i, answer in enumerate(values):
            rows.append(
                {
                    **KEY,
                    "problem_id": pid,
                    "sample_index": i,
                    "answer": answer,
                    "passed": answer in ("4", "1"),
                }
            )
    verdicts = pd.DataFrame(rows)
    samples = verdicts[["model", "dataset", "problem_id", "sample_index"]].copy()
    if score:
        samples["score"] = [0.2, 0.8, 0.9, np.nan, 0.1, 0.3, 0.7, 0.1, 0.2, 0.6, np.nan, 0.4]
    if logprob:
        samples["logprob_mean"] = [-0.5, -0.4, -0.9, np.nan, -2.0, -1.0, -0.3, -0.8, -0.7, -0.2, -5.0, -0.1]
    return samples, verdicts


def test_stage_curves_match_brute_force_per_problem():
    samples, verdicts = _scored()
    draws = 3000
    curves = selection_curves(samples, verdicts, draws=draws, seed=1).set_index("k")
    merged = verdicts.merge(samples, on=["model", "dataset", "problem_id", "sample_index"])
    for k in curves.index:
        best_s, best_l, vote_s, vote_l = [], [], [], []
        for _, p in merged.groupby("problem_id"):
            ans = [a if isinstance(a, str) else None for a in p["answer"]]
            ok, off = list(p["passed"]), [a is None for a in ans]
            best_s.append(brute_best(list(p["score"]), ok, k, off))
            best_l.append(brute_best(list(p["logprob_mean"]), ok, k, off))
            vote_s.append(brute_vote(ans, ok, k, list(p["score"].fillna(0))))
            vote_l.append(brute_vote(ans, ok, k, list(np.exp(p["logprob_mean"].fillna(0)))))
        assert curves.loc[k, "best_of_k_score"] == pytest.approx(np.mean(best_s), abs=1e-12)
        assert curves.loc[k, "best_of_k_logprob"] == pytest.approx(np.mean(best_l), abs=1e-12)
        assert within(curves.loc[k, "weighted_vote_score"], np.mean(vote_s), 2 * draws)
        assert within(curves.loc[k, "weighted_vote_logprob"], np.mean(vote_l), 2 * draws)
    assert (curves["verifier_based"] == curves["best_of_k_score"]).all()
    assert curves["verifier"].iat[0] == "reward score"
    assert curves["abstained"].iat[0] == pytest.approx(2 / 12)
    # Negative control: best-of-k by score differs from by log-probability here.
    assert (curves["best_of_k_score"] - curves["best_of_k_logprob"]).abs().max() > 0.05


def test_missing_scores_are_null_never_a_failure(caplog):
    samples, verdicts = _scored(score=False, logprob=False)
    curves = selection_curves(samples, verdicts, draws=20, seed=0)
    for name in ("best_of_k_score", "best_of_k_logprob", "weighted_vote_score", "weighted_vote_logprob"):
        assert curves[name].isna().all(), name
    assert curves["verifier"].iat[0] == "weak tests"
    assert (curves["verifier_based"] == curves["first_passing"]).all()
    # Partial log-probabilities (an answering sample without one): null, with a warning.
    samples, verdicts = _scored()
    samples.loc[0, "logprob_mean"] = np.nan
    samples["score"] = samples["score"] - 0.5  # negative rewards: no weighted vote by score
    with caplog.at_level("WARNING", logger="monkeys"):
        curves = selection_curves(samples, verdicts, draws=20, seed=0)
    assert curves["best_of_k_logprob"].isna().all() and curves["weighted_vote_logprob"].isna().all()
    assert curves["weighted_vote_score"].isna().all() and curves["best_of_k_score"].notna().all()
    assert "lack a finite `logprob_mean`" in caplog.text and "negative" in caplog.text


def test_figure_draws_each_available_curve_and_the_abstained_share(tmp_path):
    samples, verdicts = _scored()
    full = selection_curves(samples, verdicts, draws=20, seed=0)
    bare = selection_curves(*_scored(score=False, logprob=False), draws=20, seed=0)
    bare["model"] = "m2"
    fig = selection_figure(pd.concat([full, bare]), "d")
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert sum(label.startswith("m:") for label in labels) == 6  # coverage, vote, 4 by score
    assert sum(label.startswith("m2:") for label in labels) == 2  # coverage, vote
    assert any("16.7% of samples abstain" in label for label in labels)
    save_figure(fig, tmp_path / "s.png", dpi=50)
