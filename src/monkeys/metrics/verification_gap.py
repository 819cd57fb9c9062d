"""Setlur et al. 2025: compute as output tokens, and the base policy's heterogeneity and
anti-concentration, estimated from repeated samples.

Source: Setlur, Rajaraman, Levine, Kumar, "Scaling Test-Time Compute Without Verification
or RL is Suboptimal" (arXiv 2502.12118v2; ICML 2025). Test-time compute is "measured as the
output token length" H (abstract). Their theory is stated for a *bi-level reward* on a trace
tau of at most H tokens: reward 1 at every step from the one where the trace reaches a correct
answer to the end of the budget, so r(tau) = H - T + 1 for a correct answer reached at token
T and 0 for a wrong one (a correct answer sooner is worth more). On it they define, for a
prompt x and the base policy pi_b,

- heterogeneity (their Section 5): sigma_{b,x}^2 = Var_{tau ~ pi_b(.|x)}[r(tau)], the spread of
  the reward across the base policy's own traces of one prompt (correct traces of different
  lengths and styles, and wrong ones), and sigma_b^2 = E_x[sigma_{b,x}^2] for a policy;
- anti-concentration (their Section 6, after Erdos 1945): c_x(eps) =
  P_{tau ~ pi_b(.|x)}[ r(tau) >= E_{pi_b}[r(tau)] + sigma_{b,x} * sqrt(eps) ], the mass the base
  policy puts on traces whose reward exceeds its mean by sqrt(eps) standard deviations.

Verifier-free methods' suboptimality grows with sigma_b; when pi_b is also anti-concentrated
(c_x(eps) bounded below), verifier-based methods gain sqrt(H) over any verifier-free one. The
paper measures both on pre-trained LLMs in its Figures 7 and 8. (The section numbers are those
of the paper's v2 as we read it; the stored copy reachable from here holds only its abstract
and introduction, which name both properties, the token budget H and Figures 7-8.)

Mapping onto repeated samples (n samples of problem x, sample i correct c_i in {0, 1} with
T_i completion tokens, budget H = the sampler's `max_tokens`): each sample is one trace, and
its reward normalised by H is

    r_i = c_i * clip((H - T_i + 1) / H, 0, 1)

(in [0, 1]; a sample longer than H did not answer within the budget and gets 0; a sample with
no token count, T_i = 0, gets c_i, so without token counts r is plain correctness, the H -> oo
limit). Estimators, per problem:

- heterogeneity: sigma_x = sqrt of the unbiased sample variance of r_i (ddof = 1), NaN for
  n < 2; per model, sigma_b = sqrt(mean over problems of sigma_x^2) (unbiased for
  E_x sigma_{b,x}^2 under the square root). The binary-reward version, sqrt(p(1-p) n/(n-1)),
  is reported too, and the spread *across* problems of the mean reward (sd over problems),
  the other half of the total variance E_x Var(r|x) + Var_x E(r|x);
- anti-concentration: the definition applied to the empirical distribution of the n samples
  (plug-in: the sample mean and the ddof = 0 standard deviation, >= with a 1e-12 tolerance);
  NaN where sigma_x = 0 (every sample the same reward: there is no mass above the mean to
  speak of). With a binary reward it is p * [eps <= (1 - p) / p].

Compute in tokens: k samples of problem x cost k * mu_x output tokens in expectation (mu_x
the mean completion tokens per sample of x, exactly, for k drawn without replacement), so a
curve over k is a curve over H(k) = k * mean_x mu_x, the mean over problems. Two curves on
different H grids are compared at the largest common budget (the smallest of the largest
budgets, if no curve starts above it), interpolated linearly in log H.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# eps of the anti-concentration threshold: one standard deviation above the mean.
EPSILON = 1.0

_TOLERANCE = 1e-12


def bilevel_rewards(correct: Sequence[bool], tokens: Sequence[int], horizon: int) -> np.ndarray:
    """Each sample's bi-level reward normalised by the budget: c * clip((H - T + 1) / H, 0, 1)."""
    correct = np.asarray(correct, dtype=np.float64)
    tokens = np.asarray(tokens, dtype=np.float64)
    if correct.shape != tokens.shape:
        raise ValueError("bilevel_rewards: need one token count per verdict")
    if horizon < 1:
        raise ValueError(f"bilevel_rewards: need a budget H >= 1 token, got {horizon}")
    if np.any(tokens < 0):
        raise ValueError("bilevel_rewards: token counts must be >= 0")
    return correct * np.clip((horizon - tokens + 1.0) / horizon, 0.0, 1.0)


