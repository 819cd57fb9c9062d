"""The stdin/stdout grader (CodeContests): run a candidate program on each test input, compare
its output with the expected output token by token, within the problem's time limit.

Every (candidate, test) pair runs as its own program in the sandbox
(`monkeys.execution.sandbox.run_programs`), so each test gets a fresh jailed process and the
problem's time limit is the sandbox's wall-clock limit for it. The program is a small driver:
it writes the test input to a file in the job's fresh working directory and puts it on fd 0,
points fd 1 at an output file, runs the candidate's source with `exec` in a fresh
``__main__`` namespace (so ``input()``, ``sys.stdin.buffer``, ``print``,
``sys.stdout.write`` and ``os.write(1, ...)`` all behave as in a real run; ``exit()`` with
status 0 ends the program normally), restores fd 1, reads the output back and compares it.
A mismatch raises AssertionError (verdict `failed`), an exception in the candidate is
`error`, running past the limit `timeout`.

Comparison (`outputs_match`): the outputs are split into whitespace-separated tokens, so
spaces, tabs, blank lines, ``\\r\\n`` and a missing or extra trailing newline do not matter,
and the token lists must be equal. With `float_tolerance`, two tokens that both read as
numbers and are not both integers also match when within that absolute or relative
tolerance (off by default).

Tests run in rounds (1, 2, 4, ... tests per candidate) and a candidate stops at its first
failing test: a sample passes when it passes every test of the chosen groups
(`groups`, by default public, private and generated, in that order, as in Large Language
Monkeys and AlphaCode).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from monkeys.execution.sandbox import Limits, Outcome, run_programs

GROUPS = ("public", "private", "generated")
DEFAULT_TIME_LIMIT_S = 2.0

COMPARATOR = '''
def outputs_match(got, expected, float_tolerance=None):
    """Whether two program outputs are equal token by token (see monkeys.grading.stdio)."""
    got_tokens, expected_tokens = got.split(), expected.split()
    if got_tokens == expected_tokens:
        return True
    if float_tolerance is None or len(got_tokens) != len(expected_tokens):
        return False
    for g, e in zip(got_tokens, expected_tokens):
        if g == e:
            continue
        try:
            gv, ev = float(g), float(e)
        except ValueError:
            return False
        if gv != gv or ev != ev or abs(gv - ev) > float_tolerance * max(1.0, abs(ev)):
            return False
        if g.lstrip("+-").isdigit() and e.lstrip("+-").isdigit():
            return False
    return True
'''

_namespace: dict = {}
exec(COMPARATOR, _namespace)  # the same source runs in the sandbox's driver
outputs_match = _namespace["outputs_match"]

DRIVER = """
import io as __io
import os as __os
import sys as __sys

{comparator}

def __monkeys_run(source, stdin, expected, float_tolerance):
    with open("stdin.txt", "wb") as fh:
        fh.write(stdin.encode("utf-8"))
    fd_in = __os.open("stdin.txt", __os.O_RDONLY)
    __os.dup2(fd_in, 0)
    __os.close(fd_in)
    saved_out = __os.dup(1)
    fd_out = __os.open("stdout.txt", __os.O_WRONLY | __os.O_CREAT | __os.O_TRUNC, 0o600)
    __os.dup2(fd_out, 1)
    __os.close(fd_out)
    real_stdin, real_stdout = __sys.stdin, __sys.stdout
    __sys.stdin = __io.TextIOWrapper(__io.FileIO(0, "r", closefd=False), encoding="utf-8")
    __sys.stdout = __io.TextIOWrapper(__io.FileIO(1, "w", closefd=False), encoding="utf-8")
    failure = None
    try:
        exec(compile(source, "<solution>", "exec"), {{"__name__": "__main__"}})
    except SystemExit as exc:
        if exc.code not in (None, 0):
            failure = RuntimeError("exit status %r" % (exc.code,))
    finally:
        try:
            __sys.stdout.flush()
        except Exception:
            pass
        __sys.stdin, __sys.stdout = real_stdin, real_stdout
        __os.dup2(saved_out, 1)
        __os.close(saved_out)
    if failure is not None:
        raise failure
    with open("stdout.txt", "rb") as fh:
        got = fh.read().decode("utf-8", "replace")
    if not outputs_match(got, expected, float_tolerance):
        shown = got if len(got) <= 300 else got[:300] + "..."
        want = expected if len(expected) <= 300 else expected[:300] + "..."
        raise AssertionError("wrong answer: got %r, expected %r" % (shown, want))


