"""Figure stages: figures and their provenance records."""


from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from monkeys import tables
from monkeys.plots import coverage_figure, save_figure
from monkeys.provenance import build_record, write_record

log = logging.getLogger("monkeys")


def plot_coverage(
    coverage_paths: Sequence[str],
    fit_paths: Sequence[str],
    lineage: Sequence[str],
    figure: str | Path,
    record: str | Path,
    *,
    dataset: str,
    dpi: int,
    config: Mapping[str, Any],
    params: Mapping[str, Any],
) -> None:
    """The coverage figure of one dataset (all models) and its provenance record."""
    curves = tables.read_tables(list(coverage_paths), tables.COVERAGE)
    fits = tables.read_tables(list(fit_paths), tables.FIT)
    save_figure(coverage_figure(curves, fits, dataset), figure, dpi=dpi)
    seed = int(config["seed"])
    write_record(
        build_record(figure, inputs=[*coverage_paths, *fit_paths, *lineage], config=config,
                     params=params, seeds={"global": seed, "bootstrap": seed},
                     rule="plot_coverage"),
        record,
    )
