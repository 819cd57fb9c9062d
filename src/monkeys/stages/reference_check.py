"""Reference check of stdio tests (Large Language Monkeys, CodeContests false negatives).

Brown et al. (2024) note that some CodeContests tests reject correct programs. This stage
runs each problem's correct reference solutions (the upstream rows' `solutions` in Python 3;
Python 2 and other languages are not run) against every one of its tests, with no stop at
the first failure, and reports per problem the tests that reject a reference:

- a test *rejects* a reference when the reference's output does not match (verdict
  `failed`) or the reference raises on it (`error`); timeouts and crashes are counted apart
  (`timeout_tests`) and never flagged, since they depend on the machine;
- a reference that is rejected by more than `max_reference_failures` (a fraction) of its
  problem's tests is taken as unusable here (e.g. it needs another interpreter), reported in
  `broken_references`, and its rejections flag nothing;
- a test is a *false negative* when at least one usable reference is rejected by it.

Comparison is the grader's own (`monkeys.grading.stdio.outputs_match`, token-wise), so a
reference that differs from the expected output only in whitespace passes. With the
dataset option `drop_false_negative_tests`, execute_shard grades against the problems table
this stage also writes, whose `test` lacks the flagged tests (indices renumbered).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from monkeys.datasets.registry import CODECONTESTS_LANGUAGES, DATASETS, RowError, parse_jsonl
from monkeys.datasets.selection import select_problems
from monkeys.datasets.sources import read_source
from monkeys.errors import MonkeysError
from monkeys.execution.sandbox import Limits, Outcome
from monkeys.grading.stdio import drop_tests, problem_tests, run_each_test, time_limit
from monkeys.tables.datasets import PROBLEMS
from monkeys.tables.io import read_table, write_table

log = logging.getLogger(__name__)

REJECTS = ("failed", "error")  # verdicts that reject a reference; others are the machine's

REFERENCE_CHECK = pa.schema(
    [
        ("dataset", pa.string()),
        ("problem_id", pa.string()),
        ("references", pa.int32()),  # Python 3 reference solutions run
        ("broken_references", pa.int32()),  # references rejected by too many tests (ignored)
        ("tests_total", pa.int32()),
        ("false_negative_tests", pa.list_(pa.string())),  # "group:index", e.g. "private:3"
        ("num_false_negative_tests", pa.int32()),
        ("timeout_tests", pa.list_(pa.string())),  # a usable reference timed out/crashed (not flagged)
        ("affected", pa.bool_()),  # at least one test rejects a correct reference
        ("fraction_problems_affected", pa.float64()),  # over problems with usable references
    ]
)


class ReferenceCheckError(MonkeysError):
    """The reference check cannot run on this dataset."""


def python_references(row: Mapping[str, Any]) -> list[str]:
    """The Python 3 solutions of a CodeContests row (language 3 or "PYTHON3"), in order."""
    solutions = row.get("solutions") or {}
    if not isinstance(solutions, Mapping):
        return []
    languages = solutions.get("language") or []
    codes = solutions.get("solution") or []
    return [
        code
        for language, code in zip(languages, codes, strict=False)
        if isinstance(code, str)
        and (CODECONTESTS_LANGUAGES.get(language) == "PYTHON3" or language == "PYTHON3")
    ]


def references_from_source(registry: str, source: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """Problem id (row `name`) -> its Python 3 references, read from the dataset's source."""
    spec = DATASETS[registry]
    spec_source = dict(source) if source else spec.default_source
    if not spec_source:
        raise ReferenceCheckError(
            f"{registry}: no source to read reference solutions from; set "
            f"the dataset's `source` (upstream: {spec.upstream})"
        )
    raw = read_source(dict(spec_source))
    return {
        str(row["name"]): python_references(row)
        for _, row in parse_jsonl(registry, raw)
        if not isinstance(row, RowError) and isinstance(row, dict) and "name" in row
    }


def run_references(
    problems: pd.DataFrame,
    references: Mapping[str, Sequence[str]],
    limits: Limits,
    workers: int,
    *,
    time_factor: float = 1.0,
) -> pd.DataFrame:
    """Every (problem, reference, test) verdict: problem_id, reference, group, index, status."""
    runs, keys = [], []
    for row in problems.itertuples(index=False):
        tests = problem_tests(row.test)
        limit = time_limit(float(row.time_limit_s), time_factor)
        for r, source in enumerate(references.get(row.problem_id, [])):
            for group, index, test in tests:
                runs.append((source, test, limit))
                keys.append((row.problem_id, r, group, index))
    outcomes: list[Outcome] = run_each_test(runs, limits, workers) if runs else []
    return pd.DataFrame(
        [(*k, o.status, o.error_type) for k, o in zip(keys, outcomes, strict=True)],
        columns=["problem_id", "reference", "group", "index", "status", "error_type"],
    )


