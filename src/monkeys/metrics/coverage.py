"""Coverage (pass@k averaged over problems) with a bootstrap band over problems."""

from __future__ import annotations

import numpy as np
import pandas as pd

from monkeys.metrics.bootstrap import bootstrap_mean_band
from monkeys.metrics.passk import log_k_grid, pass_at_k_matrix


def coverage_curve(counts: pd.DataFrame, *, resamples: int, seed: int, confidence: float) -> pd.DataFrame:
    """Coverage at k on a log grid up to the smallest n, with a bootstrap band over problems."""
    if counts.empty:
        raise ValueError("no problems to compute coverage over")
    n = counts["n"].to_numpy(dtype=np.int64)
    c = counts["num_correct"].to_numpy(dtype=np.int64)
    ks = log_k_grid(int(n.min()))
    per_problem = pass_at_k_matrix(n, c, ks)
    mean, lower, upper = bootstrap_mean_band(per_problem, resamples, seed, confidence)
    return pd.DataFrame(
        {
            "model": counts["model"].iat[0],
            "dataset": counts["dataset"].iat[0],
            "k": ks,
            "coverage": mean,
            "lower": lower,
            "upper": upper,
            "num_problems": len(counts),
            "confidence": confidence,
            "bootstrap_resamples": resamples,
        }
    )
