"""The unit-test grader: run prompt + completion + tests in the sandbox, one verdict per sample.

Each sample is judged by its problem's `test` suite and, where the problem has one, by its
`plus_test` suite (e.g. HumanEval+), both in the same sandbox run. Per-test verdicts record
which of the suite's top-level assertions failed (see monkeys.execution.programs).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from monkeys.execution.programs import Program, humaneval_program
from monkeys.execution.sandbox import Isolation, Limits, Outcome, run_programs
from monkeys.execution.time_limits import (
    TimeLimitSettings,
    effective_limit,
    near_limit,
    sample_limits,
)

log = logging.getLogger(__name__)
FIRST_FAILED_CHARS = 300


def build_programs(
    problems: pd.DataFrame, samples: pd.DataFrame, suite: str = "test", per_test: bool = True
) -> list[Program | None]:
    """The program each sample is judged by under `suite` ("test" or "plus_test"), in sample order.

    None where the sample's problem has no such suite (an empty string). A sample whose problem
    is missing from `problems` is an error naming it.
    """
    by_id = problems.set_index("problem_id")
    missing = sorted(set(samples["problem_id"]) - set(by_id.index))
    if missing:
        raise ValueError(f"samples refer to problems not in the dataset: {missing[:5]}")
    rows = by_id.loc[samples["problem_id"]]
    tests = rows[suite] if suite in rows.columns else pd.Series([""] * len(rows))
    return [
        humaneval_program(prompt, completion, test, entry_point, per_test=per_test)
        if isinstance(test, str) and test
        else None
        for prompt, completion, test, entry_point in zip(
            rows["prompt"], samples["completion"], tests, rows["entry_point"], strict=True
        )
    ]


def _failed(outcome: Outcome) -> list[int] | None:
    return None if outcome.failed_tests is None else list(outcome.failed_tests)


def _first_failed(program: Program, outcome: Outcome) -> str | None:
    if not outcome.failed_tests:
        return None if outcome.failed_tests is None else ""
    return program.case_sources[outcome.failed_tests[0]][:FIRST_FAILED_CHARS]


def grade_unit_tests(
    problems: pd.DataFrame,
    samples: pd.DataFrame,
    limits: Limits,
    workers: int,
    *,
    plus_limits: Limits | None = None,
    isolation: Isolation | str = "process",
    reruns: int = 0,
    dedupe: bool = True,
    per_test: bool = True,
    report: list[dict[str, Any]] | None = None,
    time_limits: pd.DataFrame | None = None,
    time_limit: TimeLimitSettings | None = None,
) -> pd.DataFrame:
    """Verdicts (monkeys.tables.verdicts.VERDICTS columns, plus `behaviour`: the digest of
    what a failing candidate returned on the tests' inputs) for every sample, in sample order.

    `limits.timeout_s` (`plus_limits` for the plus suite) is the ceiling; with `time_limit` in
    calibrated mode and the reference timings `time_limits` (monkeys.execution.time_limits), each
    sample's limit is calibrated on its problem's reference. Samples whose runtime lands near
    their limit are rerun once (`flaky` when the runs disagree)."""
    settings = time_limit or TimeLimitSettings(mode="flat", near_limit=0.0)
    base = build_programs(problems, samples, "test", per_test)
    plus = build_programs(problems, samples, "plus_test", per_test)
    if any(p is None for p in base):
        raise ValueError("every problem needs a non-empty `test` suite")
    ids = list(samples["problem_id"])
    base_limits = sample_limits(base, ids, "test", limits, settings, time_limits)
    plus_limits_ = sample_limits(plus, ids, "plus_test", plus_limits or limits, settings, time_limits)
    jobs: list[Program] = [p for p in base if p is not None]
    job_limits: list[Limits] = [lim for lim in base_limits if lim is not None]
    plus_at: list[int | None] = []
    for program, lim in zip(plus, plus_limits_, strict=True):
        if program is None or lim is None:
            plus_at.append(None)
        else:
            plus_at.append(len(jobs))
            jobs.append(program)
            job_limits.append(lim)
    outcomes: list[Outcome] = list(
        run_programs(jobs, job_limits, workers, dedupe, isolation=isolation, reruns=reruns, report=report)
    )
    outcomes = _rerun_near_limit(jobs, job_limits, outcomes, settings, workers, dedupe, isolation)
    base_out = outcomes[: len(base)]
    plus_out = [None if at is None else outcomes[at] for at in plus_at]

    verdicts = samples[["model", "dataset", "problem_id", "sample_index"]].reset_index(drop=True)
    verdicts["status"] = [o.status for o in base_out]
    verdicts["error_type"] = [o.error_type for o in base_out]
    verdicts["detail"] = [o.detail for o in base_out]
    verdicts["runtime_s"] = [o.runtime_s for o in base_out]
    verdicts["passed"] = verdicts["status"] == "passed"
    verdicts["num_tests"] = pd.array([p.num_cases or None for p in jobs[: len(base)]], dtype="Int32")
    verdicts["failed_tests"] = [_failed(o) for o in base_out]
    verdicts["behaviour"] = [o.behaviour for o in base_out]  # for majority vote (not stored)
    verdicts["first_failed_test"] = [_first_failed(p, o) for p, o in zip(jobs, base_out, strict=False)]
    verdicts["plus_status"] = [None if o is None else o.status for o in plus_out]
    verdicts["plus_passed"] = pd.array(
        [None if o is None else o.status == "passed" for o in plus_out], dtype="boolean"
    )
    verdicts["plus_error_type"] = [None if o is None else o.error_type for o in plus_out]
    verdicts["plus_num_tests"] = pd.array(
        [None if at is None else (jobs[at].num_cases or None) for at in plus_at], dtype="Int32"
    )
    verdicts["plus_failed_tests"] = [None if o is None else _failed(o) for o in plus_out]
    verdicts["flaky"] = [
        o.flaky or bool(p is not None and p.flaky) for o, p in zip(base_out, plus_out, strict=True)
    ]
    verdicts["runs"] = pd.array([o.runs for o in base_out], dtype="Int32")
    verdicts["time_limit_s"] = [effective_limit(lim) for lim in job_limits[: len(base)]]
    verdicts["plus_time_limit_s"] = [
        None if at is None else effective_limit(job_limits[at]) for at in plus_at
    ]
    verdicts["decided_by"] = [o.decided_by for o in base_out]
    verdicts["plus_decided_by"] = [None if o is None else o.decided_by for o in plus_out]
    return verdicts


def _rerun_near_limit(
    jobs: Sequence[Program],
    limits: Sequence[Limits],
    outcomes: list[Outcome],
    settings: TimeLimitSettings,
    workers: int,
    dedupe: bool,
    isolation: Isolation | str,
) -> list[Outcome]:
    """Run once more every job whose runtime landed near its limit; flaky where they disagree."""
    near = near_limit(outcomes, limits, settings)
    if not near:
        return outcomes
    again = run_programs(
        [jobs[i] for i in near], [limits[i] for i in near], workers, dedupe, isolation=isolation
    )
    outcomes = list(outcomes)
    for i, second in zip(near, again, strict=True):
        first = outcomes[i]
        outcomes[i] = replace(first, flaky=first.flaky or second.status != first.status, runs=first.runs + 1)
    return outcomes


def grade_shard(
    problems: pd.DataFrame,
    samples: pd.DataFrame,
    *,
    execution: Mapping[str, Any],
    grading: str = "paper",
    time_limits_path: str | Path | None = None,
) -> pd.DataFrame:
    """The unit-test grader (monkeys.grading.graders): sandbox settings from the config's
    `execution` section, limits calibrated on the `calibrate_limits` table when given."""
    from monkeys.execution.settings import describe_servers, isolation_from, limits_from
    from monkeys.execution.time_limits import TIME_LIMITS
    from monkeys.tables.io import read_table

    limits, plus_limits = limits_from(execution)
    time_limits = read_table(time_limits_path, TIME_LIMITS) if time_limits_path else None
    report: list[dict[str, Any]] = []
    verdicts = grade_unit_tests(
        problems,
        samples,
        limits,
        int(execution["workers"]),
        plus_limits=plus_limits,
        isolation=isolation_from(execution),
        reruns=int(execution.get("reruns", 0)),
        dedupe=bool(execution.get("dedupe", True)),
        per_test=bool(execution.get("per_test", True)),
        report=report,
        time_limits=time_limits,
        time_limit=TimeLimitSettings.from_config(execution),
    )
    log.info("sandbox (isolation %s): %s", execution.get("isolation", "process"), describe_servers(report))
    return verdicts
