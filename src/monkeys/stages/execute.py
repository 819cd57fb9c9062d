"""The execution stage: grade one shard of samples in the sandbox."""


from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monkeys import tables
from monkeys.execution.sandbox import Limits
from monkeys.grading.unit_tests import grade_unit_tests

log = logging.getLogger("monkeys")


def execute_shard(
    problems_path: str | Path,
    samples_path: str | Path,
    out: str | Path,
    *,
    execution: Mapping[str, Any],
) -> None:
    """Run every sample of a shard against its tests in the sandbox; write verdicts."""
    problems = tables.read_table(problems_path, tables.PROBLEMS)
    samples = tables.read_table(samples_path, tables.SAMPLES)
    limits = Limits(timeout_s=float(execution["timeout_s"]), memory_mb=int(execution["memory_mb"]))
    verdicts = grade_unit_tests(problems, samples, limits, workers=int(execution["workers"]))
    tables.write_table(verdicts, out, tables.VERDICTS)
    log.info("%s: %s", samples_path, verdicts["status"].value_counts().to_dict())
