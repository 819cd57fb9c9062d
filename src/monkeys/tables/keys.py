"""Columns that key per-problem tables."""

from __future__ import annotations

import pyarrow as pa

KEY = [("model", pa.string()), ("dataset", pa.string()), ("problem_id", pa.string())]
