"""The scores table: one row per scored sample (rule score_shard)."""

from __future__ import annotations

import pyarrow as pa

from monkeys.tables.keys import KEY

SCORES = pa.schema(
    [
        *KEY,
        ("sample_index", pa.int32()),
        ("score", pa.float64()),  # higher is better; -inf: never preferred (e.g. no tokens)
        ("scorer", pa.string()),  # the scorer's name in the config (`scorers`)
        ("wall_s", pa.float64()),  # seconds spent on this sample (a share of a batch's time)
    ]
)
