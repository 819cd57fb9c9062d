"""The coverage stage: pass@k curve with a bootstrap band over problems."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monkeys import tables
from monkeys.metrics.coverage import coverage_curve

log = logging.getLogger("monkeys")


def coverage(counts_path: str | Path, out: str | Path, *, analysis: Mapping[str, Any],
             seed: int) -> None:
    """The coverage curve with its bootstrap band."""
    counts = tables.read_table(counts_path, tables.COUNTS)
    curve = coverage_curve(counts, resamples=int(analysis["bootstrap_resamples"]), seed=seed,
                           confidence=float(analysis["confidence"]))
    tables.write_table(curve, out, tables.COVERAGE)
