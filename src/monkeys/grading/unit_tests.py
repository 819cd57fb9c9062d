"""The unit-test grader: run prompt + completion + tests in the sandbox, one verdict per sample."""

from __future__ import annotations

import pandas as pd

from monkeys.execution.programs import humaneval_program
from monkeys.execution.sandbox import Limits, run_programs


def build_programs(problems: pd.DataFrame, samples: pd.DataFrame) -> list[str]:
    """The program each sample is judged by, in sample order.

    A sample whose problem is missing from `problems` is an error naming it.
    """
    by_id = problems.set_index("problem_id")
    missing = sorted(set(samples["problem_id"]) - set(by_id.index))
    if missing:
        raise ValueError(f"samples refer to problems not in the dataset: {missing[:5]}")
    rows = by_id.loc[samples["problem_id"]]
    return [
        humaneval_program(prompt, completion, test, entry_point)
        for prompt, completion, test, entry_point in zip(
            rows["prompt"], samples["completion"], rows["test"], rows["entry_point"], strict=True
        )
    ]


def grade_unit_tests(
    problems: pd.DataFrame, samples: pd.DataFrame, limits: Limits, workers: int
) -> pd.DataFrame:
    """Verdicts (monkeys.tables.VERDICTS columns) for every sample, in sample order."""
    outcomes = run_programs(build_programs(problems, samples), limits, workers=workers)
    verdicts = samples[["model", "dataset", "problem_id", "sample_index"]].reset_index(drop=True)
    verdicts["status"] = [o.status for o in outcomes]
    verdicts["error_type"] = [o.error_type for o in outcomes]
    verdicts["detail"] = [o.detail for o in outcomes]
    verdicts["runtime_s"] = [o.runtime_s for o in outcomes]
    verdicts["passed"] = verdicts["status"] == "passed"
    return verdicts
