"""The test-generation stage: generated strong tests for a code dataset's selected problems."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monkeys.datasets.registry import select_problems
from monkeys.tables.datasets import PROBLEMS, STRONG_TESTS
from monkeys.tables.io import read_table, write_table
from monkeys.testgen import TestgenSettings, generate_strong_tests

log = logging.getLogger(__name__)


def generate_tests(
    problems_path: str | Path,
    out: str | Path,
    *,
    seed: int,
    selection: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
    workers: int = 2,
    memory_mb: int = 1024,
) -> None:
    """Write strong tests (monkeys.tables.datasets.STRONG_TESTS) for the selected problems."""
    problems = select_problems(
        read_table(problems_path, PROBLEMS), selection.get("problems"), selection.get("limit")
    )
    knobs = TestgenSettings(memory_mb=memory_mb, **dict(settings or {}))
    tests = generate_strong_tests(problems, seed, settings=knobs, workers=workers)
    tests.insert(0, "dataset", problems["dataset"].iat[0] if len(problems) else "")
    tests["seed"] = seed
    write_table(tests, out, STRONG_TESTS)
    empty = int((tests["plus_test"] == "").sum())
    log.info(
        "%d problems: %d strong-test inputs in all (%d generated, %d mutants rejected); "
        "%d problems without a strong test",
        len(tests),
        tests["num_inputs"].sum(),
        tests["num_generated"].sum(),
        tests["num_discarded"].sum(),
        empty,
    )
