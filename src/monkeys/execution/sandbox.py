"""Run untrusted candidate programs in jailed fork-server children and classify their outcomes.

Candidate code never runs in the calling process: `run_programs` hands programs to fork
servers (`monkeys.execution.forkserver`), started as plain processes, under bubblewrap, or all
inside one container (`monkeys.execution.isolation`). Each program runs in its own forked
child: new session, empty temp working dir, rlimits, its own uid when started as root, no
network and a read-only filesystem where the kernel allows; see the forkserver module.

The servers run as `python -s -P -m monkeys.execution.forkserver` in a scrubbed environment, not
with `-I`: `-I` implies `-E`, which ignores PYTHONHASHSEED, and fixed string hashing is what makes
verdicts reproducible. With the environment scrubbed, `-s -P` isolates as much as `-I` does.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from monkeys.execution.isolation import (
    Isolation,
    SandboxUnavailable,
    bubblewrap_command,
    check_image,
    container_command,
    stop_container,
    worker_homes,
)
from monkeys.execution.pool import PoolError, run_pool, run_remote
from monkeys.execution.programs import Program
from monkeys.execution.reports import DETAIL_CHARS

STATUSES = ("passed", "failed", "timeout", "error", "crashed")

__all__ = ["STATUSES", "Isolation", "Limits", "Outcome", "Program", "SandboxUnavailable", "run_programs"]


@dataclass(frozen=True)
class Limits:
    """Resource limits for one candidate program."""

    timeout_s: float = 5.0  # wall-clock per candidate (with cpu_s: the ceiling)
    memory_mb: int = 1024  # RLIMIT_AS
    file_size_mb: int = 16  # RLIMIT_FSIZE
    open_files: int = 64  # RLIMIT_NOFILE
    max_processes: int = 16  # RLIMIT_NPROC (effective for an unprivileged uid, i.e. run as root)
    output_cap_bytes: int = 65536  # stdout+stderr captured up to this
    # CPU seconds of the candidate's process (a calibrated limit): it times out when it has
    # used this much CPU, so a loaded machine cannot time out an honest program that is only
    # waiting for a core; timeout_s still bounds the wall clock (e.g. a sleeping program).
    cpu_s: float | None = None

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value is None and name == "cpu_s":
                continue
            if not value > 0:
                raise ValueError(f"Limits.{name} must be positive, got {value!r}")


@dataclass(frozen=True)
class Outcome:
    """How one candidate program ended."""

    status: str  # one of STATUSES
    error_type: str  # exception class name ("error"/"failed"), exit description ("crashed")
    detail: str  # tail of captured output and traceback, at most DETAIL_CHARS
    runtime_s: float
    # Indices of the per-test cases that did not pass (see Program.case_sources): () when all
    # passed; None when the program has no per-test cases or they are unknown (timeout, crash).
    failed_tests: tuple[int, ...] | None = None
    flaky: bool = False  # reruns disagreed on the status
    # Digest of what the candidate returned on the tests' inputs (the per-test pass of a program
    # that did not pass); None when that pass did not run to the end.
    behaviour: str | None = None
    runs: int = 1  # how many times the program ran (1 + reruns)
    # What decided the verdict: "judge" (a process that never ran candidate code, see
    # monkeys.execution.judge), "harness" (the in-process harness: plain programs, tests the
    # judge cannot replay), "" (no verdict: timeout, crash).
    decided_by: str = ""


def _to_outcome(answer: dict[str, Any], program: Program) -> Outcome:
    status = answer.get("status")
    if status not in STATUSES:
        return Outcome(
            "crashed", "fork server", f"bad answer from fork server: {answer!r}"[:DETAIL_CHARS], 0.0
        )
    failed_tests: tuple[int, ...] | None = None
    n = program.num_cases
    if n and status == "passed":
        failed_tests = ()
    elif n and status in ("failed", "error"):
        cases = answer.get("cases") or {}
        if answer.get("phase") == "call" and answer.get("error_type") != "CheckReplaced":
            failed_tests = tuple(i for i in range(n) if cases.get(str(i)) != "passed")
        else:  # it failed before its tests ran: it fails all of them
            failed_tests = tuple(range(n))
    return Outcome(
        status=str(status),
        error_type=str(answer.get("error_type", "")),
        detail=str(answer.get("detail", ""))[-DETAIL_CHARS:],
        runtime_s=float(answer.get("runtime_s", 0.0)),
        failed_tests=failed_tests,
        behaviour=answer.get("behaviour") if answer.get("cases_complete") else None,
        decided_by=str(answer.get("decided_by", "")) if status in ("passed", "failed", "error") else "",
    )


def run_programs(
    programs: Sequence[str | Program],
    limits: Limits | Sequence[Limits],
    workers: int,
    dedupe: bool = True,
    *,
    isolation: Isolation | str = "process",
    reruns: int = 0,
    report: list[dict[str, Any]] | None = None,
) -> list[Outcome]:
    """Run each program in the sandbox; one Outcome per program, in order.

    `limits` is one Limits for all programs or one per program. `workers` fork servers run
    programs in parallel. With `dedupe`, identical (program, tests, limits) run once and share
    the Outcome. With `reruns` N, every distinct program runs N more times and its Outcome
    (that of the first run) is marked `flaky` if the statuses disagree. `report`, if given,
    receives the fork servers' ready frames (what isolation each achieved).

    Raises SandboxUnavailable when the isolation level cannot be used here, PoolError when
    the fork servers cannot be started at all.
    """
    progs = [p if isinstance(p, Program) else Program(source=p) for p in programs]
    for program in progs:
        if not isinstance(program.source, str):
            raise TypeError(f"programs must be str, got {type(program.source).__name__}")
    per_program = [limits] * len(progs) if isinstance(limits, Limits) else list(limits)
    if len(per_program) != len(progs):
        raise ValueError(f"{len(per_program)} limits for {len(progs)} programs")
    if isinstance(isolation, str):
        isolation = Isolation(level=isolation)
    if reruns < 0:
        raise ValueError("reruns must be >= 0")
    if not progs:
        return []
    keys = list(zip(progs, per_program, strict=True))
    if dedupe:
        unique = list(dict.fromkeys(keys))
        slot = {key: i for i, key in enumerate(unique)}
        order = [slot[key] for key in keys]
    else:
        unique, order = keys, list(range(len(keys)))
    runs = 1 + int(reruns)
    requests = [(program.job(), asdict(lim)) for _ in range(runs) for program, lim in unique]
    answers: list[dict[str, Any] | None] = [None] * len(requests)

    def on_answer(index: int, answer: dict[str, Any]) -> None:
        answers[index] = answer

    hellos = _execute(requests, workers, isolation, on_answer, unique)
    if report is not None:
        report.extend(hellos)
    missing = [i for i, a in enumerate(answers) if a is None]
    if missing:
        raise RuntimeError(f"sandbox lost the outcomes of {len(missing)} programs")
    outcomes = []
    for i, (program, _) in enumerate(unique):
        first = _to_outcome(answers[i], program)  # type: ignore[arg-type]
        statuses = {answers[r * len(unique) + i]["status"] for r in range(runs)}  # type: ignore[index]
        outcomes.append(replace(first, flaky=len(statuses) > 1, runs=runs))
    return [outcomes[i] for i in order]


def _execute(
    requests: list[tuple[dict, dict]],
    workers: int,
    isolation: Isolation,
    on_answer: Any,
    unique: Sequence[tuple[Program, Limits]],
) -> list[dict[str, Any]]:
    workers = max(1, min(int(workers), len(requests)))
    if isolation.in_container:
        check_image(isolation)
        memory = max(lim.memory_mb for _, lim in unique)
        procs = max(lim.max_processes for _, lim in unique)
        command, name = container_command(isolation, workers, memory, procs)
        homes = worker_homes(workers) if isolation.level != "apptainer" else []
        hellos, _ = run_remote(
            requests,
            workers,
            on_answer,
            command=command,
            startup_timeout_s=isolation.startup_timeout_s,
            disk_mb=isolation.disk_mb,
            homes=homes,
            stop=lambda: stop_container(isolation, name),
        )
        return hellos
    home = tempfile.mkdtemp(prefix="monkeys-sandbox-")
    os.chmod(home, 0o711)  # candidates reach their own dir in it, but cannot list it
    try:
        command = bubblewrap_command(home) if isolation.level == "bubblewrap" else None
        try:
            return run_pool(
                requests, workers, on_answer, home=home, command=command, disk_mb=isolation.disk_mb
            )
        except PoolError as exc:
            raise PoolError(f"{exc} (isolation {isolation.level!r})") from None
    finally:
        shutil.rmtree(home, ignore_errors=True)
