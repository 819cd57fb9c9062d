"""The execution stage: grade one shard of samples in the sandbox."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monkeys.grading.graders import grade
from monkeys.tables.datasets import PROBLEMS, STRONG_TESTS
from monkeys.tables.io import read_table, write_table
from monkeys.tables.samples import SAMPLES
from monkeys.tables.verdicts import VERDICTS

log = logging.getLogger(__name__)


def with_strong_tests(problems: pd.DataFrame, strong: pd.DataFrame) -> pd.DataFrame:
    """Problems whose `plus_test` is empty take the generated strong test, if there is one."""
    generated = strong.set_index("problem_id")["plus_test"]
    fill = problems["problem_id"].map(generated).fillna("")
    problems = problems.copy()
    problems["plus_test"] = problems["plus_test"].where(problems["plus_test"] != "", fill)
    return problems


# Error types of programs that never ran (a syntax or import error, the tests' `check` replaced,
# no tests): they abstain in majority vote whatever the other verdict columns say.
NEVER_RAN = frozenset(
    {
        "SyntaxError",
        "IndentationError",
        "TabError",
        "ImportError",
        "ModuleNotFoundError",
        "CheckReplaced",
        "NoTests",
    }
)


def answers(verdicts: pd.DataFrame) -> pd.Series:
    """What majority vote compares, or None where the sample abstains (it never votes).

    Math (rows with a `normalised_answer`): that answer; none extracted ("") abstains. Code,
    the first rule that applies:
    - status `passed`: "pass";
    - status `timeout` or `crashed` (killed, or died without a verdict): abstains, nothing it
      returned was observed;
    - error_type in NEVER_RAN: abstains;
    - the per-test pass's digest of what it returned on the tests' inputs: "out:<digest>";
    - every one of its `num_tests` cases failed and there is no digest: abstains, it stopped
      before the tests called it (e.g. an exception at module level; the harness runs the
      per-test pass, which records the digest, for every program that reached the call);
    - some cases failed, no digest: "fail:<indices of the failed cases>";
    - otherwise (no per-test split: `execution.per_test: false`, the stdio grader): an answer
      of its own, "ran:<sample_index>": it ran, but what it returned is unknown, so it is
      never counted with another sample's answer.
    """
    if "normalised_answer" in verdicts:
        is_math = verdicts["normalised_answer"].notna()
        math = verdicts["normalised_answer"].where(is_math, "").astype(str)
    else:
        is_math = pd.Series(False, index=verdicts.index)
        math = pd.Series("", index=verdicts.index)

    def known(value: Any) -> bool:
        return value is not None and not (np.isscalar(value) and pd.isna(value))

    def behaviour(row: pd.Series) -> str | None:
        if row["status"] == "passed":
            return "pass"
        if row["status"] in ("timeout", "crashed") or row.get("error_type") in NEVER_RAN:
            return None
        digest = row.get("behaviour")
        if isinstance(digest, str) and digest:
            return "out:" + digest
        failed, total = row.get("failed_tests"), row.get("num_tests")
        if known(failed):
            failed = [int(i) for i in failed]
            if known(total) and int(total) > 0 and len(set(failed)) >= int(total):
                return None
            return "fail:" + ",".join(str(i) for i in failed)
        return f"ran:{row.get('sample_index', row.name)}"

    values = [
        (answer or None) if graded_math else behaviour(row)
        for graded_math, answer, (_, row) in zip(is_math, math, verdicts.iterrows(), strict=True)
    ]
    return pd.Series(values, index=verdicts.index, dtype=object)


def imported_labels(verdicts: pd.DataFrame, samples: pd.DataFrame, regrade: bool) -> pd.DataFrame:
    """Imported samples with a label (`imported_correct`): `passed` is the label unless
    `regrade`; status and error_type stay the grader's and `detail` says which decided
    (monkeys.sampling.import_labels). Logs the shard's agreement of grader and labels."""
    if not len(verdicts) or not samples["imported_correct"].notna().any():
        return verdicts
    from monkeys.sampling.import_labels import agreement, apply_labels, describe

    for _, row in agreement(samples, verdicts, regrade=regrade).iterrows():
        log.info("this shard: %s", describe(row))
    return apply_labels(verdicts, samples, regrade)


def execute_shard(
    problems_path: str | Path,
    samples_path: str | Path,
    out: str | Path,
    *,
    execution: Mapping[str, Any],
    strong_tests_path: str | Path | None = None,
    grading: str = "paper",
    regrade: bool = False,
    time_limits_path: str | Path | None = None,
) -> None:
    """Run every sample of a shard against its tests in the sandbox; write verdicts.

    Samples are judged by their problem's grader (unit tests in the sandbox by default);
    with `strong_tests_path`, generated strong tests are the plus suite where the dataset
    ships none. Math samples are graded by the dataset's `grading` rule ("paper" or "lenient").
    An imported sample's label decides its `passed` unless `regrade` (`imported_labels`).
    With `time_limits_path` (the calibrate_limits stage's table), unit-test candidates get
    limits calibrated on their problem's reference (monkeys.execution.time_limits).
    """
    problems = read_table(problems_path, PROBLEMS)
    if strong_tests_path:
        problems = with_strong_tests(problems, read_table(strong_tests_path, STRONG_TESTS))
    samples = read_table(samples_path, SAMPLES)
    by_problem = problems.set_index("problem_id")["grader"] if "grader" in problems else None
    graders = (
        samples["problem_id"].map(by_problem).fillna("unit_tests").replace("", "unit_tests")
        if by_problem is not None
        else pd.Series("unit_tests", index=samples.index)
    )
    frames = []
    for grader, part in samples.groupby(graders, sort=False):
        frame = grade(
            str(grader),
            problems,
            part.reset_index(drop=True),
            execution=execution,
            grading=grading,
            time_limits_path=time_limits_path,
        )
        frame.index = part.index
        frames.append(frame)
    verdicts = pd.concat(frames).sort_index() if frames else VERDICTS.empty_table().to_pandas()
    verdicts["answer"] = answers(verdicts)
    verdicts = imported_labels(verdicts, samples, regrade)
    for name in VERDICTS.names:
        if name not in verdicts:
            verdicts[name] = {"flaky": False, "runs": 1}.get(name)
    write_table(verdicts.reset_index(drop=True), out, VERDICTS)
    log.info("%s: %s", samples_path, verdicts["status"].value_counts().to_dict())
