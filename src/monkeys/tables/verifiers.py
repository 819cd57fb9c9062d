"""Imperfect-verifier curves and expected utility (Inference Scaling fLaws)."""

from __future__ import annotations

import pyarrow as pa

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
