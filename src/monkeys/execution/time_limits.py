"""Time limits calibrated on the reference solution, so that infinite loops stop early.

At paper scale (10,000 samples per problem) execution time is spent in timeouts, not forks:
a flat 5 s limit makes 0.5% of looping samples cost 90% of the worker time. As EvalPlus does,
each problem's reference solution (`canonical_solution`) is run once per suite in the same
sandbox (`calibrate`, a cached stage), timing the whole program and each of its per-test cases,
and a candidate gets

    limit = min(ceiling, max(floor_s, factor x passes x reference_s))

where `reference_s` is the reference's slowest of `repeats` runs (fork to verdict, so parsing
large plus tests counts), `passes` is 2 when a failing candidate also runs the per-test pass
(it runs the tests a second time) and 1 otherwise, and `ceiling` is `execution.timeout_s` (or
`plus_timeout_s` for the plus suite). Every per-case limit, max(floor_s, factor x case time),
is at most that limit, so a candidate stuck in one case stops at the largest per-case limit of
its problem (or at factor x the whole suite's time, if larger), never at the ceiling. Where the
reference is missing, fails, or timed out, the flat ceiling applies, as with `mode: flat`.

Defaults follow EvalPlus (floor 1 s, factor 4). Near the limit a verdict depends on the
machine's load: a sample whose runtime lands within `near_limit` (20%) of its limit is rerun
once and marked `flaky` when the runs disagree (timeouts are rerun only with `rerun_timeouts`,
since rerunning them doubles the cost of every infinite loop).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import pyarrow as pa

from monkeys.errors import MonkeysError
from monkeys.execution.programs import Program, humaneval_program, split_tests
from monkeys.execution.sandbox import Isolation, Limits, Outcome, run_programs

CALIBRATION_TIMEOUT_S = 60.0  # the reference's own limit (EvalPlus's cap per task)
MARKER = "__monkeys_calibration__"
SUITES = ("test", "plus_test")

TIME_LIMITS = pa.schema(
    [
        ("dataset", pa.string()),
        ("problem_id", pa.string()),
        ("suite", pa.string()),  # "test" or "plus_test"
        ("status", pa.string()),  # the reference's status ("passed"), or "no reference"
        ("reference_s", pa.float64()),  # slowest passing run, fork to verdict; NaN = not calibrated
        ("num_cases", pa.int32()),  # per-test cases timed (0 = tests not split)
        ("max_case_s", pa.float64()),  # the slowest case (NaN when not split)
        ("runs", pa.int32()),
    ]
)


class TimeLimitError(MonkeysError):
    """The time-limit settings or the calibration table are unusable."""


@dataclass(frozen=True)
class TimeLimitSettings:
    """How candidates' wall-clock limits are set (config `execution.time_limit`)."""

    mode: str = "calibrated"  # or "flat": every program gets the ceiling (execution.timeout_s)
    floor_s: float = 1.0
    factor: float = 4.0
    near_limit: float = 0.2  # rerun samples whose runtime is within this fraction of the limit
    rerun_timeouts: bool = False
    repeats: int = 3  # reference runs per suite at calibration

    def __post_init__(self) -> None:
        if self.mode not in ("calibrated", "flat"):
            raise TimeLimitError(f"execution.time_limit.mode must be calibrated or flat, got {self.mode!r}")
        if not (self.floor_s > 0 and self.factor > 0 and 0 <= self.near_limit < 1 and self.repeats >= 1):
            raise TimeLimitError(f"bad execution.time_limit settings: {self}")

    @classmethod
    def from_config(cls, execution: Mapping[str, Any]) -> TimeLimitSettings:
        section = dict(execution.get("time_limit") or {})
        unknown = set(section) - set(cls.__dataclass_fields__)
        if unknown:
            raise TimeLimitError(f"unknown execution.time_limit keys: {sorted(unknown)}")
        return cls(**section)


def program_limit(reference_s: float, passes: int, settings: TimeLimitSettings, ceiling: float) -> float:
    """A candidate's wall-clock limit; the ceiling where there is no reference time (NaN)."""
    if settings.mode == "flat" or reference_s is None or not math.isfinite(reference_s):
        return ceiling
    limit = max(settings.floor_s, settings.factor * max(1, passes) * reference_s)
    return min(ceiling, math.ceil(limit * 100) / 100)  # to 10 ms: tiny timing noise, same limit


def case_limit(case_s: float, settings: TimeLimitSettings) -> float:
    """The limit one per-test case would get: max(floor, factor x its reference time)."""
    return max(settings.floor_s, settings.factor * case_s)


# --- calibration -------------------------------------------------------------------------------

_DRIVER = """
def __monkeys_calibrate__():
    import time
    times = []
    last = [time.perf_counter()]

    def report(index, failed):
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now
        if failed:
            raise AssertionError("the reference fails case %d" % index)

    __monkeys_cases__({entry}, __monkeys_report__=report)
    print("{marker} %d %.6f" % (len(times), max(times) if times else 0.0))


__monkeys_calibrate__()
"""


