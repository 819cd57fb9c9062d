"""Parquet tables: one explicit schema per intermediate, atomic writes, checked reads."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

_KEY = [("model", pa.string()), ("dataset", pa.string()), ("problem_id", pa.string())]

PROBLEMS = pa.schema([
    ("dataset", pa.string()),
    ("problem_id", pa.string()),
    ("prompt", pa.string()),
    ("entry_point", pa.string()),
    ("test", pa.string()),
    ("canonical_solution", pa.string()),
    ("source", pa.string()),
    ("source_sha256", pa.string()),
    # Added for more datasets (monkeys.datasets.registry fills defaults for datasets without them):
    ("plus_test", pa.string()),       # a second, stronger check() body; "" = none
    ("grader", pa.string()),          # "unit_tests", "stdio" or "math" (the registry's grader)
    ("answer", pa.string()),          # math: the reference final answer; "" otherwise
    ("time_limit_s", pa.float64()),   # stdio: per-test time limit from the problem; NaN = none
    ("metadata", pa.string()),        # JSON object of dataset-specific fields (level, atol, ...)
])

# Generated strong tests of a code dataset (monkeys.testgen.generate_strong_tests).
STRONG_TESTS = pa.schema([
    ("dataset", pa.string()),
    ("problem_id", pa.string()),
    ("plus_test", pa.string()),       # a check() body; "" when no test could be made
    ("num_inputs", pa.int32()),       # inputs in the test: valid seeds + generated
    ("num_seed_inputs", pa.int32()),  # read from the base tests
    ("num_generated", pa.int32()),    # mutants kept
    ("num_discarded", pa.int32()),    # mutants the reference rejected (raised, too slow, unstable)
    ("seed", pa.int64()),
])

# Rows a dataset's loader could not use (fetch with `allow_skip: true`); `row` counts from 1.
SKIPPED_ROWS = pa.schema([
    ("dataset", pa.string()),
    ("row", pa.int64()),
    ("problem_id", pa.string()),
    ("reason", pa.string()),
])

SAMPLES = pa.schema([
    *_KEY,
    ("sample_index", pa.int32()),
    ("seed", pa.int64()),
    ("completion", pa.string()),
    ("finish_reason", pa.string()),
    ("prompt_tokens", pa.int32()),
    ("completion_tokens", pa.int32()),
    ("wall_s", pa.float64()),
])

VERDICTS = pa.schema([
    *_KEY,
    ("sample_index", pa.int32()),
    ("status", pa.string()),
    ("error_type", pa.string()),
    ("detail", pa.string()),
    ("runtime_s", pa.float64()),
    ("passed", pa.bool_()),
    # Added by the sandboxed execution engine (monkeys.grading.unit_tests):
    ("num_tests", pa.int32()),                  # per-test cases of `test`; null = not split
    ("failed_tests", pa.list_(pa.int32())),     # indices of those that failed; null = unknown
    ("first_failed_test", pa.string()),         # source of the first failed case ("" = none)
    ("plus_status", pa.string()),               # verdict under `plus_test`; null = no plus suite
    ("plus_passed", pa.bool_()),
    ("plus_error_type", pa.string()),
    ("plus_num_tests", pa.int32()),
    ("plus_failed_tests", pa.list_(pa.int32())),
    ("answer", pa.string()),                    # for majority vote: math, the normalised
                                                # answer; code, which test cases pass ("" = none)
    ("flaky", pa.bool_()),                      # reruns (execution.reruns) disagreed
    ("runs", pa.int32()),                       # executions per program (1 + reruns)
])

COUNTS = pa.schema([
    *_KEY,
    ("n", pa.int32()),
    ("num_correct", pa.int32()),
    ("num_failed", pa.int32()),
    ("num_error", pa.int32()),
    ("num_timeout", pa.int32()),
    ("num_crashed", pa.int32()),
    ("num_flaky", pa.int32()),          # samples whose reruns disagreed (execution.reruns)
    ("num_plus_correct", pa.int32()),   # passed both `test` and `plus_test`; null = no plus suite
    ("prompt_tokens", pa.int64()),
    ("completion_tokens", pa.int64()),
    ("sample_wall_s", pa.float64()),
])

COVERAGE = pa.schema([
    ("model", pa.string()),
    ("dataset", pa.string()),
    ("k", pa.int32()),
    ("coverage", pa.float64()),
    ("lower", pa.float64()),
    ("upper", pa.float64()),
    ("num_problems", pa.int32()),
    ("confidence", pa.float64()),
    ("bootstrap_resamples", pa.int32()),
])

FIT = pa.schema([
    ("model", pa.string()),
    ("dataset", pa.string()),
    ("a", pa.float64()),
    ("b", pa.float64()),
    ("a_stderr", pa.float64()),
    ("b_stderr", pa.float64()),
    ("rmse", pa.float64()),
    ("k_min", pa.int32()),
    ("k_max", pa.int32()),
    ("num_points", pa.int32()),
    ("success", pa.bool_()),
    ("message", pa.string()),
    # Coverage predicted at k_target by the fit, with a bootstrap band over problems.
    ("k_target", pa.int64()),
    ("predicted", pa.float64()),
    ("predicted_lower", pa.float64()),
    ("predicted_upper", pa.float64()),
    ("resamples_used", pa.int32()),
])


def write_table(frame: pd.DataFrame, path: str | Path, schema: pa.Schema) -> None:
    """Write `frame` to Parquet with exactly `schema` (column order and types), atomically.

    The file appears under its final name only when complete (temp name + rename).
    """
    missing = [name for name in schema.names if name not in frame.columns]
    if missing:
        raise ValueError(f"{path}: table lacks columns {missing}")
    table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_table(path: str | Path, schema: pa.Schema) -> pd.DataFrame:
    """Read a Parquet file written with `schema`; a clear error if it is not that table."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise ValueError(f"{path}: not a readable Parquet file ({exc})") from None
    missing = [name for name in schema.names if name not in table.schema.names]
    if missing:
        raise ValueError(f"{path}: expected columns {missing} are missing")
    return table.select(schema.names).cast(schema).to_pandas()


