"""Choosing the configured problems of a dataset (kept apart from the loaders, so that the
sampling stage's code hash does not change when a loader does)."""

from __future__ import annotations

import pandas as pd

from monkeys.errors import MonkeysError


class DatasetError(MonkeysError, ValueError):
    """A dataset could not be normalised; the message names the dataset, row and reason."""


def select_problems(problems: pd.DataFrame, ids: list[str] | None, limit: int | None) -> pd.DataFrame:
    """The configured subset: the listed ids in their order (or all), then the first `limit`."""
    if ids:
        known = set(problems["problem_id"])
        unknown = [i for i in ids if i not in known]
        if unknown:
            example = ", ".join(problems["problem_id"].head(3))
            raise DatasetError(
                f"unknown problem id(s) {unknown[:5]} in dataset "
                f"{problems['dataset'].iat[0]!r} (ids look like: {example})"
            )
        columns = list(problems.columns)
        problems = problems.set_index("problem_id").loc[ids].reset_index()[columns]
    if limit is not None:
        problems = problems.head(limit)
    return problems.reset_index(drop=True)
