"""Model families: the S-curve offsets."""

from __future__ import annotations

import pyarrow as pa

# Model families (monkeys.stages.family): k each member needs to reach a coverage level,
# and its offset in log10 k from the family's largest member (the S-curve view).
FAMILY = pa.schema(
    [
        ("family", pa.string()),
        ("dataset", pa.string()),
        ("model", pa.string()),
        ("reference", pa.string()),
        ("level", pa.float64()),
        ("k", pa.float64()),
        ("k_reference", pa.float64()),
        ("log10_offset", pa.float64()),
        ("params_billions", pa.float64()),
    ]
)
