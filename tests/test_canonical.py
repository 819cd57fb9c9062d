"""The unit-test grader on HumanEval's own solutions: all 164 pass, broken ones do not."""

from __future__ import annotations

import pandas as pd
import pytest

from monkeys.datasets.registry import DATASETS, normalise
from monkeys.datasets.sources import read_source
from monkeys.execution.sandbox import Limits
from monkeys.grading.unit_tests import grade_unit_tests


@pytest.fixture(scope="module")
def problems() -> pd.DataFrame:
    return normalise("humaneval", read_source(DATASETS["humaneval"].default_source))


def _samples(problems: pd.DataFrame, completions: list[str]) -> pd.DataFrame:
    return pd.DataFrame({
        "model": "canonical", "dataset": "humaneval", "problem_id": problems["problem_id"],
        "sample_index": 0, "completion": completions,
    })


def test_all_canonical_solutions_pass(problems):
    verdicts = grade_unit_tests(problems, _samples(problems, list(problems["canonical_solution"])),
                                Limits(timeout_s=10), workers=2)
    failing = verdicts[~verdicts["passed"]]
    assert failing.empty, failing[["problem_id", "status", "error_type", "detail"]].to_string()


def test_broken_solutions_fail(problems):
    broken = {
        "return None": "    return None\n",
        "empty body": "    pass\n",
        "syntax error": "    return (\n",
        "exits early": "    import sys; sys.exit(0)\n",
    }
    for name, body in broken.items():
        verdicts = grade_unit_tests(problems, _samples(problems, [body] * len(problems)),
                                    Limits(timeout_s=10), workers=2)
        # Some HumanEval checks accept None/falsy answers for a handful of problems,
        # but no broken body may pass most of them.
        assert verdicts["passed"].sum() <= 3, (name, verdicts[verdicts["passed"]]["problem_id"])
    syntax = grade_unit_tests(problems.head(1), _samples(problems.head(1), ["    return (\n"]),
                              Limits(timeout_s=10), workers=1)
    assert syntax["status"].iat[0] == "error" and syntax["error_type"].iat[0] == "SyntaxError"


def test_missing_problem_is_named(problems):
    samples = _samples(problems.head(1), ["    return 1\n"])
    samples["problem_id"] = "HumanEval/999"
    with pytest.raises(ValueError, match="HumanEval/999"):
        grade_unit_tests(problems, samples, Limits(), workers=1)
