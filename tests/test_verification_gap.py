"""Setlur et al. 2025: token budgets, heterogeneity and anti-concentration, against enumeration
and simulation, each with a planted bug (negative control) that the same check rejects; and the
stage and figure on hand-made tables."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from monkeys.errors import MonkeysError
from monkeys.metrics.verification_gap import (
    anti_concentration,
    bilevel_rewards,
    heterogeneity,
    largest_common_budget,
    policy_heterogeneity,
    token_budget,
    value_at_budget,
)
from monkeys.stages.plot import plot_verification_gap
from monkeys.stages.verification_gap import verification_gap, verification_gap_tables
from monkeys.tables.counts import COUNTS
from monkeys.tables.io import read_table, write_table
from monkeys.tables.samples import SAMPLES
from monkeys.tables.selection import SELECTION
from monkeys.tables.verdicts import VERDICTS
from monkeys.tables.verification_gap import GAP_CURVES, GAP_PROBLEMS, GAP_SUMMARY

H = 128
# A base policy on one prompt: P(correct) and, independently, the completion length.
P_CORRECT = 0.3
LENGTHS = {20: 0.5, 60: 0.3, 100: 0.2}


def _outcomes():
    """Every (reward, probability) outcome of the base policy above (H = 128)."""
    out = []
    for correct, pc in ((1, P_CORRECT), (0, 1 - P_CORRECT)):
        for tokens, pt in LENGTHS.items():
            out.append((correct * (H - tokens + 1) / H, pc * pt))
    return np.array(out)


def _exact_variance():
    r, w = _outcomes().T
    mean = np.sum(w * r)
    return float(np.sum(w * (r - mean) ** 2))


def _exact_c(eps, threshold=lambda mean, sd, eps: mean + sd * np.sqrt(eps)):
    r, w = _outcomes().T
    mean = np.sum(w * r)
    sd = np.sqrt(np.sum(w * (r - mean) ** 2))
    return float(np.sum(w[r >= threshold(mean, sd, eps) - 1e-12]))


def _draw(rng, size):
    correct = rng.random(size) < P_CORRECT
    tokens = rng.choice(list(LENGTHS), p=list(LENGTHS.values()), size=size)
    return correct, tokens


# --- the bi-level reward ---------------------------------------------------------------------


def _steps(correct, tokens, horizon):
    """Brute force: one point per step h = 1..H at or after the answer (token T), over H."""
    return sum(1 for h in range(1, horizon + 1) if correct and h >= tokens) / horizon


def test_bilevel_reward_counts_the_steps_after_the_answer():
    cases = [(True, 1), (True, 20), (True, 128), (True, 129), (True, 500), (True, 0), (False, 5), (False, 0)]
    correct, tokens = zip(*cases, strict=True)
    expected = [_steps(c, t, H) for c, t in cases]
    assert bilevel_rewards(correct, tokens, H) == pytest.approx(expected)
    # Negative control: (H - T) / H drops the step at which the answer arrives.
    planted = [c * max(0, H - t) / H for c, t in cases]
    assert not np.allclose(planted, expected)
    with pytest.raises(ValueError):
        bilevel_rewards([True], [3], 0)


# --- heterogeneity ---------------------------------------------------------------------------


def test_heterogeneity_is_unbiased_for_the_policy_variance():
    """Mean of sigma_x^2 over 20,000 simulated problems of n = 4 samples vs the exact variance;
    the plug-in (ddof 0) variance, 3/4 of it in expectation, fails the same check."""
    rng = np.random.default_rng(0)
    exact = _exact_variance()
    correct, tokens = _draw(rng, (20_000, 4))
    rewards = np.array([bilevel_rewards(c, t, H) for c, t in zip(correct, tokens, strict=True)])
    ours = np.array([heterogeneity(r) ** 2 for r in rewards])
    planted = rewards.var(axis=1, ddof=0)
    for estimate, should_pass in ((ours, True), (planted, False)):
        error = abs(estimate.mean() - exact) / (estimate.std() / np.sqrt(len(estimate)))
        assert (error < 4) == should_pass, (estimate.mean(), exact, error)
    assert np.isnan(heterogeneity([1.0]))


def test_policy_heterogeneity_is_the_root_mean_square():
    sigmas = [0.1, 0.5, np.nan, 0.0]
    assert policy_heterogeneity(sigmas) == pytest.approx(np.sqrt((0.01 + 0.25 + 0.0) / 3))
    assert np.isnan(policy_heterogeneity([np.nan]))


# --- anti-concentration ----------------------------------------------------------------------


def _anti_concentration_by_enumeration(rewards, eps):
    n = len(rewards)
    mean = sum(rewards) / n
    sd = (sum((r - mean) ** 2 for r in rewards) / n) ** 0.5
    if sd == 0:
        return float("nan")
    return sum(1 for r in rewards if r >= mean + sd * eps**0.5 - 1e-12) / n


def test_anti_concentration_is_the_definition_on_the_empirical_distribution():
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(2, 12))
        correct, tokens = _draw(rng, n)
        rewards = bilevel_rewards(correct, tokens, H)
        for eps in (0.0, 0.25, 1.0, 4.0):
            expected = _anti_concentration_by_enumeration(list(rewards), eps)
            got = anti_concentration(rewards, eps)
            assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected)
    assert np.isnan(anti_concentration([0.5, 0.5, 0.5]))  # no spread: undefined


def test_anti_concentration_converges_to_the_policy_value():
    """200,000 samples of the base policy vs c_x(eps) enumerated over its outcomes; a planted
    threshold of mean + sigma * eps (no square root) fails the same check at eps = 4."""
    rng = np.random.default_rng(2)
    correct, tokens = _draw(rng, 200_000)
    rewards = bilevel_rewards(correct, tokens, H)
    for eps in (0.25, 1.0, 4.0):
        assert anti_concentration(rewards, eps) == pytest.approx(_exact_c(eps), abs=0.01)
    planted = _exact_c(4.0, threshold=lambda mean, sd, eps: mean + sd * eps)
    assert abs(planted - anti_concentration(rewards, 4.0)) > 0.05


@pytest.mark.parametrize("n", [1, 2, 4, 7, 10])
def test_binary_reward_closed_form(n):
    """With correctness as the reward, c_x(eps) = p if eps <= (1 - p) / p else 0 (the boundary
    included: a strict > would give 0 there)."""
    for m in range(1, n):
        p = m / n
        rewards = [1.0] * m + [0.0] * (n - m)
        boundary = (1 - p) / p
        for eps in (0.0, boundary / 2, boundary, boundary * 1.01 + 1e-6):
            expected = p if eps <= boundary else 0.0
            assert anti_concentration(rewards, eps) == pytest.approx(expected), (m, n, eps)
    # Negative control: with a strict >, p = 1/2 at eps = 1 (threshold exactly 1.0) gives 0.
    rewards = np.array([1.0, 1.0, 0.0, 0.0])
    assert anti_concentration(rewards, 1.0) == 0.5
    assert np.mean(rewards > rewards.mean() + rewards.std()) == 0.0


# --- token budgets ---------------------------------------------------------------------------

PROBLEM_TOKENS = [[10, 30, 50], [100, 20, 60, 40, 80], [5, 5]]


def _expected_tokens_by_enumeration(k):
    """Mean over problems of the expected output tokens of k samples drawn without
    replacement, enumerating every k-subset."""
    per_problem = []
    for tokens in PROBLEM_TOKENS:
        subsets = list(itertools.combinations(tokens, min(k, len(tokens))))
        per_problem.append(np.mean([sum(s) for s in subsets]))
    return float(np.mean(per_problem))


def test_token_budget_is_the_expected_output_tokens_of_k_samples():
    means = [np.mean(t) for t in PROBLEM_TOKENS]
    ks = [1, 2]
    expected = [_expected_tokens_by_enumeration(k) for k in ks]
    assert token_budget(ks, means) == pytest.approx(expected)
    # Negative control: tokens pooled over all samples weight problems by their n.
    pooled = np.array(ks) * sum(map(sum, PROBLEM_TOKENS)) / sum(map(len, PROBLEM_TOKENS))
    assert not np.allclose(pooled, expected)


def test_value_at_budget_is_linear_in_log_tokens():
    budgets = np.array([10.0, 100.0, 1000.0])
    values = 0.1 + 0.2 * np.log(budgets)
    target = 316.0
    assert value_at_budget(budgets, values, target) == pytest.approx(0.1 + 0.2 * np.log(target))
    planted = np.interp(target, budgets, values)  # linear in tokens
    assert abs(planted - (0.1 + 0.2 * np.log(target))) > 0.01
    assert np.isnan(value_at_budget(budgets, values, 5.0))
    assert np.isnan(value_at_budget(budgets, values, 2000.0))
    assert value_at_budget(budgets, values, 1000.0) == pytest.approx(values[-1])


def test_largest_common_budget():
    assert largest_common_budget([(10, 1000), (30, 300)]) == 300
    assert np.isnan(largest_common_budget([(10, 20), (30, 300)]))  # one starts above the other's end
    assert largest_common_budget([(10, 1000), (np.nan, np.nan)]) == 1000
    assert np.isnan(largest_common_budget([]))


# --- the stage and the figure ----------------------------------------------------------------


def _tables(tokens_b: int = 40, plus: bool = False):
    """Two models, two problems, 4 samples each; model b's samples all have `tokens_b` tokens."""
    rows, verdicts = [], []
    spec = {
        "a": {
            "p1": [(True, 10), (True, 50), (False, 30), (False, 30)],
            "p2": [(False, 20), (False, 20), (False, 20), (False, 20)],
        },
        "b": {
            "p1": [(True, tokens_b)] * 3 + [(False, tokens_b)],
            "p2": [(True, tokens_b), (False, tokens_b), (False, tokens_b), (False, tokens_b)],
        },
    }
    for model, problems in spec.items():
        for pid, samples in problems.items():
            for i, (ok, t) in enumerate(samples):
                key = {"model": model, "dataset": "d", "problem_id": pid, "sample_index": i}
                rows.append({**key, "completion_tokens": t, "prompt_tokens": 5, "wall_s": 0.1})
                verdicts.append(
                    {
                        **key,
                        "status": "passed" if ok else "failed",
                        "passed": ok,
                        "plus_passed": (ok and i != 0) if plus else None,
                    }
                )
    samples, verdicts = pd.DataFrame(rows), pd.DataFrame(verdicts)
    counts = (
        samples.merge(verdicts)
        .groupby(["model", "dataset", "problem_id"])
        .agg(
            n=("sample_index", "size"),
            num_correct=("passed", "sum"),
            completion_tokens=("completion_tokens", "sum"),
        )
        .reset_index()
    )
    selection = pd.DataFrame(
        [
            {
                "model": m,
                "dataset": "d",
                "k": k,
                "coverage": 0.5 + 0.1 * k,
                "majority_vote": 0.4 + 0.05 * k,
                "verifier_based": 0.4 + 0.1 * k,
            }
            for m in ("a", "b")
            for k in (1, 2, 4)
        ]
    )
    return selection, counts, samples, verdicts