def heterogeneity(rewards: Sequence[float] | np.ndarray) -> float:
    """sigma_x: the square root of the unbiased sample variance of one problem's rewards."""
    rewards = np.asarray(rewards, dtype=np.float64)
    if rewards.size < 2:
        return float("nan")
    return float(np.sqrt(np.var(rewards, ddof=1)))


def policy_heterogeneity(sigmas: Sequence[float]) -> float:
    """sigma_b = sqrt(mean of sigma_x^2) over the problems where sigma_x is defined."""
    sigmas = np.asarray(sigmas, dtype=np.float64)
    sigmas = sigmas[np.isfinite(sigmas)]
    return float(np.sqrt(np.mean(sigmas**2))) if sigmas.size else float("nan")


def anti_concentration(rewards: Sequence[float] | np.ndarray, epsilon: float = EPSILON) -> float:
    """c_x(eps): the fraction of samples with reward >= mean + sigma * sqrt(eps) (plug-in)."""
    rewards = np.asarray(rewards, dtype=np.float64)
    if epsilon < 0:
        raise ValueError(f"anti_concentration: need eps >= 0, got {epsilon}")
    if rewards.size == 0:
        return float("nan")
    mean = float(np.mean(rewards))
    sigma = float(np.std(rewards))
    if sigma <= _TOLERANCE:
        return float("nan")
    threshold = mean + sigma * np.sqrt(epsilon)
    return float(np.mean(rewards >= threshold - _TOLERANCE * max(1.0, abs(threshold))))


def token_budget(ks: Sequence[int], tokens_per_sample: Sequence[float]) -> np.ndarray:
    """H(k) = k * (mean over problems of each problem's mean completion tokens per sample)."""
    tokens_per_sample = np.asarray(tokens_per_sample, dtype=np.float64)
    if tokens_per_sample.size == 0:
        raise ValueError("token_budget: need at least one problem")
    return np.asarray(ks, dtype=np.float64) * float(np.mean(tokens_per_sample))


def value_at_budget(budgets: Sequence[float], values: Sequence[float], target: float) -> float:
    """A curve's value at `target` tokens, linear in log H between its points; NaN outside."""
    budgets = np.asarray(budgets, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(budgets) & (budgets > 0) & np.isfinite(values)
    budgets, values = budgets[ok], values[ok]
    if not budgets.size or not np.isfinite(target) or target <= 0:
        return float("nan")
    order = np.argsort(budgets)
    budgets, values = budgets[order], values[order]
    lo, hi = budgets[0], budgets[-1]
    if target < lo * (1 - 1e-9) or target > hi * (1 + 1e-9):
        return float("nan")
    return float(np.interp(np.log(target), np.log(budgets), values))


def largest_common_budget(ranges: Sequence[tuple[float, float]]) -> float:
    """The largest budget every curve reaches: min of the curves' largest budgets, NaN if some
    curve starts above it (or there is none)."""
    ranges = [(lo, hi) for lo, hi in ranges if np.isfinite(lo) and np.isfinite(hi) and hi > 0]
    if not ranges:
        return float("nan")
    common = min(hi for _, hi in ranges)
    return float(common) if max(lo for lo, _ in ranges) <= common else float("nan")
