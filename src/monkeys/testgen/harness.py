"""Strong-test programs: a HumanEval-style ``check(candidate)`` over many inputs whose expected
outputs come from the reference solution.

`reference_check` writes the body that goes in a problem's `plus_test` column. It holds the
reference source and the inputs as literals; `check(candidate)` runs the reference in a
fresh namespace on a deep copy of each input, then the candidate on another copy, and
compares, as EvalPlus does:

- outputs equal with ``==``; otherwise, when the expected output is a float or a
  non-empty list/tuple of floats, equal within ``atol`` (the dataset's, or 1e-6 when it
  gives none) plus a relative 1e-7; NaN matches NaN;
- each input has its own time limit, ``max(min_time_s, time_factor * reference time)``
  (EvalPlus's defaults: 1 s and 4x), enforced with SIGALRM; a slower candidate fails;
- the first mismatch raises AssertionError naming the input's index, so the sandbox's
  verdict is `failed`; an exception in the candidate is `error` as for the base tests.

It is appended after ``prompt + completion`` and followed by ``check(entry_point)``, exactly
like the base tests (`monkeys.execution.programs.humaneval_program`). Running the reference
in the candidate's process doubles the work per input and means a candidate that patches
shared modules (e.g. ``builtins``) at import time could sway the reference too; the sandbox's
wall-clock limit must cover both runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monkeys.testgen.literals import to_source

CHECKER = """
def __monkeys_plus_check(candidate, reference, entry_point, inputs, atol, min_time_s, time_factor,
                         oracle="exact"):
    import copy
    import math
    import signal
    import time

    class Slow(BaseException):
        pass

    def on_alarm(signum, frame):
        raise Slow()

    def is_floats(x):
        if isinstance(x, float):
            return True
        return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(v, float) for v in x)

    def same(got, expected):
        try:
            if got == expected:
                return True
        except Exception:
            return False
        if not is_floats(expected):
            return False
        many = isinstance(expected, (list, tuple))
        if many != isinstance(got, (list, tuple)):
            return False
        gots, exps = (list(got), list(expected)) if many else ([got], [expected])
        if len(gots) != len(exps):
            return False
        tol = atol or 1e-6
        for g, e in zip(gots, exps):
            if isinstance(g, bool) or not isinstance(g, (int, float)):
                return False
            if math.isnan(e) or math.isnan(g):
                if math.isnan(e) and math.isnan(g):
                    continue
                return False
            if not abs(g - e) <= tol + 1e-7 * abs(e):
                return False
        return True

    def poly(xs, x):
        return sum(c * math.pow(x, i) for i, c in enumerate(xs))

    def accept(args, got, expected):
        if oracle == "any":
            return True
        if oracle == "not_none":
            return (got is not None) == (expected is not None)
        if oracle == "or_zero" and got == 0:
            return True
        if oracle == "poly_root":
            try:
                return abs(poly(args[0], got)) <= (atol or 1e-6)
            except Exception:
                return False
        return same(got, expected)

    def short(value):
        try:
            text = repr(value)
        except Exception as exc:
            text = "<unprintable %s>" % type(exc).__name__
        return text if len(text) <= 200 else text[:200] + "..."

    namespace = {"__name__": "__monkeys_reference__"}
    exec(compile(reference, "<reference>", "exec"), namespace)
    solution = namespace[entry_point]
    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        for index, args in enumerate(inputs):
            started = time.perf_counter()
            expected = solution(*copy.deepcopy(args))
            limit = max(min_time_s, time_factor * (time.perf_counter() - started))
            signal.setitimer(signal.ITIMER_REAL, limit)
            try:
                got = candidate(*copy.deepcopy(args))
            except Slow:
                raise AssertionError(
                    "plus input %d: no answer within %.3gs" % (index, limit)) from None
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if not accept(args, got, expected):
                raise AssertionError("plus input %d %s: got %s, expected %s"
                                     % (index, short(args), short(got), short(expected)))
    finally:
        signal.signal(signal.SIGALRM, previous)
"""


ORACLES = ("exact", "any", "not_none", "or_zero", "poly_root")


def reference_check(
    reference: str,
    entry_point: str,
    inputs: Sequence[Sequence[Any]],
    *,
    atol: float = 0.0,
    min_time_s: float = 1.0,
    time_factor: float = 4.0,
    oracle: str = "exact",
    note: str = "",
) -> str:
    """A `plus_test` check() body comparing a candidate with `reference` on `inputs`.

    `reference` is the full source defining `entry_point` (e.g. prompt + canonical solution);
    each input is the tuple (or list) of positional arguments of one call. `oracle` is how
    an output is judged, EvalPlus's special cases included: "exact" (equal, floats within
    atol), "any" (every output passes: Mbpp/164, whose reference is wrong), "not_none"
    (the output is None exactly when the reference's is), "or_zero" (also 0: Mbpp/295),
    "poly_root" (``|poly(xs, output)| <= atol``: HumanEval/32 find_zero, any root will do).
    """
    if oracle not in ORACLES:
        raise ValueError(f"unknown oracle {oracle!r}; use one of {ORACLES}")
    args = to_source([tuple(i) for i in inputs])
    header = f"# {note}\n" if note else ""
    # A function named `check` (Mbpp/56) is shadowed by the tests' own check(): keep it first.
    keep = "__monkeys_entry = check\n\n\n" if entry_point == "check" else ""
    candidate = "__monkeys_entry" if entry_point == "check" else "candidate"
    return (
        f"{header}# {len(inputs)} inputs; expected outputs from the reference solution "
        "(monkeys.testgen.harness)\n"
        f"{CHECKER}\n"
        f"__monkeys_reference = {reference!r}\n"
        f"__monkeys_inputs = {args}\n"
        f"{keep}\n\n"
        "def check(candidate):\n"
        f"    __monkeys_plus_check({candidate}, __monkeys_reference, {entry_point!r}, "
        f"__monkeys_inputs, {float(atol)!r}, {float(min_time_s)!r}, {float(time_factor)!r}, "
        f"{oracle!r})\n"
    )
