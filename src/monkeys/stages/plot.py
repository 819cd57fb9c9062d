"""Figure stages: draw figures from analysis tables (records are written by monkeys.jobs)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from monkeys import tables
from monkeys.plots import (
    cost_figure,
    coverage_figure,
    family_figure,
    save_figure,
    selection_figure,
    utility_figure,
    verifier_figure,
)

log = logging.getLogger("monkeys")


def plot_coverage(
    coverage_paths: Sequence[str], fit_paths: Sequence[str], figure: str | Path, *,
    dataset: str, dpi: int,
) -> None:
    """The coverage figure of one dataset (all models)."""
    curves = tables.read_tables(list(coverage_paths), tables.COVERAGE)
    fits = tables.read_tables(list(fit_paths), tables.FIT)
    save_figure(coverage_figure(curves, fits, dataset), figure, dpi=dpi)


def plot_verifiers(curve_paths: Sequence[str], figure: str | Path, *, dataset: str,
                   dpi: int) -> None:
    """Resampling accuracy under an imperfect verifier, all models of one dataset."""
    curves = tables.read_tables(list(curve_paths), tables.VERIFIER_CURVES)
    save_figure(verifier_figure(curves, dataset), figure, dpi=dpi)


def plot_utility(utility_paths: Sequence[str], figure: str | Path, *, dataset: str,
                 dpi: int) -> None:
    """Expected utility vs k for each false-positive cost, all models of one dataset."""
    utility = tables.read_tables(list(utility_paths), tables.UTILITY)
    save_figure(utility_figure(utility, dataset), figure, dpi=dpi)


def plot_cost(cost_path: str | Path, figure: str | Path, *, dataset: str, dpi: int) -> None:
    """Coverage against FLOPs and dollars, all models of one dataset."""
    save_figure(cost_figure(tables.read_table(cost_path, tables.COST), dataset), figure, dpi=dpi)


def plot_selection(selection_paths: Sequence[str], figure: str | Path, *, dataset: str,
                   dpi: int) -> None:
    """Selection accuracy vs k and the verifier-based/verifier-free gap, all models."""
    selection = tables.read_tables(list(selection_paths), tables.SELECTION)
    save_figure(selection_figure(selection, dataset), figure, dpi=dpi)


def plot_family(coverage_paths: Sequence[str], family_path: str | Path, figure: str | Path, *,
                dataset: str, dpi: int) -> None:
    """S-curves and offsets of each model family on one dataset."""
    coverage = tables.read_tables(list(coverage_paths), tables.COVERAGE)
    offsets = tables.read_table(family_path, tables.FAMILY)
    save_figure(family_figure(coverage, offsets, dataset), figure, dpi=dpi)
