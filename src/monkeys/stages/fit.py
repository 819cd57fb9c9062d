"""The fit stage: the exponentiated power law fitted to a coverage curve, and extrapolated."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monkeys.metrics.passk import pass_at_k_matrix
from monkeys.scaling.extrapolate import extrapolate
from monkeys.scaling.powerlaw import fit_exponentiated_power_law
from monkeys.tables.counts import COUNTS
from monkeys.tables.coverage import COVERAGE, FIT
from monkeys.tables.io import read_table, write_table

log = logging.getLogger(__name__)


def fit(
    counts_path: str | Path,
    coverage_path: str | Path,
    out: str | Path,
    *,
    analysis: Mapping[str, Any],
    seed: int,
) -> None:
    """Fit log c(k) = a k^-b to the coverage curve; predict coverage at `extrapolate_to`."""
    curve = read_table(coverage_path, COVERAGE)
    counts = read_table(counts_path, COUNTS)
    ks = curve["k"].to_numpy()
    k_min = int(analysis["fit_k_min"])
    result = fit_exponentiated_power_law(ks, curve["coverage"].to_numpy(), k_min=k_min)
    per_problem = pass_at_k_matrix(counts["n"].to_numpy(), counts["num_correct"].to_numpy(), ks)
    prediction = extrapolate(
        per_problem,
        ks,
        int(analysis["extrapolate_to"]),
        k_min=k_min,
        resamples=int(analysis["fit_resamples"]),
        seed=seed,
        confidence=float(analysis["confidence"]),
    )
    row = {
        "model": curve["model"].iat[0],
        "dataset": curve["dataset"].iat[0],
        **vars(result),
        "k_target": prediction.k_target,
        "predicted": prediction.coverage,
        "predicted_lower": prediction.lower,
        "predicted_upper": prediction.upper,
        "resamples_used": prediction.resamples_used,
    }
    if not result.success:
        row.update(predicted=np.nan, predicted_lower=np.nan, predicted_upper=np.nan)
    write_table(pd.DataFrame([row]), out, FIT)
    log.info("fit %s", row)