def calibration_program(prompt: str, solution: str, test: str, entry_point: str) -> Program:
    """The reference's program, timing each per-test case where the tests split into cases."""
    suite = split_tests(test)
    if suite is None or not suite.runner:
        return humaneval_program(prompt, solution, test, entry_point, per_test=False)
    source = (
        prompt
        + solution
        + "\n"
        + test
        + "\n"
        + suite.runner
        + _DRIVER.format(entry=entry_point, marker=MARKER)
    )
    return Program(source=source, as_main=False)


def _case_times(outcome: Outcome) -> tuple[int, float]:
    for line in reversed(outcome.detail.splitlines()):
        parts = line.split()
        if len(parts) == 3 and parts[0] == MARKER:
            return int(parts[1]), float(parts[2])
    return 0, float("nan")


def calibrate(
    problems: pd.DataFrame,
    limits: Limits,
    workers: int,
    *,
    repeats: int = 3,
    isolation: Isolation | str = "process",
) -> pd.DataFrame:
    """Time every problem's reference on each of its suites (TIME_LIMITS rows).

    Each reference program runs `repeats` times; its time is the slowest passing run. A
    reference that does not pass every run is not calibrated (its status says why).
    """
    limits = replace(limits, timeout_s=CALIBRATION_TIMEOUT_S)
    rows: list[dict[str, Any]] = []
    programs: list[Program] = []
    for problem in problems.to_dict("records"):
        solution = problem.get("canonical_solution") or ""
        for suite in SUITES:
            test = problem.get(suite) or ""
            if not isinstance(test, str) or not test:
                continue
            row = {
                "dataset": problem.get("dataset", ""),
                "problem_id": problem["problem_id"],
                "suite": suite,
                "status": "no reference",
                "reference_s": float("nan"),
                "num_cases": 0,
                "max_case_s": float("nan"),
                "runs": 0,
            }
            rows.append(row)
            if isinstance(solution, str) and solution.strip():
                row["at"] = len(programs)
                programs.append(
                    calibration_program(problem["prompt"], solution, test, problem["entry_point"])
                )
    outcomes = (
        run_programs(programs * repeats, limits, workers, dedupe=False, isolation=isolation)
        if programs
        else []
    )
    for row in rows:
        at = row.pop("at", None)
        if at is None:
            continue
        runs = [outcomes[r * len(programs) + at] for r in range(repeats)]
        bad = [o for o in runs if o.status != "passed"]
        row["runs"] = repeats
        if bad:
            row["status"] = bad[0].status
            continue
        row["status"] = "passed"
        row["reference_s"] = max(o.runtime_s for o in runs)
        cases = [_case_times(o) for o in runs]
        row["num_cases"] = cases[0][0]
        row["max_case_s"] = max(t for _, t in cases) if cases[0][0] else float("nan")
    columns = [f.name for f in TIME_LIMITS]
    return pd.DataFrame(rows, columns=columns)


# --- limits for the samples of a shard ---------------------------------------------------------


def sample_limits(
    programs: Sequence[Program | None],
    problem_ids: Sequence[str],
    suite: str,
    base: Limits,
    settings: TimeLimitSettings,
    table: pd.DataFrame | None,
) -> list[Limits | None]:
    """Each sample's Limits under `suite`: base with the calibrated timeout (None: no program)."""
    reference: dict[str, float] = {}
    if table is not None and settings.mode == "calibrated":
        part = table[table["suite"] == suite]
        reference = dict(zip(part["problem_id"], part["reference_s"], strict=True))
    cache: dict[tuple[str, int], Limits] = {}
    out: list[Limits | None] = []
    for program, pid in zip(programs, problem_ids, strict=True):
        if program is None:
            out.append(None)
            continue
        passes = 2 if program.cases else 1
        key = (pid, passes)
        if key not in cache:
            seconds = program_limit(reference.get(pid, float("nan")), passes, settings, base.timeout_s)
            # A CPU-time limit under the wall-clock ceiling: load cannot time out an honest program.
            cache[key] = base if seconds >= base.timeout_s else replace(base, cpu_s=seconds)
        out.append(cache[key])
    return out


def near_limit(
    outcomes: Sequence[Outcome], limits: Sequence[Limits], settings: TimeLimitSettings
) -> list[int]:
    """Indices of outcomes whose runtime lands within `near_limit` of their limit."""
    if settings.near_limit <= 0:
        return []
    return [
        i
        for i, (o, lim) in enumerate(zip(outcomes, limits, strict=True))
        if (o.status != "timeout" or settings.rerun_timeouts)
        and o.status != "crashed"
        and o.runtime_s >= (1 - settings.near_limit) * effective_limit(lim)
    ]


def effective_limit(limits: Limits) -> float:
    """The time limit that judges a candidate: its CPU limit where calibrated, else the wall one."""
    return limits.timeout_s if limits.cpu_s is None else limits.cpu_s
