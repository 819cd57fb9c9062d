"""The samples table: one row per drawn completion."""

from __future__ import annotations

import pyarrow as pa

from monkeys.tables.keys import KEY

SAMPLES = pa.schema([
    *KEY,
    ("sample_index", pa.int32()),
    ("seed", pa.int64()),
    ("completion", pa.string()),
    ("finish_reason", pa.string()),
    ("prompt_tokens", pa.int32()),
    ("completion_tokens", pa.int32()),
    ("wall_s", pa.float64()),
])
