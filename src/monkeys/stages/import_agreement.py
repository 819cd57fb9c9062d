"""The import agreement stage: how often our grader agrees with an import's labels."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monkeys.sampling.import_labels import KEY, agreement, describe
from monkeys.tables.imports import IMPORT_AGREEMENT
from monkeys.tables.io import write_table

log = logging.getLogger(__name__)


def _columns(paths: Sequence[str | Path], columns: list[str]) -> pd.DataFrame:
    """Only these columns of several shards (not the completions: a release is large)."""
    tables = []
    for path in paths:
        try:
            tables.append(pq.read_table(path, columns=columns))
        except (OSError, pa.ArrowInvalid, KeyError) as exc:
            raise ValueError(f"{path}: not a readable shard with columns {columns} ({exc})") from None
    return pa.concat_tables(tables).to_pandas() if tables else pd.DataFrame(columns=columns)


def import_agreement(
    samples_paths: Sequence[str | Path],
    verdicts_paths: Sequence[str | Path],
    out: str | Path,
    *,
    regrade: bool,
) -> None:
    """Agreement of our grader with the import's labels, per (model, dataset), to `out`."""
    samples = _columns(samples_paths, KEY + ["imported_correct"])
    verdicts = _columns(verdicts_paths, KEY + ["status"])
    table = agreement(samples, verdicts, regrade=regrade)
    for _, row in table.iterrows():
        log.info("%s", describe(row))
    write_table(table, out, IMPORT_AGREEMENT)
