"""The aggregate stage: per-problem counts over all shards of a (model, dataset)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from monkeys import tables
from monkeys.metrics.counts import count_verdicts

log = logging.getLogger("monkeys")


def aggregate(sample_paths: Sequence[str], verdict_paths: Sequence[str], out: str | Path) -> None:
    """Per-problem counts over all shards of one (model, dataset)."""
    samples = tables.read_tables(list(sample_paths), tables.SAMPLES)
    verdicts = tables.read_tables(list(verdict_paths), tables.VERDICTS)
    tables.write_table(count_verdicts(samples, verdicts), out, tables.COUNTS)
