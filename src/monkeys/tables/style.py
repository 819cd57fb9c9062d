"""Code style of false positives vs true positives (Inference Scaling fLaws): lint findings."""

from __future__ import annotations

import pyarrow as pa

# Lint findings per group of weak-test passes (monkeys.stages.style): one row per group,
# true_positive (the strong tests pass too) and false_positive (they fail). A group with no
# samples keeps its row: zero counts, NaN rates. Lines are the completion's non-blank lines;
# findings are those located on them.
STYLE = pa.schema(
    [
        ("model", pa.string()),
        ("dataset", pa.string()),
        ("group", pa.string()),  # "true_positive" or "false_positive"
        ("samples", pa.int32()),
        ("problems", pa.int32()),  # problems with at least one sample in the group
        ("lines", pa.int64()),
        ("findings", pa.int64()),
        ("findings_per_line", pa.float64()),  # pooled: findings / lines
        ("mean_findings_per_line", pa.float64()),  # mean over samples of each one's findings / lines
        ("lower", pa.float64()),  # percentile bootstrap band of that mean (samples)
        ("upper", pa.float64()),
        ("p_value", pa.float64()),  # TP vs FP per-sample rates (same on both rows)
        ("test", pa.string()),  # the test behind p_value
        ("select", pa.string()),  # the ruff rule selection, comma-separated
        ("linter", pa.string()),  # e.g. "ruff 0.8.4"
    ]
)

# The same findings by rule code (long format): one row per (group, rule) with findings.
STYLE_RULES = pa.schema(
    [
        ("model", pa.string()),
        ("dataset", pa.string()),
        ("group", pa.string()),
        ("rule", pa.string()),  # e.g. "F841"; "invalid-syntax" for parse errors
        ("name", pa.string()),  # e.g. "unused-variable"
        ("findings", pa.int64()),
        ("samples", pa.int32()),  # samples of the group with at least one
        ("findings_per_line", pa.float64()),  # findings / the group's lines
    ]
)
