"""Verification gap vs output tokens and the base policy's heterogeneity and anti-concentration
(Setlur et al. 2025; monkeys.stages.verification_gap, definitions in
monkeys.metrics.verification_gap)."""

from __future__ import annotations

import pyarrow as pa

from monkeys.tables.keys import KEY

# Selection accuracy over k as a function of the expected output tokens H(k), per model.
GAP_CURVES = pa.schema(
    [
        ("model", pa.string()),
        ("dataset", pa.string()),
        ("k", pa.int32()),
        ("budget_tokens", pa.float64()),  # H(k) = k * mean over problems of tokens/sample
        ("coverage", pa.float64()),
        ("majority_vote", pa.float64()),  # verifier-free
        ("verifier_based", pa.float64()),  # best-of-k by the tests or a score
        ("gap", pa.float64()),  # verifier_based - majority_vote
    ]
)

# Per problem: the base policy's reward spread and anti-concentration.
GAP_PROBLEMS = pa.schema(
    [
        *KEY,
        ("n", pa.int32()),
        ("num_correct", pa.int32()),  # judged by the strongest verifier available
        ("accuracy", pa.float64()),
        ("tokens_per_sample", pa.float64()),  # mean completion tokens
        ("mean_reward", pa.float64()),  # bi-level reward / H, mean over samples
        ("heterogeneity", pa.float64()),  # sigma_x of the bi-level reward (ddof 1)
        ("heterogeneity_binary", pa.float64()),  # sigma_x of correctness (ddof 1)
        ("anti_concentration", pa.float64()),  # c_x(eps); NaN where sigma_x = 0
    ]
)

# Per model: the same summarised over problems, and the measured gap at the budget every
# model of the dataset reaches.
GAP_SUMMARY = pa.schema(
    [
        ("model", pa.string()),
        ("dataset", pa.string()),
        ("num_problems", pa.int32()),
        ("num_samples", pa.int64()),
        ("reward", pa.string()),  # "bi-level" or "binary (no token counts)"
        ("horizon_tokens", pa.int32()),  # H of the bi-level reward (sampling.max_tokens)
        ("epsilon", pa.float64()),  # eps of c_x(eps)
        ("accuracy", pa.float64()),
        ("heterogeneity", pa.float64()),  # sigma_b = sqrt(mean sigma_x^2)
        ("heterogeneity_median", pa.float64()),
        ("heterogeneity_binary", pa.float64()),
        ("between_problem_sd", pa.float64()),  # sd over problems of the mean reward
        ("anti_concentration", pa.float64()),  # mean c_x over problems where it is defined
        ("anti_concentration_problems", pa.int32()),
        ("tokens_per_sample", pa.float64()),
        ("max_budget_tokens", pa.float64()),
        ("common_budget_tokens", pa.float64()),  # largest budget every model reaches
        ("majority_vote_at_common", pa.float64()),
        ("verifier_based_at_common", pa.float64()),
        ("gap_at_common", pa.float64()),
        ("gap_at_max", pa.float64()),  # at this model's own largest k
    ]
)
