"""The unit-test grader: HumanEval's own solutions all pass, broken ones do not; per-test
verdicts, the plus suite, reruns, and the execution stage's table."""

from __future__ import annotations

import pandas as pd
import pytest

from monkeys.datasets.registry import DATASETS, normalise
from monkeys.datasets.sources import read_source
from monkeys.execution.sandbox import Limits
from monkeys.grading.unit_tests import grade_unit_tests
from monkeys.metrics.counts import count_verdicts
from monkeys.stages.execute import execute_shard
from monkeys.tables.datasets import PROBLEMS
from monkeys.tables.io import read_table, write_table
from monkeys.tables.samples import SAMPLES
from monkeys.tables.verdicts import VERDICTS


@pytest.fixture(scope="module")
def problems() -> pd.DataFrame:
    return normalise("humaneval", read_source(DATASETS["humaneval"].default_source))


def _samples(problems: pd.DataFrame, completions: list[str], dataset: str = "humaneval"):
    return pd.DataFrame(
        {
            "model": "canonical",
            "dataset": dataset,
            "problem_id": problems["problem_id"],
            "sample_index": range(len(problems)),
            "completion": completions,
        }
    )


def test_all_canonical_solutions_pass(problems):
    verdicts = grade_unit_tests(
        problems, _samples(problems, list(problems["canonical_solution"])), Limits(timeout_s=10), workers=2
    )
    failing = verdicts[~verdicts["passed"]]
    assert failing.empty, failing[["problem_id", "status", "error_type", "detail"]].to_string()
    # nearly every HumanEval check() is a list of asserts, split into per-test cases
    assert verdicts["num_tests"].notna().sum() >= 150
    assert verdicts["failed_tests"].map(lambda f: f is None or f == []).all()
    assert verdicts["plus_status"].isna().all() and not verdicts["flaky"].any()


def test_broken_solutions_fail(problems):
    broken = {
        "return None": "    return None\n",
        "empty body": "    pass\n",
        "syntax error": "    return (\n",
        "exits early": "    import sys; sys.exit(0)\n",
    }
    for name, body in broken.items():
        verdicts = grade_unit_tests(
            problems, _samples(problems, [body] * len(problems)), Limits(timeout_s=10), workers=2
        )
        # Some HumanEval checks accept None/falsy answers for a handful of problems,
        # but no broken body may pass most of them.
        assert verdicts["passed"].sum() <= 3, (name, verdicts[verdicts["passed"]]["problem_id"])
    syntax = grade_unit_tests(
        problems.head(1), _samples(problems.head(1), ["    return (\n"]), Limits(timeout_s=10), workers=1
    )
    assert syntax["status"].iat[0] == "error" and syntax["error_type"].iat[0] == "SyntaxError"
    assert list(syntax["failed_tests"].iat[0]) == list(range(syntax["num_tests"].iat[0]))


def test_per_test_verdicts_name_the_failing_asserts(problems):
    one = problems[problems["problem_id"] == "HumanEval/53"]  # add(x, y)
    verdicts = grade_unit_tests(
        one, _samples(one, ["    return x * y if x else y\n"]), Limits(timeout_s=10), workers=1
    )
    row = verdicts.iloc[0]
    assert row["status"] == "failed" and row["num_tests"] == 6  # 5 asserts and a loop of them
    assert 0 < len(row["failed_tests"]) < 6
    assert row["first_failed_test"].startswith("assert candidate(")


def test_missing_problem_is_named(problems):
    samples = _samples(problems.head(1), ["    return 1\n"])
    samples["problem_id"] = "HumanEval/999"
    with pytest.raises(ValueError, match="HumanEval/999"):
        grade_unit_tests(problems, samples, Limits(), workers=1)


# --- two suites: the weak `test` and the strong `plus_test` -----------------------------------

