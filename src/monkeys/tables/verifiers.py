"""Imperfect-verifier curves and expected utility (Inference Scaling fLaws)."""

from __future__ import annotations

import pyarrow as pa

# Imperfect verifiers (monkeys.stages.verifiers): accuracy of resampling until the weak
# verifier passes, next to weak and strong coverage, per k.
VERIFIER_CURVES = pa.schema(
    [
        ("model", pa.string()),
        ("dataset", pa.string()),
        ("k", pa.int32()),
        ("coverage_weak", pa.float64()),
        ("coverage_strong", pa.float64()),
        ("resampling_accuracy", pa.float64()),
        ("lower", pa.float64()),
        ("upper", pa.float64()),
        ("asymptote", pa.float64()),
        ("false_positive_rate", pa.float64()),  # per problem: mean(1 - t/w) over w > 0
        ("false_positive_rate_pooled", pa.float64()),  # sum(w - t) / sum(w)
        ("single_sample_accuracy", pa.float64()),
        ("num_problems", pa.int32()),
    ]
)

# Expected utility (+1 correct, -cost false positive, 0 abstain) of resampling up to k.
UTILITY = pa.schema(
    [
        ("model", pa.string()),
        ("dataset", pa.string()),
        ("cost", pa.float64()),
        ("k", pa.int32()),
        ("utility", pa.float64()),
        ("optimal", pa.bool_()),
    ]
)

# Inference Scaling fLaws Fig. 1a (monkeys.stages.flaws), one row per model of a dataset: the
# resampling ceiling against single-sample accuracy, the per-problem and pooled false-positive
# rates, and the flaky fraction. Null/NaN flaws columns: the dataset has no strong verifier.
FLAWS = pa.schema(
    [
        ("model", pa.string()),
        ("dataset", pa.string()),
        ("num_problems", pa.int32()),
        ("num_samples", pa.int64()),
        ("strong_verifier", pa.bool_()),
        ("single_sample_accuracy", pa.float64()),  # mean t/n: pass@1 on the strong tests
        ("weak_accuracy", pa.float64()),  # mean w/n: pass@1 on the weak tests
        ("num_problems_weak_pass", pa.int32()),  # problems with w > 0
        ("false_positive_rate", pa.float64()),  # per problem (the paper's): mean(1 - t/w), w > 0
        ("false_positive_rate_pooled", pa.float64()),  # sum(w - t) / sum(w)
        ("conditional_accuracy", pa.float64()),  # 1 - false_positive_rate (the paper's y)
        ("resampling_ceiling", pa.float64()),  # mean t/w, w = 0 counts 0 (infinite budget)
        ("resampling_ceiling_upper", pa.float64()),  # mean t/w, w = 0 counts 1
        ("below_strongest", pa.bool_()),  # ceiling < the strongest model's pass@1
        ("num_flaky", pa.int64()),  # samples whose reruns disagreed
        ("flaky_sample_fraction", pa.float64()),
        ("flaky_problem_fraction", pa.float64()),  # problems with at least one flaky sample
    ]
)

# The line across models of one dataset: y = conditional accuracy (1 - FPR) on x = single-
# sample accuracy, as the paper fits it; NaN with `note` when there is no fit.
FLAWS_FIT = pa.schema(
    [
        ("dataset", pa.string()),
        ("x", pa.string()),
        ("y", pa.string()),
        ("num_models", pa.int32()),
        ("slope", pa.float64()),
        ("intercept", pa.float64()),
        ("r", pa.float64()),
        ("r2", pa.float64()),
        ("p_value", pa.float64()),
        ("note", pa.string()),
        ("strongest_model", pa.string()),
        ("strongest_accuracy", pa.float64()),
        ("num_below_strongest", pa.int32()),
    ]
)
