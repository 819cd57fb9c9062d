"""The coverage stage: pass@k curve with a bootstrap band over problems."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monkeys.metrics.coverage import coverage_curve
from monkeys.tables.counts import COUNTS
from monkeys.tables.coverage import COVERAGE
from monkeys.tables.io import read_table, write_table


def coverage(counts_path: str | Path, out: str | Path, *, analysis: Mapping[str, Any], seed: int) -> None:
    """The coverage curve with its bootstrap band."""
    counts = read_table(counts_path, COUNTS)
    curve = coverage_curve(
        counts,
        resamples=int(analysis["bootstrap_resamples"]),
        seed=seed,
        confidence=float(analysis["confidence"]),
    )
    write_table(curve, out, COVERAGE)
