"""Part files of a shard: finished problems kept on disk until the shard is complete.

Used by sample shards (the SAMPLES table) and score shards (SCORES, `monkeys.stages.score`).
`<out>.part/` holds `job.json` (a fingerprint of everything that determines the
shard's rows) and one Parquet file per finished problem, `NNNNNN.parquet`
(the problem's position in the shard), each written atomically. A rerun of the
same job reads the finished problems and does only the rest; a rerun with a
different fingerprint (other params, code, problems or weights) discards them.
The shard's output appears, atomically, only when every problem is done, and
the part folder is removed after that.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from monkeys.atomic import write_text_atomic
from monkeys.hashing import sha256_bytes
from monkeys.tables.io import read_table, write_table
from monkeys.tables.samples import SAMPLES

log = logging.getLogger(__name__)


def fingerprint(fields: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of `fields`."""
    return sha256_bytes(json.dumps(fields, sort_keys=True, default=str).encode("utf-8"))


class ShardParts:
    """The finished problems of one shard, kept next to its output, as tables of `schema`
    (SAMPLES for a sample shard, SCORES for a score shard)."""

    def __init__(self, out: str | Path, key: str, schema: pa.Schema = SAMPLES):
        out = Path(out)
        self.dir = out.with_name(out.name + ".part")
        self.key = key
        self.schema = schema

    def _path(self, position: int) -> Path:
        return self.dir / f"{position:06d}.parquet"

    def open(self) -> dict[int, pd.DataFrame]:
        """Finished problems by position (none for a new job or another job's leftovers)."""
        job = self.dir / "job.json"
        if self.dir.exists():
            try:
                key = json.loads(job.read_text())["key"]
            except (OSError, ValueError, KeyError):
                key = None
            if key != self.key:
                log.info("discarding %s: left by a job with other settings", self.dir)
                shutil.rmtree(self.dir)
        if not self.dir.exists():
            self.dir.mkdir(parents=True)
            write_text_atomic(job, json.dumps({"key": self.key}) + "\n")
        done = {}
        for path in sorted(self.dir.glob("[0-9]*.parquet")):
            try:
                done[int(path.stem)] = read_table(path, self.schema)
            except ValueError as exc:
                log.warning("ignoring unreadable part %s (%s)", path, exc)
                path.unlink(missing_ok=True)
        return done

    def write(self, position: int, frame: pd.DataFrame) -> None:
        """Keep one finished problem (atomic: a killed write leaves no part)."""
        write_table(frame, self._path(position), self.schema)

    def remove(self) -> None:
        """Delete the part folder (after the shard's output is written)."""
        shutil.rmtree(self.dir, ignore_errors=True)
