"""The samples table: one row per drawn completion."""

from __future__ import annotations

import pyarrow as pa

from monkeys.tables.keys import KEY

SAMPLES = pa.schema(
    [
        *KEY,
        ("sample_index", pa.int32()),
        ("seed", pa.int64()),
        ("completion", pa.string()),
        ("finish_reason", pa.string()),
        ("prompt_tokens", pa.int32()),
        ("completion_tokens", pa.int32()),
        ("wall_s", pa.float64()),
        # Null where the engine or the import gives none:
        ("logprob_sum", pa.float64()),  # sum of the completion tokens' log-probabilities
        ("logprob_mean", pa.float64()),  # logprob_sum / completion_tokens
        ("score", pa.float64()),  # an imported reward score (higher is better)
        ("imported_correct", pa.bool_()),  # an imported verdict (e.g. monkey_business
        # `is_corrects`), used unless `regrade: true`
    ]
)
