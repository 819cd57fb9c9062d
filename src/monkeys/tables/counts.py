"""The counts table: per problem, how many samples were drawn and passed."""

from __future__ import annotations

import pyarrow as pa

from monkeys.tables.keys import KEY

COUNTS = pa.schema(
    [
        *KEY,
        ("n", pa.int32()),
        ("num_correct", pa.int32()),
        ("num_failed", pa.int32()),
        ("num_error", pa.int32()),
        ("num_timeout", pa.int32()),
        ("num_crashed", pa.int32()),
        ("num_flaky", pa.int32()),  # samples whose reruns disagreed (execution.reruns)
        ("num_plus_correct", pa.int32()),  # passed both `test` and `plus_test`; null = no plus suite
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("sample_wall_s", pa.float64()),
    ]
)