def false_negatives(
    problems: pd.DataFrame,
    references: Mapping[str, Sequence[str]],
    verdicts: pd.DataFrame,
    *,
    max_reference_failures: float = 0.5,
) -> pd.DataFrame:
    """The REFERENCE_CHECK table from `run_references`' verdicts (rules in the module doc)."""
    rows = []
    for row in problems.itertuples(index=False):
        total = len(problem_tests(row.test))
        mine = verdicts[verdicts["problem_id"] == row.problem_id]
        flagged: set[tuple[str, int]] = set()
        slow: set[tuple[str, int]] = set()
        broken = 0
        for _, runs in mine.groupby("reference"):
            rejected = runs[runs["status"].isin(REJECTS)]
            if total and len(rejected) > max_reference_failures * total:
                broken += 1
                continue
            flagged |= set(zip(rejected["group"], rejected["index"], strict=True))
            other = runs[~runs["status"].isin((*REJECTS, "passed"))]
            slow |= set(zip(other["group"], other["index"], strict=True))
        order = {(g, i): n for n, (g, i, _) in enumerate(problem_tests(row.test))}
        rows.append(
            {
                "dataset": row.dataset,
                "problem_id": row.problem_id,
                "references": len(references.get(row.problem_id, [])),
                "broken_references": broken,
                "tests_total": total,
                "false_negative_tests": [f"{g}:{i}" for g, i in sorted(flagged, key=order.__getitem__)],
                "num_false_negative_tests": len(flagged),
                "timeout_tests": [f"{g}:{i}" for g, i in sorted(slow - flagged, key=order.__getitem__)],
                "affected": bool(flagged),
            }
        )
    table = pd.DataFrame(rows, columns=[f.name for f in REFERENCE_CHECK][:-1])
    usable = table["references"] > table["broken_references"]
    fraction = float(table.loc[usable, "affected"].mean()) if usable.any() else float("nan")
    table["fraction_problems_affected"] = fraction
    return table


def without_false_negatives(problems: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The problems with every flagged test removed from `test` (problems not checked keep all)."""
    flagged = {
        r.problem_id: [(t.split(":")[0], int(t.split(":")[1])) for t in r.false_negative_tests]
        for r in table.itertuples(index=False)
    }
    out = problems.copy()
    out["test"] = [
        drop_tests(t, flagged.get(p, [])) if flagged.get(p) else t
        for p, t in zip(out["problem_id"], out["test"], strict=True)
    ]
    return out


def reference_check(
    problems_path: str | Path,
    out: str | Path,
    checked_out: str | Path,
    *,
    registry: str,
    source: Mapping[str, Any] | None,
    selection: Mapping[str, Any],
    execution: Mapping[str, Any],
    workers: int,
    settings: Mapping[str, Any] | None = None,
) -> None:
    """Run a stdio dataset's references against its tests; write the REFERENCE_CHECK table
    (`out`) and the problems without the flagged tests (`checked_out`)."""
    settings = dict(settings or {})
    problems = read_table(problems_path, PROBLEMS)
    if DATASETS[registry].grader != "stdio":
        raise ReferenceCheckError(
            f"the reference check runs stdio datasets (CodeContests); "
            f"{registry!r} is graded by {DATASETS[registry].grader!r}"
        )
    ids = selection.get("problems")
    checked = select_problems(problems, ids if isinstance(ids, list) else None, selection.get("limit"))
    references = references_from_source(registry, source)
    limits = Limits(
        memory_mb=int(execution["memory_mb"]),
        file_size_mb=int(execution.get("file_size_mb", 16)),
        max_processes=int(execution.get("max_processes", 16)),
    )
    verdicts = run_references(
        checked, references, limits, workers, time_factor=float(settings.get("time_factor", 1.0))
    )
    table = false_negatives(
        checked,
        references,
        verdicts,
        max_reference_failures=float(settings.get("max_reference_failures", 0.5)),
    )
    write_table(table, out, REFERENCE_CHECK)
    write_table(without_false_negatives(problems, table), checked_out, PROBLEMS)
    without = int((table["references"] == 0).sum())
    log.info(
        "%s: %d of %d checked problems have a test that rejects a correct reference "
        "(fraction %.3f of problems with usable references); %d problems have no Python 3 "
        "reference; %d tests flagged in all",
        problems["dataset"].iat[0],
        int(table["affected"].sum()),
        len(table),
        table["fraction_problems_affected"].iat[0] if len(table) else float("nan"),
        without,
        int(table["num_false_negative_tests"].sum()),
    )
    for row in table[table["affected"]].itertuples(index=False):
        log.info("  %s: %s", row.problem_id, ", ".join(row.false_negative_tests))
