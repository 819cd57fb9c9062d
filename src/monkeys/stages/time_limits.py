"""The calibrate_limits stage: time each selected problem's reference solution in the sandbox.

Its table (monkeys.execution.time_limits.TIME_LIMITS) holds measurements only; the limits
themselves (floor, factor, ceiling) are applied by the execute stage, so changing them reruns
execution, not calibration.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monkeys.datasets.selection import select_problems
from monkeys.execution.sandbox import Isolation, Limits
from monkeys.execution.time_limits import TIME_LIMITS, calibrate
from monkeys.tables.datasets import PROBLEMS, STRONG_TESTS
from monkeys.tables.io import read_table, write_table

log = logging.getLogger(__name__)


def calibrate_limits(
    problems_path: str | Path,
    out: str | Path,
    *,
    sandbox: Mapping[str, Any],
    selection: Mapping[str, Any],
    repeats: int = 3,
    workers: int = 2,
    strong_tests_path: str | Path | None = None,
) -> None:
    """Write the reference timings of the selected unit-test problems (both suites).

    `sandbox` holds the execution keys that shape a run (memory_mb, file_size_mb,
    max_processes, isolation, image, disk_mb): the reference runs as candidates do.
    """
    ids = selection.get("problems")
    if ids == "from_import":  # the imports' problems are not read here: time them all
        ids = None
    problems = select_problems(read_table(problems_path, PROBLEMS), ids, selection.get("limit"))
    if strong_tests_path:
        # as the execute stage does (not imported from it: its edits would rerun calibration)
        generated = read_table(strong_tests_path, STRONG_TESTS).set_index("problem_id")
        fill = problems["problem_id"].map(generated["plus_test"]).fillna("")
        problems = problems.assign(plus_test=problems["plus_test"].where(problems["plus_test"] != "", fill))
    if "grader" in problems:
        problems = problems[problems["grader"].isin(["unit_tests", ""])]
    limits = Limits(
        memory_mb=int(sandbox.get("memory_mb", 1024)),
        file_size_mb=int(sandbox.get("file_size_mb", 16)),
        max_processes=int(sandbox.get("max_processes", 16)),
    )
    isolation = Isolation(
        level=str(sandbox.get("isolation", "process")),
        image=str(sandbox.get("image", Isolation.image)),
        disk_mb=int(sandbox.get("disk_mb", 64)),
    )
    table = calibrate(problems.reset_index(drop=True), limits, workers, repeats=repeats, isolation=isolation)
    write_table(table, out, TIME_LIMITS)
    calibrated = table[table["status"] == "passed"]
    log.info(
        "%d suites of %d problems: %d calibrated (reference %.4f s median, %.4f s max); "
        "not calibrated (flat limit): %s",
        len(table),
        table["problem_id"].nunique(),
        len(calibrated),
        calibrated["reference_s"].median() if len(calibrated) else 0.0,
        calibrated["reference_s"].max() if len(calibrated) else 0.0,
        table.loc[table["status"] != "passed", "status"].value_counts().to_dict(),
    )