PLUS = pd.DataFrame(
    {
        "dataset": "toy",
        "problem_id": ["toy/inc", "toy/neg"],
        "prompt": ['def inc(x):\n    """x + 1"""\n', 'def neg(x):\n    """-x"""\n'],
        "entry_point": ["inc", "neg"],
        "test": [
            "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(5) == 6\n",
            "def check(candidate):\n    assert candidate(1) == -1\n",
        ],
        "plus_test": [
            "def check(candidate):\n    assert candidate(1) == 2\n"
            "    assert candidate(-5) == -4\n    assert candidate(0) == 1\n",
            "",
        ],
        "canonical_solution": ["    return x + 1\n", "    return -x\n"],
    }
)


def _toy_samples() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": "m",
            "dataset": "toy",
            "problem_id": ["toy/inc"] * 3 + ["toy/neg"],
            "sample_index": [0, 1, 2, 0],
            "completion": [
                "    return x + 1\n",
                "    return abs(x) + 1\n",
                "    return x\n",
                "    return -x\n",
            ],
            "prompt_tokens": 1,
            "completion_tokens": 1,
            "wall_s": 0.1,
            "logprob_sum": None,
            "logprob_mean": None,
            "score": None,
            "imported_correct": None,
        }
    )


def test_both_suites_in_one_pass():
    verdicts = grade_unit_tests(PLUS, _toy_samples(), Limits(timeout_s=5), workers=2)
    assert list(verdicts["status"]) == ["passed", "passed", "failed", "passed"]
    # abs(x) + 1 passes the weak tests only: a false positive that the plus suite exposes
    assert list(verdicts["plus_status"].fillna("none")) == ["passed", "failed", "failed", "none"]
    assert list(verdicts["plus_passed"].astype(object).fillna("none")) == [True, False, False, "none"]
    assert list(verdicts["plus_num_tests"].astype(object).fillna(0)) == [3, 3, 3, 0]
    assert [list(f) if f is not None else None for f in verdicts["plus_failed_tests"]] == [
        [],
        [1],
        [0, 1, 2],
        None,
    ]
    counts = count_verdicts(_toy_samples(), verdicts).set_index("problem_id")
    assert counts.loc["toy/inc", "num_correct"] == 2 and counts.loc["toy/inc", "num_plus_correct"] == 1
    assert pd.isna(counts.loc["toy/neg", "num_plus_correct"])
    assert counts["num_flaky"].sum() == 0


def test_flaky_samples_are_counted():
    samples = _toy_samples()
    samples.loc[2, "completion"] = "    import os\n    return x + 1 if os.urandom(1)[0] % 2 else x\n"
    verdicts = grade_unit_tests(PLUS, samples, Limits(timeout_s=5), workers=2, reruns=12)
    assert list(verdicts["flaky"]) == [False, False, True, False]
    assert set(verdicts["runs"]) == {13}
    counts = count_verdicts(samples, verdicts).set_index("problem_id")
    assert counts.loc["toy/inc", "num_flaky"] == 1


def test_execute_stage_writes_the_verdicts_table(tmp_path):
    problems = PLUS.assign(source="test", source_sha256="0" * 64)
    for name in PROBLEMS.names:
        if name not in problems:
            problems[name] = (
                "unit_tests" if name == "grader" else (float("nan") if name == "time_limit_s" else "")
            )
    write_table(problems, tmp_path / "problems.parquet", PROBLEMS)
    samples = _toy_samples().assign(seed=1, finish_reason="stop")
    write_table(samples, tmp_path / "samples.parquet", SAMPLES)
    execution = {
        "timeout_s": 5,
        "memory_mb": 512,
        "workers": 2,
        "isolation": "process",
        "reruns": 1,
        "dedupe": True,
        "per_test": True,
        "plus_timeout_s": 10,
    }
    execute_shard(
        tmp_path / "problems.parquet",
        tmp_path / "samples.parquet",
        tmp_path / "verdicts.parquet",
        execution=execution,
    )
    verdicts = read_table(tmp_path / "verdicts.parquet", VERDICTS)
    assert list(verdicts["status"]) == ["passed", "passed", "failed", "passed"]
    assert list(verdicts["plus_status"].fillna("none")) == ["passed", "failed", "failed", "none"]
    assert list(verdicts["runs"]) == [2, 2, 2, 2]
    assert list(verdicts["failed_tests"].iat[2]) == [0, 1]
