"""The verdicts table: one row per executed or graded sample."""

from __future__ import annotations

import pyarrow as pa

from monkeys.tables.keys import KEY

VERDICTS = pa.schema(
    [
        *KEY,
        ("sample_index", pa.int32()),
        ("status", pa.string()),
        ("error_type", pa.string()),
        ("detail", pa.string()),
        ("runtime_s", pa.float64()),
        ("passed", pa.bool_()),
        # Added by the sandboxed execution engine (monkeys.grading.unit_tests):
        ("num_tests", pa.int32()),  # per-test cases of `test`; null = not split
        ("failed_tests", pa.list_(pa.int32())),  # indices of those that failed; null = unknown
        ("first_failed_test", pa.string()),  # source of the first failed case ("" = none)
        ("plus_status", pa.string()),  # verdict under `plus_test`; null = no plus suite
        ("plus_passed", pa.bool_()),
        ("plus_error_type", pa.string()),
        ("plus_num_tests", pa.int32()),
        ("plus_failed_tests", pa.list_(pa.int32())),
        ("answer", pa.string()),  # for majority vote: math, the normalised
        # answer; code, "pass" or the digest of its
        # outputs on the tests' inputs (see
        # monkeys.stages.execute.answers)
        ("flaky", pa.bool_()),  # reruns (execution.reruns) disagreed
        ("runs", pa.int32()),  # executions per program (1 + reruns)
        ("time_limit_s", pa.float64()),  # the wall-clock limit that judged `test`
        # (calibrated on the reference, or the flat
        # execution.timeout_s); null = not executed
        ("plus_time_limit_s", pa.float64()),  # the same for `plus_test`
        ("decided_by", pa.string()),  # "judge": a process that never ran candidate
        # code (monkeys.execution.judge); "harness":
        # the in-process harness; "" = no verdict
        # (timeout, crash); null = not executed
        ("plus_decided_by", pa.string()),  # the same for `plus_test`
    ]
)
