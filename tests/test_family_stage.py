"""Model families: offsets between members' coverage curves, and the figure."""

from __future__ import annotations

import pandas as pd
import pytest

from monkeys.plots import family_figure, save_figure
from monkeys.stages.family import family_table


def test_offsets_relative_to_largest_member(tmp_path):
    ks = [1, 10, 100, 1000]
    coverage = pd.concat(
        [
            pd.DataFrame({"model": "small", "dataset": "d", "k": ks, "coverage": [0.1, 0.3, 0.5, 0.7]}),
            pd.DataFrame({"model": "big", "dataset": "d", "k": ks, "coverage": [0.3, 0.5, 0.7, 0.9]}),
            pd.DataFrame({"model": "alone", "dataset": "d", "k": ks, "coverage": [0.2] * 4}),
        ]
    )
    table = family_table(
        coverage, {"small": "f", "big": "f", "alone": "g"}, {"small": 1.0, "big": 8.0, "alone": 2.0}
    )
    assert set(table["family"]) == {"f"}  # a family of one is not compared
    row = table[(table["model"] == "small") & (table["level"] == 0.5)].iloc[0]
    assert row["reference"] == "big" and row["log10_offset"] == pytest.approx(1.0)
    save_figure(family_figure(coverage, table, "d"), tmp_path / "f.png", dpi=60)
    with pytest.raises(ValueError, match="no family"):
        family_table(coverage, {"small": "f", "alone": "g"}, {})
