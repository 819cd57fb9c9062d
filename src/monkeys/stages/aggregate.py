"""The aggregate stage: per-problem counts over all shards of a (model, dataset)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from monkeys.metrics.counts import count_verdicts
from monkeys.tables.counts import COUNTS
from monkeys.tables.io import read_tables, write_table
from monkeys.tables.samples import SAMPLES
from monkeys.tables.verdicts import VERDICTS


def aggregate(sample_paths: Sequence[str], verdict_paths: Sequence[str], out: str | Path) -> None:
    """Per-problem counts over all shards of one (model, dataset)."""
    samples = read_tables(list(sample_paths), SAMPLES)
    verdicts = read_tables(list(verdict_paths), VERDICTS)
    write_table(count_verdicts(samples, verdicts), out, COUNTS)
