"""Reference check of CodeContests tests (Large Language Monkeys' false negatives): correct
references run in the sandbox against every test of the hand-written fixture, whose planted
wrong tests must be found and nothing else; dropping them lets a correct sample pass."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import monkeys.stages.reference_check as rc
from monkeys.datasets.registry import normalise
from monkeys.datasets.sources import read_source
from monkeys.execution.sandbox import Limits
from monkeys.grading.stdio import drop_tests, grade_stdio, problem_tests
from monkeys.tables.datasets import PROBLEMS
from monkeys.tables.io import read_table, write_table

SOURCE = {"path": str(Path(__file__).parent / "fixtures" / "reference_check" / "codecontests.jsonl")}
EXECUTION = {"memory_mb": 1024}
PLANTED = {
    "1A. Sum of Two": ["generated:1"],
    "1B. Reverse Words": [],
    "1C. Maximum": ["private:1"],
    "1D. Double": [],
    "1E. C++ Only": [],
}


@pytest.fixture(scope="module")
def problems() -> pd.DataFrame:
    return normalise("codecontests", read_source(SOURCE))


@pytest.fixture(scope="module")
def references() -> dict[str, list[str]]:
    return rc.references_from_source("codecontests", SOURCE)


@pytest.fixture(scope="module")
def verdicts(problems, references) -> pd.DataFrame:
    return rc.run_references(problems, references, Limits(), workers=2)


def test_only_python3_references_run(references):
    assert {p: len(r) for p, r in references.items()} == {
        "1A. Sum of Two": 3,
        "1B. Reverse Words": 2,
        "1C. Maximum": 2,
        "1D. Double": 2,
        "1E. C++ Only": 0,
    }
    assert not any("raw_input" in s or "#include" in s for r in references.values() for s in r)


def test_every_pair_runs(problems, references, verdicts):
    expected = sum(
        len(references[p]) * len(problem_tests(t))
        for p, t in zip(problems["problem_id"], problems["test"], strict=True)
    )
    assert len(verdicts) == expected
    # whitespace-only differences pass: 1B's second reference passes every test
    b = verdicts[(verdicts["problem_id"] == "1B. Reverse Words")]
    assert set(b["status"]) == {"passed"}


def test_planted_tests_and_only_them(problems, references, verdicts):
    table = rc.false_negatives(problems, references, verdicts)
    assert dict(zip(table["problem_id"], map(list, table["false_negative_tests"]), strict=True)) == PLANTED
    d = table.set_index("problem_id")
    assert d.at["1D. Double", "broken_references"] == 1  # wrong "reference" flags nothing
    assert d.at["1A. Sum of Two", "broken_references"] == 0
    # brute force: the fraction over problems with a usable reference (1A-1D), 2 of them hit
    assert table["fraction_problems_affected"].iat[0] == pytest.approx(2 / 4)


def test_negative_control_any_failure_counts(problems, references, verdicts):
    """Planted bug: counting a broken reference's rejections would flag all of 1D's tests."""
    table = rc.false_negatives(problems, references, verdicts, max_reference_failures=1.0)
    flagged = dict(zip(table["problem_id"], map(list, table["false_negative_tests"]), strict=True))
    assert flagged != PLANTED
    assert flagged["1D. Double"] == ["public:0", "private:0", "private:1", "generated:0"]


def test_negative_control_token_comparison(problems, references, monkeypatch):
    """Planted bug: an exact (not token-wise) comparison flags 1B's whitespace-only tests."""
    import monkeys.grading.stdio as stdio

    exact = stdio.COMPARATOR.replace(
        "got_tokens, expected_tokens = got.split(), expected.split()",
        "got_tokens, expected_tokens = [got], [expected]",
    )
    assert exact != stdio.COMPARATOR
    monkeypatch.setattr(stdio, "COMPARATOR", exact)
    b = problems[problems["problem_id"] == "1B. Reverse Words"]
    table = rc.false_negatives(
        b, references, rc.run_references(b, references, Limits(), 2), max_reference_failures=1.0
    )
    assert table["affected"].iat[0]


def test_drop_tests_renumbers_and_keeps_the_rest():
    tests = json.dumps(
        {
            "public": [{"input": "1", "output": "1"}],
            "private": [{"input": str(i), "output": str(i)} for i in range(3)],
        }
    )
    kept = json.loads(drop_tests(tests, [("private", 1)]))
    assert [t["input"] for t in kept["private"]] == ["0", "2"]
    assert kept["public"] == [{"input": "1", "output": "1"}]
    with pytest.raises(ValueError, match="unknown test group"):
        drop_tests(tests, [("hidden", 0)])


def test_stage_writes_tables_and_dropping_lets_a_correct_sample_pass(tmp_path, problems):
    problems_path = tmp_path / "problems.parquet"
    write_table(problems, problems_path, PROBLEMS)
    out, checked_out = tmp_path / "reference_check.parquet", tmp_path / "checked.parquet"
    rc.reference_check(
        problems_path,
        out,
        checked_out,
        registry="codecontests",
        source=SOURCE,
        selection={},
        execution=EXECUTION,
        workers=2,
    )
    table = read_table(out, rc.REFERENCE_CHECK)
    assert int(table["num_false_negative_tests"].sum()) == 2
    checked = read_table(checked_out, PROBLEMS)
    sample = pd.DataFrame(
        {
            "model": "m",
            "dataset": "codecontests",
            "problem_id": ["1A. Sum of Two"],
            "sample_index": [0],
            "completion": ["a, b = map(int, input().split())\nprint(a + b)\n"],
        }
    )
    before = grade_stdio(problems, sample, Limits(), workers=1)
    after = grade_stdio(checked, sample, Limits(), workers=1)
    assert not before["passed"].iat[0] and "generated test 1" in before["detail"].iat[0]
    assert after["passed"].iat[0] and after["tests_total"].iat[0] == 5


def test_non_stdio_dataset_is_a_clear_error(tmp_path, problems):
    problems_path = tmp_path / "problems.parquet"
    write_table(problems, problems_path, PROBLEMS)
    with pytest.raises(rc.ReferenceCheckError, match="stdio datasets"):
        rc.reference_check(
            problems_path,
            tmp_path / "a.parquet",
            tmp_path / "b.parquet",
            registry="gsm8k",
            source=SOURCE,
            selection={},
            execution=EXECUTION,
            workers=1,
        )