__monkeys_run({source!r}, {stdin!r}, {expected!r}, {float_tolerance!r})
"""


def extract_code(completion: str) -> str:
    """The program in a completion: the inside of its first fenced code block when it has one
    (a completion that continues an opened ```python block ends at the first ```)."""
    fenced = re.search(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)(?:```|$)", completion, re.S)
    if fenced and completion.lstrip().startswith("```"):
        return fenced.group(1)
    if "```" in completion:
        head = completion.split("```", 1)[0]
        if head.strip():
            return head
        if fenced:
            return fenced.group(1)
    return completion


def stdio_program(source: str, stdin: str, expected: str, float_tolerance: float | None = None) -> str:
    """The driver program that runs `source` on `stdin` and checks its output (module docstring)."""
    return DRIVER.format(
        comparator=COMPARATOR, source=source, stdin=stdin, expected=expected, float_tolerance=float_tolerance
    )


def problem_tests(test_json: str, groups: Sequence[str] = GROUPS) -> list[tuple[str, int, dict]]:
    """(group, index in group, {input, output}) of a stdio problem's tests, groups in order."""
    tests = json.loads(test_json) if test_json else {}
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ValueError(f"unknown test group(s) {unknown}; use {list(GROUPS)}")
    return [(g, i, t) for g in groups for i, t in enumerate(tests.get(g) or [])]


def time_limit(limit_s: float, time_factor: float, default_s: float = DEFAULT_TIME_LIMIT_S) -> float:
    """The wall-clock limit of one test: the problem's limit (or the default) times the factor."""
    base = default_s if limit_s is None or not math.isfinite(limit_s) or limit_s <= 0 else limit_s
    return base * time_factor


def grade_stdio(
    problems: pd.DataFrame,
    samples: pd.DataFrame,
    limits: Limits,
    workers: int,
    *,
    groups: Sequence[str] = GROUPS,
    time_factor: float = 1.0,
    float_tolerance: float | None = None,
) -> pd.DataFrame:
    """Verdicts (monkeys.tables.verdicts.VERDICTS columns, plus `tests_run` and `tests_total`).

    `limits` gives memory and output caps; each test's wall-clock limit is the problem's
    `time_limit_s` (or DEFAULT_TIME_LIMIT_S) times `time_factor`. A problem without tests in
    `groups` gives an `error` verdict with error_type "NoTests".
    """
    by_id = problems.set_index("problem_id")
    missing = sorted(set(samples["problem_id"]) - set(by_id.index))
    if missing:
        raise ValueError(f"samples refer to problems not in the dataset: {missing[:5]}")
    tests = {pid: problem_tests(by_id.at[pid, "test"], groups) for pid in set(samples["problem_id"])}
    sources = [extract_code(c) for c in samples["completion"]]
    pids = list(samples["problem_id"])
    count = len(pids)
    outcome: list[Outcome | None] = [None] * count
    where: list[str] = [""] * count
    done = [0] * count  # tests passed so far
    for i, pid in enumerate(pids):
        if not tests[pid]:
            outcome[i] = Outcome("error", "NoTests", f"no tests in groups {list(groups)}", 0.0)
    runtime = [0.0] * count
    chunk = 1
    while True:
        active = [i for i in range(count) if outcome[i] is None and done[i] < len(tests[pids[i]])]
        if not active:
            break
        jobs: dict[float, list[tuple[int, int, str]]] = {}
        for i in active:
            pid = pids[i]
            limit = time_limit(float(by_id.at[pid, "time_limit_s"]), time_factor)
            for k in range(done[i], min(done[i] + chunk, len(tests[pid]))):
                _, _, test = tests[pid][k]
                program = stdio_program(sources[i], test["input"], test["output"], float_tolerance)
                jobs.setdefault(limit, []).append((i, k, program))
        results: dict[tuple[int, int], Outcome] = {}
        for limit, batch in sorted(jobs.items()):
            outs = run_programs([p for _, _, p in batch], replace(limits, timeout_s=limit), workers)
            results.update({(i, k): o for (i, k, _), o in zip(batch, outs, strict=True)})
        for i in active:
            pid = pids[i]
            for k in range(done[i], min(done[i] + chunk, len(tests[pid]))):
                result = results[(i, k)]
                runtime[i] += result.runtime_s
                if result.status != "passed":
                    group, index, _ = tests[pid][k]
                    outcome[i] = result
                    where[i] = f"{group} test {index}"
                    break
                done[i] += 1
        chunk *= 2
    verdicts = samples[["model", "dataset", "problem_id", "sample_index"]].reset_index(drop=True)
    statuses, errors, details = [], [], []
    for i in range(count):
        result = outcome[i]
        if result is None:
            statuses.append("passed")
            errors.append("")
            details.append(f"passed {done[i]} tests ({', '.join(groups)})")
        else:
            statuses.append(result.status)
            errors.append(result.error_type)
            details.append(f"{where[i]}: {result.detail}" if where[i] else result.detail)
    verdicts["status"] = statuses
    verdicts["error_type"] = errors
    verdicts["detail"] = details
    verdicts["runtime_s"] = runtime
    verdicts["passed"] = verdicts["status"] == "passed"
    verdicts["tests_run"] = [done[i] + (outcome[i] is not None and bool(where[i])) for i in range(count)]
    verdicts["tests_total"] = [len(tests[p]) for p in pids]
    return verdicts


