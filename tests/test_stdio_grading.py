"""The stdin/stdout grader (CodeContests): token-wise comparison, code extraction, time limits,
and candidates run in the sandbox on the fixture problems."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from monkeys.datasets.registry import normalise
from monkeys.datasets.sources import read_source
from monkeys.execution.sandbox import Limits
from monkeys.grading.stdio import extract_code, grade_stdio, outputs_match, problem_tests, time_limit

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"


@pytest.mark.parametrize(
    ("got", "expected", "same"),
    [
        ("3\n", "3", True),  # trailing newline missing in the expected output
        ("3", "3\n", True),  # ... or in the program's output
        ("3\n\n\n", "3\n", True),  # extra blank lines at the end
        ("1 2 3 \n", "1 2 3\n", True),  # trailing space (common in CodeContests outputs)
        ("1  2\t3\r\n", "1 2 3\n", True),  # runs of spaces, tabs, CRLF
        ("1\n2\n3\n", "1 2 3\n", True),  # token-wise: line structure is not compared
        ("  \n3\n", "3", True),  # leading whitespace
        ("", "", True),
        ("", "\n", True),
        ("12\n", "1 2\n", False),  # tokens joined
        ("1 2\n", "12\n", False),
        ("3\n", "", False),
        ("", "0\n", False),
        ("YES\n", "yes\n", False),  # case matters
        ("3.0\n", "3\n", False),  # no numeric leniency by default
        ("1 2 3 4\n", "1 2 3\n", False),
    ],
)
def test_outputs_match(got, expected, same):
    assert outputs_match(got, expected) is same


def test_float_tolerance_is_opt_in():
    assert outputs_match("0.3333333\n", "0.33333334\n", float_tolerance=1e-6)
    assert not outputs_match("0.3333333\n", "0.33333334\n")
    assert not outputs_match("0.30\n", "0.33\n", float_tolerance=1e-6)
    assert not outputs_match("3\n", "4\n", float_tolerance=1.0)  # integers stay exact
    assert outputs_match("nan\n", "nan\n", float_tolerance=1e-6)  # equal tokens are equal


@pytest.mark.parametrize(
    ("completion", "code"),
    [
        ("print(1)\n", "print(1)\n"),
        ("print(1)\n```\nThis prints one.", "print(1)\n"),  # continues an opened ```python block
        ("```python\nprint(1)\n```\ntext", "print(1)\n"),
        ("Here it is:\n```python\nprint(2)\n```", "Here it is:\n"),  # text first: up to the fence
    ],
)
def test_extract_code(completion, code):
    assert extract_code(completion) == code


def test_time_limit():
    assert time_limit(1.5, 2.0) == 3.0
    assert time_limit(float("nan"), 1.0) == 2.0
    assert time_limit(0.0, 1.0, default_s=4.0) == 4.0


@pytest.fixture(scope="module")
def problems() -> pd.DataFrame:
    return normalise("codecontests", read_source({"path": str(FIXTURES / "codecontests.jsonl")}))


def _samples(problems: pd.DataFrame, completions: dict[str, list[str]]) -> pd.DataFrame:
    rows = [(pid, i, c) for pid, cs in completions.items() for i, c in enumerate(cs)]
    return pd.DataFrame(
        {
            "model": "m",
            "dataset": "codecontests",
            "problem_id": [r[0] for r in rows],
            "sample_index": [r[1] for r in rows],
            "completion": [r[2] for r in rows],
        }
    )


def test_reference_solutions_pass_all_test_groups(problems):
    samples = _samples(
        problems,
        {pid: [sol] for pid, sol in zip(problems["problem_id"], problems["canonical_solution"], strict=True)},
    )
    verdicts = grade_stdio(problems, samples, Limits(), workers=2)
    assert verdicts["passed"].all(), verdicts[["problem_id", "status", "detail"]].to_string()
    assert list(verdicts["tests_run"]) == [5, 4, 2]
    assert (verdicts["tests_run"] == verdicts["tests_total"]).all()


def test_candidates_in_the_sandbox(problems):
    sum_id = "1A. Sum of Two"
    completions = {
        sum_id: [
            "a, b = map(int, input().split())\nprint(a + b)\n```\nexplanation",  # fenced continuation
            "import sys\na, b = map(int, sys.stdin.buffer.read().split())\nsys.stdout.write(str(a + b))",
            "import os\na, b = map(int, input().split())\nos.write(1, b'%d\\n\\n' % (a + b))",
            "a, b = map(int, input().split())\nprint(a + b)\nexit()",
            "a, b = map(int, input().split())\nprint(abs(a) + abs(b))",  # right on public tests only
            "a, b = map(int, input().split())\nprint(a + b)\nimport sys\nsys.exit(3)",
            "while True:\n    pass",
            "print(int(input()) + 1)",  # ValueError on '1 2'
        ]
    }
    verdicts = grade_stdio(problems, _samples(problems, completions), Limits(), workers=2)
    assert list(verdicts["status"]) == [
        "passed",
        "passed",
        "passed",
        "passed",
        "failed",
        "error",
        "timeout",
        "error",
    ]
    wrong = verdicts.iloc[4]
    assert wrong["detail"].startswith("private test 0:") and "wrong answer" in wrong["detail"]
    assert wrong["tests_run"] == 2  # stopped at the first failing test
    assert verdicts.iloc[6]["detail"].startswith("public test 0:")
    assert verdicts.iloc[7]["error_type"] == "ValueError"


def test_groups_and_time_limits(problems):
    sort_id = "2B. Sort Them"
    slow = "import time\ntime.sleep(0.5)\nprint(*sorted(map(int, open(0).read().split()[1:])))"
    samples = _samples(problems, {sort_id: [slow, "print(*sorted(map(int, input().split())))"]})
    # the problem's limit is 1.5 s: sleeping a third of it passes (a second to spare for
    # starting the program on a loaded machine); a quarter of the limit (0.375 s) it fails
    ok = grade_stdio(problems, samples.head(1), Limits(), workers=1, groups=("public",))
    assert ok["status"].tolist() == ["passed"] and ok["tests_total"].tolist() == [1]
    shorter = grade_stdio(
        problems, samples.head(1), Limits(), workers=1, groups=("public",), time_factor=0.25
    )
    assert shorter["status"].tolist() == ["timeout"]
    # reading only the first line: passes nothing (reads n), so it fails on the public test
    weak = grade_stdio(problems, samples.tail(1), Limits(), workers=1, groups=("public",))
    assert weak["status"].tolist() == ["failed"]


def test_tests_kept_apart(problems):
    by_id = problems.set_index("problem_id")
    groups = json.loads(by_id.at["1A. Sum of Two", "test"])
    assert {g: len(t) for g, t in groups.items()} == {"public": 1, "private": 2, "generated": 2}
    assert [g for g, _, _ in problem_tests(by_id.at["1A. Sum of Two", "test"], ("generated",))] == [
        "generated",
        "generated",
    ]
    with pytest.raises(ValueError, match="unknown test group"):
        problem_tests(by_id.at["1A. Sum of Two", "test"], ("hidden",))
    samples = _samples(problems, {"3C. Reverse Lines": ["print(1)"]})
    none = grade_stdio(problems, samples, Limits(), workers=1, groups=("private",))
    assert (none.at[0, "status"], none.at[0, "error_type"]) == ("error", "NoTests")
