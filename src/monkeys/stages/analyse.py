"""Analysis stages: per-problem counts, coverage curves, scaling-law fits."""


from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from monkeys import tables
from monkeys.metrics.coverage import count_verdicts, coverage_curve
from monkeys.scaling.powerlaw import fit_exponentiated_power_law

log = logging.getLogger("monkeys")


def aggregate(sample_paths: Sequence[str], verdict_paths: Sequence[str], out: str | Path) -> None:
    """Per-problem counts over all shards of one (model, dataset)."""
    samples = tables.read_tables(list(sample_paths), tables.SAMPLES)
    verdicts = tables.read_tables(list(verdict_paths), tables.VERDICTS)
    tables.write_table(count_verdicts(samples, verdicts), out, tables.COUNTS)


def coverage(counts_path: str | Path, out: str | Path, *, analysis: Mapping[str, Any],
             seed: int) -> None:
    """The coverage curve with its bootstrap band."""
    counts = tables.read_table(counts_path, tables.COUNTS)
    curve = coverage_curve(counts, resamples=int(analysis["bootstrap_resamples"]), seed=seed,
                           confidence=float(analysis["confidence"]))
    tables.write_table(curve, out, tables.COVERAGE)


def fit(coverage_path: str | Path, out: str | Path, *, k_min: int) -> None:
    """Fit the exponentiated power law to a coverage curve."""
    curve = tables.read_table(coverage_path, tables.COVERAGE)
    result = fit_exponentiated_power_law(curve["k"].to_numpy(), curve["coverage"].to_numpy(),
                                         k_min=k_min)
    row = {"model": curve["model"].iat[0], "dataset": curve["dataset"].iat[0], **vars(result)}
    tables.write_table(pd.DataFrame([row]), out, tables.FIT)
    log.info("fit %s", row)
