"""Selection without an oracle: majority vote and verifier-based."""

from __future__ import annotations

import pyarrow as pa

# Selection without an oracle (monkeys.stages.selection): accuracy over k, mean over problems.
# A selector whose input the samples lack (scores, log-probabilities) is null (NaN).
SELECTION = pa.schema(
    [
        ("model", pa.string()),
        ("dataset", pa.string()),
        ("k", pa.int32()),
        ("coverage", pa.float64()),  # an oracle picks any correct sample (pass@k)
        ("majority_vote", pa.float64()),  # verifier-free; abstaining samples never vote
        ("verifier_based", pa.float64()),  # best_of_k_score if scores, else first_passing
        ("first_passing", pa.float64()),  # first sample the weak tests pass
        ("best_of_k_score", pa.float64()),  # highest reward `score` (ties averaged)
        ("best_of_k_logprob", pa.float64()),  # highest `logprob_mean` (verifier-free)
        ("weighted_vote_score", pa.float64()),  # majority vote, a sample weighs its (>= 0) score
        ("weighted_vote_logprob", pa.float64()),  # majority vote, a sample weighs exp(logprob_mean)
        ("verifier", pa.string()),  # "reward score" or "weak tests" (verifier_based)
        ("judged_by", pa.string()),  # "strong tests" or "tests"
        ("gap", pa.float64()),  # verifier_based - majority_vote
        ("num_samples", pa.int64()),  # samples of every problem, together
        ("abstained_samples", pa.int64()),  # of those, samples with no answer (never vote)
        ("abstained", pa.float64()),  # abstained_samples / num_samples
        ("num_problems", pa.int32()),
        ("draws", pa.int32()),  # Monte Carlo draws behind every vote column
        ("seed", pa.int64()),  # global seed; each problem's is derived from it
    ]
)
