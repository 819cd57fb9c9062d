"""Every reference solution passes its own weak (base) and strong tests, in the sandbox:
HumanEval+ and MBPP+ with their official plus tests, MBPP (full and sanitized) and all of
HumanEval with generated strong tests. (CodeContests references: test_stdio_grading.)"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from monkeys.datasets.registry import DATASETS, normalise
from monkeys.datasets.sources import RawData, read_source
from monkeys.execution.programs import humaneval_program
from monkeys.execution.sandbox import Limits, run_programs
from monkeys.testgen import TestgenSettings, generate_strong_tests

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"


def _failures(problems: pd.DataFrame, column: str) -> list[tuple[str, str, str]]:
    rows = problems[problems[column] != ""]
    programs = [
        humaneval_program(p, s, t, e)
        for p, s, t, e in zip(
            rows["prompt"], rows["canonical_solution"], rows[column], rows["entry_point"], strict=True
        )
    ]
    outcomes = run_programs(programs, Limits(timeout_s=20), workers=2)
    return [
        (pid, o.status, o.detail[-400:])
        for pid, o in zip(rows["problem_id"], outcomes, strict=True)
        if o.status != "passed"
    ]


@pytest.mark.parametrize(
    ("name", "file"), [("humanevalplus", "humanevalplus.jsonl"), ("mbppplus", "mbppplus.jsonl")]
)
def test_plus_datasets(name, file):
    problems = normalise(name, read_source({"path": str(FIXTURES / file)}))
    assert (problems["plus_test"] != "").all()
    assert _failures(problems, "test") == []
    assert _failures(problems, "plus_test") == []


@pytest.mark.parametrize(
    ("name", "file"), [("humanevalplus", "humanevalplus.jsonl"), ("mbppplus", "mbppplus.jsonl")]
)
def test_plus_datasets_pass_under_calibrated_limits(name, file):
    """Honest programs do not flip: every reference passes both suites with limits calibrated
    on itself (monkeys.execution.time_limits, default floor and factor)."""
    from monkeys.execution.time_limits import TimeLimitSettings, calibrate
    from monkeys.grading.unit_tests import grade_unit_tests

    problems = normalise(name, read_source({"path": str(FIXTURES / file)}))
    table = calibrate(problems, Limits(), workers=2, repeats=2)
    assert (table["status"] == "passed").all() and set(table["suite"]) == {"test", "plus_test"}
    samples = pd.DataFrame(
        {
            "model": "reference",
            "dataset": name,
            "problem_id": problems["problem_id"],
            "sample_index": 0,
            "completion": list(problems["canonical_solution"]),
        }
    )
    verdicts = grade_unit_tests(
        problems, samples, Limits(timeout_s=20), workers=2, time_limits=table, time_limit=TimeLimitSettings()
    )
    assert list(verdicts["status"]) == ["passed"] * len(problems)
    assert list(verdicts["plus_status"]) == ["passed"] * len(problems)
    assert (verdicts["time_limit_s"] < 20).all() and (verdicts["plus_time_limit_s"] < 20).all()


@pytest.mark.parametrize(
    ("name", "file"), [("mbpp", "mbpp.jsonl"), ("mbpp_sanitized", "sanitized-mbpp.json")]
)
def test_mbpp_with_generated_tests(name, file):
    problems = normalise(name, read_source({"path": str(FIXTURES / file)}))
    assert _failures(problems, "test") == []
    tests = generate_strong_tests(problems, seed=1234, settings=TestgenSettings(num_inputs=10))
    assert (tests["num_generated"] > 0).all()
    merged = problems.drop(columns="plus_test").merge(tests[["problem_id", "plus_test"]], on="problem_id")
    assert _failures(merged, "plus_test") == []


def test_all_of_humaneval_with_generated_tests():
    """Every problem gets a strong test (HumanEval/38 and /50, whose tests use only random
    strings, from HumanEval+'s base inputs). Expected outputs come from HumanEval+'s corrected
    references, so an original canonical solution fails them only where HumanEval+ changed
    the reference (a wrong or too-slow original), never elsewhere."""
    from monkeys.testgen.references import shipped_references

    problems = normalise("humaneval", read_source(DATASETS["humaneval"].default_source))
    tests = generate_strong_tests(problems, seed=1234, settings=TestgenSettings(num_inputs=10))
    assert (tests["plus_test"] != "").all()
    assert tests["num_generated"].sum() > 1400
    merged = problems.drop(columns="plus_test").merge(tests[["problem_id", "plus_test"]], on="problem_id")
    corrected = {
        pid
        for pid, row in shipped_references().items()
        if row["solution"].strip() != problems.set_index("problem_id").at[pid, "canonical_solution"].strip()
    }
    failures = {pid for pid, _, _ in _failures(merged, "plus_test")}
    assert failures <= corrected, failures - corrected
    assert len(failures) <= 25  # 19 measured (e.g. /39, /55: too slow beside the corrected one)


def _mbppplus_row(task: int, entry: str, code: str, assertion: str, inputs: list) -> dict:
    return {
        "task_id": f"Mbpp/{task}",
        "prompt": f"'''\nWrite a function {entry}.\n'''",
        "entry_point": entry,
        "canonical_solution": code,
        "assertion": assertion,
        "base_input": inputs[:1],
        "plus_input": inputs[1:],
        "atol": 0,
        "contract": "",
    }


def test_mbppplus_quirks_in_the_sandbox():
    """JSON-stored inputs get their tuples back (Mbpp/106), a function named `check` survives
    the tests' own check() (Mbpp/56), and special oracles apply (Mbpp/295 accepts 0)."""
    rows = [
        _mbppplus_row(
            106,
            "add_lists",
            "def add_lists(test_list, test_tup):\n    return test_tup + tuple(test_list)\n",
            "assert add_lists([5, 6, 7], (9, 10)) == (9, 10, 5, 6, 7)\n",
            [[[5, 6, 7], [9, 10]], [[1], [2, 3]]],
        ),
        _mbppplus_row(
            56,
            "check",
            "def rev(n):\n    return int(str(n)[::-1])\ndef check(n):\n    return 2 * rev(n) == n + 1\n",
            "assert check(70) == False\nassert check(73) == True\n",
            [[70], [73], [23]],
        ),
        _mbppplus_row(
            295,
            "sum_div",
            "def sum_div(n):\n    return sum(i for i in range(1, n) if n % i == 0)\n",
            "assert sum_div(8) == 7\n",
            [[8], [12], [1]],
        ),
    ]
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    problems = normalise("mbppplus", RawData(data, "rows", hashlib.sha256(data).hexdigest()))
    assert _failures(problems, "test") == []
    assert _failures(problems, "plus_test") == []
    assert json.loads(problems["metadata"].iat[2])["oracle"] == "or_zero"
    by_id = problems.set_index("problem_id")
    zero = "def sum_div(n):\n    return 0 if n == 12 else sum(i for i in range(1, n) if n % i == 0)\n"
    wrong = "def check(n):\n    return n % 2 == 1\n"
    outcomes = run_programs(
        [
            humaneval_program(
                by_id.at["Mbpp/295", "prompt"], zero, by_id.at["Mbpp/295", "plus_test"], "sum_div"
            ),
            humaneval_program(
                by_id.at["Mbpp/56", "prompt"], wrong, by_id.at["Mbpp/56", "plus_test"], "check"
            ),
        ],
        Limits(timeout_s=20),
        workers=1,
    )
    assert [o.status for o in outcomes] == ["passed", "failed"]
