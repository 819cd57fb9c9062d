"""The fit stage: the exponentiated power law fitted to a coverage curve."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from monkeys import tables
from monkeys.scaling.powerlaw import fit_exponentiated_power_law

log = logging.getLogger("monkeys")


def fit(coverage_path: str | Path, out: str | Path, *, k_min: int) -> None:
    """Fit the exponentiated power law to a coverage curve."""
    curve = tables.read_table(coverage_path, tables.COVERAGE)
    result = fit_exponentiated_power_law(curve["k"].to_numpy(), curve["coverage"].to_numpy(),
                                         k_min=k_min)
    row = {"model": curve["model"].iat[0], "dataset": curve["dataset"].iat[0], **vars(result)}
    tables.write_table(pd.DataFrame([row]), out, tables.FIT)
    log.info("fit %s", row)