def run_each_test(
    runs: Sequence[tuple[str, dict, float]],
    limits: Limits,
    workers: int,
    *,
    float_tolerance: float | None = None,
) -> list[Outcome]:
    """One Outcome per (source, {input, output} test, wall-clock limit in s), in order.

    Unlike `grade_stdio`, nothing stops at a failure: every pair runs (reference checks need
    the verdict of every test). Pairs are batched by limit through the sandbox.
    """
    batches: dict[float, list[int]] = {}
    for position, (_, _, limit) in enumerate(runs):
        batches.setdefault(float(limit), []).append(position)
    outcomes: list[Outcome | None] = [None] * len(runs)
    for limit, positions in sorted(batches.items()):
        programs = [
            stdio_program(runs[p][0], runs[p][1]["input"], runs[p][1]["output"], float_tolerance)
            for p in positions
        ]
        for p, out in zip(
            positions, run_programs(programs, replace(limits, timeout_s=limit), workers), strict=True
        ):
            outcomes[p] = out
    return [o for o in outcomes if o is not None]


def drop_tests(test_json: str, drop: Sequence[tuple[str, int]]) -> str:
    """A stdio problem's tests JSON without the (group, index in group) tests in `drop`."""
    tests = json.loads(test_json) if test_json else {}
    unknown = sorted({g for g, _ in drop} - set(GROUPS))
    if unknown:
        raise ValueError(f"unknown test group(s) {unknown}; use {list(GROUPS)}")
    gone = set(drop)
    kept = {g: [t for i, t in enumerate(v or []) if (g, i) not in gone] for g, v in tests.items()}
    return json.dumps(kept, sort_keys=True)


def grade_shard(
    problems: pd.DataFrame,
    samples: pd.DataFrame,
    *,
    execution: Mapping[str, Any],
    grading: str = "paper",
    time_limits_path: str | Path | None = None,
) -> pd.DataFrame:
    """The stdio grader (monkeys.grading.graders): sandbox limits from the config's
    `execution` section; each test's own time limit (scaled) bounds each run."""
    from monkeys.execution.settings import limits_from

    return grade_stdio(problems, samples, limits_from(execution)[0], int(execution["workers"]))
