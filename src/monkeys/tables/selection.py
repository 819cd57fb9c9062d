"""Selection without an oracle: majority vote and verifier-based."""

from __future__ import annotations

import pyarrow as pa

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
