"""Figure stages: draw figures from analysis tables (records are written by monkeys.jobs)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from monkeys.errors import MonkeysError
from monkeys.plots import (
    cost_figure,
    coverage_figure,
    family_figure,
    flaws_figure,
    save_figure,
    selection_figure,
    style_figure,
    utility_figure,
    verification_gap_figure,
    verifier_figure,
)
from monkeys.tables.cost import COST
from monkeys.tables.coverage import COVERAGE, FIT
from monkeys.tables.family import FAMILY
from monkeys.tables.io import read_table, read_tables
from monkeys.tables.selection import SELECTION
from monkeys.tables.style import STYLE, STYLE_RULES
from monkeys.tables.verification_gap import GAP_CURVES, GAP_PROBLEMS, GAP_SUMMARY
from monkeys.tables.verifiers import FLAWS, FLAWS_FIT, UTILITY, VERIFIER_CURVES


def plot_coverage(
    coverage_paths: Sequence[str],
    fit_paths: Sequence[str],
    figure: str | Path,
    *,
    dataset: str,
    dpi: int,
) -> None:
    """The coverage figure of one dataset (all models)."""
    curves = read_tables(list(coverage_paths), COVERAGE)
    fits = read_tables(list(fit_paths), FIT)
    save_figure(coverage_figure(curves, fits, dataset), figure, dpi=dpi)


def plot_verifiers(curve_paths: Sequence[str], figure: str | Path, *, dataset: str, dpi: int) -> None:
    """Resampling accuracy under an imperfect verifier, all models of one dataset."""
    curves = read_tables(list(curve_paths), VERIFIER_CURVES)
    save_figure(verifier_figure(curves, dataset), figure, dpi=dpi)


def plot_utility(utility_paths: Sequence[str], figure: str | Path, *, dataset: str, dpi: int) -> None:
    """Expected utility vs k for each false-positive cost, all models of one dataset."""
    utility = read_tables(list(utility_paths), UTILITY)
    save_figure(utility_figure(utility, dataset), figure, dpi=dpi)


def plot_flaws(
    table_path: str | Path, fit_path: str | Path, figure: str | Path, *, dataset: str, dpi: int
) -> None:
    """Resampling ceiling vs single-sample accuracy across models (fLaws Fig. 1a)."""
    table = read_table(table_path, FLAWS)
    if not table["strong_verifier"].any():
        raise MonkeysError(
            f"{dataset}: no model has strong-verifier counts, so there is no "
            f"resampling ceiling to draw; use a dataset with plus tests or set "
            f"the dataset's `strong_tests`"
        )
    save_figure(flaws_figure(table, read_table(fit_path, FLAWS_FIT), dataset), figure, dpi=dpi)


def plot_cost(cost_path: str | Path, figure: str | Path, *, dataset: str, dpi: int) -> None:
    """Coverage against FLOPs and dollars, all models of one dataset."""
    save_figure(cost_figure(read_table(cost_path, COST), dataset), figure, dpi=dpi)


def plot_selection(selection_paths: Sequence[str], figure: str | Path, *, dataset: str, dpi: int) -> None:
    """Coverage, majority vote and every available verifier-based selector vs k, each model's
    share of abstaining samples, and the verifier-based/verifier-free gap, all models."""
    selection = read_tables(list(selection_paths), SELECTION)
    save_figure(selection_figure(selection, dataset), figure, dpi=dpi)


def plot_verification_gap(
    curves_path: str | Path,
    problems_path: str | Path,
    summary_path: str | Path,
    figure: str | Path,
    *,
    dataset: str,
    dpi: int,
) -> None:
    """Accuracy vs output tokens, heterogeneity and anti-concentration (Setlur et al. 2025)."""
    summary = read_table(summary_path, GAP_SUMMARY)
    if summary.empty:
        raise MonkeysError(
            f"{dataset}: the verification-gap summary has no model; rerun the `verification_gap` rule"
        )
    save_figure(
        verification_gap_figure(
            read_table(curves_path, GAP_CURVES), read_table(problems_path, GAP_PROBLEMS), summary, dataset
        ),
        figure,
        dpi=dpi,
    )


def plot_family(
    coverage_paths: Sequence[str], family_path: str | Path, figure: str | Path, *, dataset: str, dpi: int
) -> None:
    """S-curves and offsets of each model family on one dataset."""
    coverage = read_tables(list(coverage_paths), COVERAGE)
    offsets = read_table(family_path, FAMILY)
    save_figure(family_figure(coverage, offsets, dataset), figure, dpi=dpi)


def plot_style(
    summary_paths: Sequence[str], rule_paths: Sequence[str], figure: str | Path, *, dataset: str, dpi: int
) -> None:
    """Lint findings per line of true vs false positives and the top rule codes, all models."""
    summary = read_tables(list(summary_paths), STYLE)
    rules = read_tables(list(rule_paths), STYLE_RULES)
    save_figure(style_figure(summary, rules, dataset), figure, dpi=dpi)
