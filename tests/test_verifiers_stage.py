"""The imperfect-verifier stage on hand-made counts, and its figures."""

from __future__ import annotations

import pandas as pd
import pytest

from monkeys.errors import MonkeysError
from monkeys.plots import save_figure, utility_figure, verifier_figure
from monkeys.stages.verifiers import verifier_tables
from monkeys.tables.verifiers import VERIFIER_CURVES


def _counts(model: str, plus: list) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": model,
            "dataset": "d",
            "problem_id": ["a", "b", "c"],
            "n": [8, 8, 8],
            "num_correct": [4, 2, 0],
            "num_plus_correct": plus,
        }
    )


def test_tables_and_figures(tmp_path):
    curves, utility = verifier_tables(
        _counts("m", [2, 2, 0]), costs=[0.0, 1.0, 10.0], resamples=50, seed=0, confidence=0.9
    )
    assert list(curves.columns) == VERIFIER_CURVES.names
    # Per problem (the paper's): mean of 1 - t/w over problems with w > 0; pooled beside it.
    assert curves["false_positive_rate"].iat[0] == pytest.approx((1 - 2 / 4 + 1 - 2 / 2) / 2)
    assert curves["false_positive_rate_pooled"].iat[0] == pytest.approx(2 / 6)
    assert curves["asymptote"].iat[0] == pytest.approx((2 / 4 + 1 + 0) / 3)
    assert curves["resampling_accuracy"].iat[-1] == pytest.approx(curves["asymptote"].iat[0])
    assert (curves["resampling_accuracy"] <= curves["coverage_strong"] + 1e-12).all()
    # With no cost, more samples never hurt: the optimum is the largest k.
    free = utility[utility["cost"] == 0.0]
    assert free.loc[free["optimal"], "k"].tolist() == [8]
    assert utility.groupby("cost")["optimal"].sum().le(1).all()
    many = pd.concat(
        [
            verifier_tables(_counts(m, plus), costs=[1.0], resamples=10, seed=0, confidence=0.9)[0]
            for m, plus in [("x", [4, 2, 0]), ("y", [1, 1, 0]), ("z", [3, 0, 0])]
        ]
    )
    for name, fig in [("v.png", verifier_figure(many, "d")), ("u.png", utility_figure(utility, "d"))]:
        save_figure(fig, tmp_path / name, dpi=60)
        assert (tmp_path / name).stat().st_size > 5000


def test_missing_strong_verifier_is_a_clear_error():
    with pytest.raises(MonkeysError, match="no strong verifier"):
        verifier_tables(_counts("m", [None, None, None]), costs=[1.0], resamples=10, seed=0, confidence=0.9)