def test_stage_tables():
    selection, counts, samples, verdicts = _tables()
    curves, problems, summary = verification_gap_tables(selection, counts, samples, verdicts, horizon=64)
    a = curves[curves["model"] == "a"].set_index("k")
    # Tokens per sample: p1 (10+50+30+30)/4 = 30, p2 20 -> mean 25; model b: 40.
    assert a["budget_tokens"].tolist() == pytest.approx([25.0, 50.0, 100.0])
    assert a.loc[4, "gap"] == pytest.approx(0.2)
    p1 = problems.set_index(["model", "problem_id"]).loc[("a", "p1")]
    rewards = [(64 - 10 + 1) / 64, (64 - 50 + 1) / 64, 0.0, 0.0]
    assert p1["heterogeneity"] == pytest.approx(np.std(rewards, ddof=1))
    assert p1["heterogeneity_binary"] == pytest.approx(np.std([1, 1, 0, 0], ddof=1))
    assert p1["anti_concentration"] == pytest.approx(_anti_concentration_by_enumeration(rewards, 1))
    p2 = problems.set_index(["model", "problem_id"]).loc[("a", "p2")]
    assert p2["heterogeneity"] == 0 and np.isnan(p2["anti_concentration"])
    rows = summary.set_index("model")
    # Budgets: a reaches 100 tokens, b 160: the common budget is 100, where b is between
    # k = 2 (80 tokens) and k = 4 (160), linear in log tokens.
    assert rows["common_budget_tokens"].tolist() == [100.0, 100.0]
    assert rows.loc["a", "gap_at_common"] == pytest.approx(0.2)
    weight = np.log(100 / 80) / np.log(160 / 80)
    assert rows.loc["b", "gap_at_common"] == pytest.approx(0.1 + weight * (0.2 - 0.1))
    assert rows.loc["a", "anti_concentration_problems"] == 1
    assert rows.loc["a", "heterogeneity"] == pytest.approx(np.sqrt(np.mean([np.var(rewards, ddof=1), 0.0])))
    assert rows.loc["a", "reward"] == "bi-level"


