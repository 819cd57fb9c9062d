"""The model-family stage: S-curves of coverage vs log k and the horizontal offsets between
members of a family (the largest member is the reference)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from monkeys.scaling.extrapolate import family_offsets
from monkeys.tables.coverage import COVERAGE
from monkeys.tables.family import FAMILY
from monkeys.tables.io import read_tables, write_table

LEVELS = tuple(np.round(np.arange(0.05, 1.0, 0.05), 2))


def family_table(
    coverage: pd.DataFrame, families: Mapping[str, str], sizes: Mapping[str, float]
) -> pd.DataFrame:
    """Offsets (log10 k) of every family member relative to the family's largest member."""
    frames = []
    for family in sorted(set(families.values())):
        members = sorted(m for m, f in families.items() if f == family)
        curves = {
            m: (rows.sort_values("k")["k"].tolist(), rows.sort_values("k")["coverage"].tolist())
            for m, rows in coverage[coverage["model"].isin(members)].groupby("model")
        }
        if len(curves) < 2:
            continue
        reference = max(curves, key=lambda m: sizes.get(m, 0.0))
        rows = pd.DataFrame(family_offsets(curves, reference, LEVELS))
        rows.insert(0, "family", family)
        rows.insert(1, "dataset", coverage["dataset"].iat[0])
        rows["params_billions"] = [sizes.get(m, np.nan) for m in rows["model"]]
        frames.append(rows)
    if not frames:
        raise ValueError("no family has two models with coverage curves")
    return pd.concat(frames, ignore_index=True)


def family(
    coverage_paths: Sequence[str], out: str | Path, *, families: Mapping[str, str], sizes: Mapping[str, float]
) -> None:
    """Write the family offsets table of one dataset."""
    coverage = read_tables(list(coverage_paths), COVERAGE)
    write_table(family_table(coverage, families, sizes), out, FAMILY)
