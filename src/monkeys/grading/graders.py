"""Graders, registered by name: each is a module with a `grade_shard` function.

`grade` imports the chosen grader's module only when a job runs, by name, so that an
execution job's code hash (`grading_closure`) covers the execute stage and that grader, not
the others: an edit to the math grader reruns no code execution, and an edit to the sandbox
reruns no math grading. Add a grader by writing its module and naming it here (and in the
dataset registry, monkeys.datasets.registry).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from monkeys.registries import Registry

GRADERS = Registry(
    "grader",
    {
        "unit_tests": "monkeys.grading.unit_tests",
        "stdio": "monkeys.grading.stdio",
        "math": "monkeys.grading.math",
    },
)


def grade(
    grader: str,
    problems: pd.DataFrame,
    samples: pd.DataFrame,
    *,
    execution: Mapping[str, Any],
    grading: str = "paper",
    time_limits_path: str | Path | None = None,
) -> pd.DataFrame:
    """Verdicts (monkeys.tables.verdicts.VERDICTS columns) of `samples` by `grader`."""
    return GRADERS.load(grader).grade_shard(
        problems, samples, execution=execution, grading=grading, time_limits_path=time_limits_path
    )


def grading_closure(grader: str) -> list[Path]:
    """The library files an execution job with `grader` runs: what its code hash covers."""
    return GRADERS.closure("monkeys.stages.execute", grader)