def test_plus_tests_judge_when_every_sample_has_them():
    selection, counts, samples, verdicts = _tables(plus=True)
    _, problems, _ = verification_gap_tables(selection, counts, samples, verdicts, horizon=64)
    p1 = problems.set_index(["model", "problem_id"]).loc[("a", "p1")]
    assert p1["num_correct"] == 1  # sample 0 passes the base tests only


def test_mismatched_models_are_an_error():
    selection, counts, samples, verdicts = _tables()
    with pytest.raises(MonkeysError, match="selection tables cover models"):
        verification_gap_tables(selection[selection["model"] == "a"], counts, samples, verdicts, horizon=64)
    with pytest.raises(MonkeysError, match="lack a matching verdict"):
        verification_gap_tables(selection, counts, samples, verdicts.iloc[1:], horizon=64)


def _write(tmp_path, tokens_b):
    selection, counts, samples, verdicts = _tables(tokens_b=tokens_b)
    samples["seed"], samples["completion"], samples["finish_reason"] = 0, "", "stop"
    for frame, schema, fill in (
        (selection, SELECTION, None),
        (counts, COUNTS, 0),
        (samples, SAMPLES, None),
        (verdicts, VERDICTS, None),
    ):
        for column in schema.names:
            if column not in frame:
                frame[column] = fill
    paths = {name: [] for name in ("selection", "counts", "samples", "verdicts")}
    for model in ("a", "b"):
        for name, frame, schema in (
            ("selection", selection, SELECTION),
            ("counts", counts, COUNTS),
            ("samples", samples, SAMPLES),
            ("verdicts", verdicts, VERDICTS),
        ):
            path = tmp_path / name / f"{model}.parquet"
            write_table(frame[frame["model"] == model], path, schema)
            paths[name].append(str(path))
    outs = [tmp_path / f"{name}.parquet" for name in ("curves", "problems", "summary")]
    verification_gap(
        paths["selection"], paths["counts"], paths["samples"], paths["verdicts"], *outs, horizon=64
    )
    return outs


