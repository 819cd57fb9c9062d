"""Coverage against inference cost."""

from __future__ import annotations

import pyarrow as pa

# Coverage against inference cost per model and k (monkeys.stages.cost); per problem means.
COST = pa.schema(
    [
        ("model", pa.string()),
        ("dataset", pa.string()),
        ("k", pa.int32()),
        ("coverage", pa.float64()),
        ("flops", pa.float64()),
        ("dollars", pa.float64()),
        ("pareto_flops", pa.bool_()),
        ("pareto_dollars", pa.bool_()),
    ]
)