def read_tables(paths: list[str | Path], schema: pa.Schema) -> pd.DataFrame:
    """Concatenate several tables of the same schema (an empty frame with the schema if none)."""
    frames = [read_table(p, schema) for p in paths]
    if not frames:
        return schema.empty_table().to_pandas()
    return pd.concat(frames, ignore_index=True)

# Imperfect verifiers (monkeys.stages.verifiers): accuracy of resampling until the weak
# verifier passes, next to weak and strong coverage, per k.
VERIFIER_CURVES = pa.schema([
    ("model", pa.string()),
    ("dataset", pa.string()),
    ("k", pa.int32()),
    ("coverage_weak", pa.float64()),
    ("coverage_strong", pa.float64()),
    ("resampling_accuracy", pa.float64()),
    ("lower", pa.float64()),
    ("upper", pa.float64()),
    ("asymptote", pa.float64()),
    ("false_positive_rate", pa.float64()),
    ("single_sample_accuracy", pa.float64()),
    ("num_problems", pa.int32()),
])

# Expected utility (+1 correct, -cost false positive, 0 abstain) of resampling up to k.
UTILITY = pa.schema([
    ("model", pa.string()),
    ("dataset", pa.string()),
    ("cost", pa.float64()),
    ("k", pa.int32()),
    ("utility", pa.float64()),
    ("optimal", pa.bool_()),
])

# Coverage against inference cost per model and k (monkeys.stages.cost); per problem means.
COST = pa.schema([
    ("model", pa.string()),
    ("dataset", pa.string()),
    ("k", pa.int32()),
    ("coverage", pa.float64()),
    ("flops", pa.float64()),
    ("dollars", pa.float64()),
    ("pareto_flops", pa.bool_()),
    ("pareto_dollars", pa.bool_()),
])

# Selection without an oracle (monkeys.stages.selection): accuracy over k, mean over problems.
SELECTION = pa.schema([
    ("model", pa.string()),
    ("dataset", pa.string()),
    ("k", pa.int32()),
    ("coverage", pa.float64()),
    ("majority_vote", pa.float64()),
    ("verifier_based", pa.float64()),
    ("verifier", pa.string()),         # "reward score" or "weak tests"
    ("judged_by", pa.string()),        # "strong tests" or "tests"
    ("gap", pa.float64()),             # verifier_based - majority_vote
    ("num_problems", pa.int32()),
    ("draws", pa.int32()),             # Monte Carlo draws behind majority_vote
    ("seed", pa.int64()),
])

# Model families (monkeys.stages.family): k each member needs to reach a coverage level,
# and its offset in log10 k from the family's largest member (the S-curve view).
FAMILY = pa.schema([
    ("family", pa.string()),
    ("dataset", pa.string()),
    ("model", pa.string()),
    ("reference", pa.string()),
    ("level", pa.float64()),
    ("k", pa.float64()),
    ("k_reference", pa.float64()),
    ("log10_offset", pa.float64()),
    ("params_billions", pa.float64()),
])