def test_stage_files_and_figure(tmp_path):
    curves, problems, summary = _write(tmp_path, tokens_b=40)
    assert len(read_table(curves, GAP_CURVES)) == 6
    assert len(read_table(problems, GAP_PROBLEMS)) == 4
    assert read_table(summary, GAP_SUMMARY)["gap_at_common"].notna().all()
    figure = tmp_path / "fig.png"
    plot_verification_gap(curves, problems, summary, figure, dataset="d", dpi=60)
    assert figure.stat().st_size > 0


def test_model_without_token_counts(tmp_path):
    """Imported samples have no token counts: no budget axis for that model, correctness as the
    reward, and the figure says so instead of failing."""
    curves, problems, summary = _write(tmp_path, tokens_b=0)
    rows = read_table(summary, GAP_SUMMARY).set_index("model")
    assert rows.loc["b", "reward"] == "binary (no token counts)"
    assert np.isnan(rows.loc["b", "gap_at_common"])
    assert rows.loc["a", "common_budget_tokens"] == pytest.approx(100.0)  # a alone
    b = read_table(problems, GAP_PROBLEMS).set_index(["model", "problem_id"]).loc[("b", "p1")]
    assert b["heterogeneity"] == pytest.approx(np.std([1, 1, 1, 0], ddof=1))
    plot_verification_gap(curves, problems, summary, tmp_path / "fig.png", dataset="d", dpi=60)
