"""Choosing the configured problems of a dataset (kept apart from the loaders, so that the
sampling stage's code hash does not change when a loader does)."""

from __future__ import annotations

import pandas as pd

from monkeys.errors import MonkeysError


class DatasetError(MonkeysError, ValueError):
    """A dataset could not be normalised; the message names the dataset, row and reason."""


# A dataset's `problems: from_import`: the problems of the configured import models' files.
FROM_IMPORT = "from_import"


def select_problems(
    problems: pd.DataFrame, ids: list[str] | str | None, limit: int | None, imported: list[str] | None = None
) -> pd.DataFrame:
    """The configured subset: the listed ids in their order (or all), then the first `limit`.

    `ids` "from_import" takes `imported` (the problems the imports hold, see
    `monkeys.sampling.release_map.imported_problem_ids`); stages that do not read the imports
    pass none and keep every problem.
    """
    if isinstance(ids, str):
        if ids != FROM_IMPORT:
            raise DatasetError(f"problems must be a list of ids or {FROM_IMPORT!r}, not {ids!r}")
        if imported is not None and not imported:
            raise DatasetError(
                f"problems: {FROM_IMPORT}, but the imports hold none of dataset "
                f"{problems['dataset'].iat[0]!r}'s problems"
            )
        ids = imported
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
