"""Figure stages: draw figures from analysis tables (records are written by monkeys.jobs)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from monkeys.plots import (
    cost_figure,
    coverage_figure,
    family_figure,
    save_figure,
    selection_figure,
    style_figure,
    utility_figure,
    verifier_figure,
)
from monkeys.tables.cost import COST
from monkeys.tables.coverage import COVERAGE, FIT
from monkeys.tables.family import FAMILY
from monkeys.tables.io import read_table, read_tables
from monkeys.tables.selection import SELECTION
from monkeys.tables.style import STYLE, STYLE_RULES
from monkeys.tables.verifiers import UTILITY, VERIFIER_CURVES

log = logging.getLogger("monkeys")


def plot_coverage(
    coverage_paths: Sequence[str], fit_paths: Sequence[str], figure: str | Path, *,
    dataset: str, dpi: int,
) -> None:
    """The coverage figure of one dataset (all models)."""
    curves = read_tables(list(coverage_paths), COVERAGE)
    fits = read_tables(list(fit_paths), FIT)
    save_figure(coverage_figure(curves, fits, dataset), figure, dpi=dpi)


def plot_verifiers(curve_paths: Sequence[str], figure: str | Path, *, dataset: str,
                   dpi: int) -> None:
    """Resampling accuracy under an imperfect verifier, all models of one dataset."""
    curves = read_tables(list(curve_paths), VERIFIER_CURVES)
    save_figure(verifier_figure(curves, dataset), figure, dpi=dpi)


def plot_utility(utility_paths: Sequence[str], figure: str | Path, *, dataset: str,
                 dpi: int) -> None:
    """Expected utility vs k for each false-positive cost, all models of one dataset."""
    utility = read_tables(list(utility_paths), UTILITY)
    save_figure(utility_figure(utility, dataset), figure, dpi=dpi)


def plot_cost(cost_path: str | Path, figure: str | Path, *, dataset: str, dpi: int) -> None:
    """Coverage against FLOPs and dollars, all models of one dataset."""
    save_figure(cost_figure(read_table(cost_path, COST), dataset), figure, dpi=dpi)


def plot_selection(selection_paths: Sequence[str], figure: str | Path, *, dataset: str,
                   dpi: int) -> None:
    """Selection accuracy vs k and the verifier-based/verifier-free gap, all models."""
    selection = read_tables(list(selection_paths), SELECTION)
    save_figure(selection_figure(selection, dataset), figure, dpi=dpi)


def plot_family(coverage_paths: Sequence[str], family_path: str | Path, figure: str | Path, *,
                dataset: str, dpi: int) -> None:
    """S-curves and offsets of each model family on one dataset."""
    coverage = read_tables(list(coverage_paths), COVERAGE)
    offsets = read_table(family_path, FAMILY)
    save_figure(family_figure(coverage, offsets, dataset), figure, dpi=dpi)


def plot_style(summary_paths: Sequence[str], rule_paths: Sequence[str], figure: str | Path, *,
               dataset: str, dpi: int) -> None:
    """Lint findings per line of true vs false positives and the top rule codes, all models."""
    summary = read_tables(list(summary_paths), STYLE)
    rules = read_tables(list(rule_paths), STYLE_RULES)
    save_figure(style_figure(summary, rules, dataset), figure, dpi=dpi)
