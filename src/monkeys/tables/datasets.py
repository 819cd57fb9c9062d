"""Dataset tables: the problems, generated strong tests and skipped source rows."""

from __future__ import annotations

import pyarrow as pa

PROBLEMS = pa.schema(
    [
        ("dataset", pa.string()),
        ("problem_id", pa.string()),
        ("prompt", pa.string()),
        ("entry_point", pa.string()),
        ("test", pa.string()),
        ("canonical_solution", pa.string()),
        ("source", pa.string()),
        ("source_sha256", pa.string()),
        # Added for more datasets (monkeys.datasets.registry fills defaults for datasets without them):
        ("plus_test", pa.string()),  # a second, stronger check() body; "" = none
        ("grader", pa.string()),  # "unit_tests", "stdio" or "math" (the registry's grader)
        ("answer", pa.string()),  # math: the reference final answer; "" otherwise
        ("time_limit_s", pa.float64()),  # stdio: per-test time limit from the problem; NaN = none
        ("metadata", pa.string()),  # JSON object of dataset-specific fields (level, atol, ...)
    ]
)

# Generated strong tests of a code dataset (monkeys.testgen.generate_strong_tests).
STRONG_TESTS = pa.schema(
    [
        ("dataset", pa.string()),
        ("problem_id", pa.string()),
        ("plus_test", pa.string()),  # a check() body; "" when no test could be made
        ("num_inputs", pa.int32()),  # inputs in the test: valid seeds + generated
        ("num_seed_inputs", pa.int32()),  # read from the base tests
        ("num_generated", pa.int32()),  # mutants kept
        ("num_discarded", pa.int32()),  # mutants the reference rejected (raised, too slow, unstable)
        ("seed", pa.int64()),
    ]
)

# Rows a dataset's loader could not use (fetch with `allow_skip: true`); `row` counts from 1.
SKIPPED_ROWS = pa.schema(
    [
        ("dataset", pa.string()),
        ("row", pa.int64()),
        ("problem_id", pa.string()),
        ("reason", pa.string()),
    ]
)
