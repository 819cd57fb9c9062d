"""Parquet tables: atomic writes with an explicit schema, checked reads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monkeys.atomic import atomic_path


def write_table(frame: pd.DataFrame, path: str | Path, schema: pa.Schema) -> None:
    """Write `frame` to Parquet with exactly `schema` (column order and types), atomically.

    The file appears under its final name only when complete (temp name + rename).
    """
    missing = [name for name in schema.names if name not in frame.columns]
    if missing:
        raise ValueError(f"{path}: table lacks columns {missing}")
    table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_table(path: str | Path, schema: pa.Schema) -> pd.DataFrame:
    """Read a Parquet file written with `schema`; a clear error if it is not that table."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise ValueError(f"{path}: not a readable Parquet file ({exc})") from None
    missing = [name for name in schema.names if name not in table.schema.names]
    if missing:
        raise ValueError(f"{path}: expected columns {missing} are missing")
    return table.select(schema.names).cast(schema).to_pandas()


def read_tables(paths: list[str | Path], schema: pa.Schema) -> pd.DataFrame:
    """Concatenate several tables of the same schema (an empty frame with the schema if none)."""
    frames = [read_table(p, schema) for p in paths]
    if not frames:
        return schema.empty_table().to_pandas()
    return pd.concat(frames, ignore_index=True)
