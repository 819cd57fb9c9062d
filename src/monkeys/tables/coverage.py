"""Coverage curves and their exponentiated power-law fits."""

from __future__ import annotations

import pyarrow as pa

COVERAGE = pa.schema(
    [
        ("model", pa.string()),
        ("dataset", pa.string()),
        ("k", pa.int32()),
        ("coverage", pa.float64()),
        ("lower", pa.float64()),
        ("upper", pa.float64()),
        ("num_problems", pa.int32()),
        ("confidence", pa.float64()),
        ("bootstrap_resamples", pa.int32()),
    ]
)

FIT = pa.schema(
    [
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
    ]
)
