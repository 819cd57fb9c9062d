"""Strong tests for code datasets that ship none: seed inputs from the base tests, type-aware
mutation, validation against the reference solution in the sandbox, and a `plus_test` body.

`generate_strong_tests(problems, seed)` is the entry point; see its docstring. Per problem:

0. Reference: the best available (`references.best_reference`): a HumanEval+/MBPP+ row's
   own corrected solution and contract; for plain HumanEval, the HumanEval+ corrected
   solution, contract and atol the package ships; else the row's canonical solution.
1. Seed inputs: the literal arguments of every call to ``candidate(...)`` (or to the entry
   point by name, as MBPP's asserts do) in the problem's `test` (`literals.literal_inputs`)
   and in the prompt's doctest examples, plus EvalPlus `base_input` when the metadata or
   the shipped reference has it. A problem with none of these (HumanEval/38, /50 without
   the shipped references: their tests call the entry point on computed strings) is seeded
   from its signature's annotations (`signature.signature_inputs`).
2. Candidates: mutations of the seeds and of earlier mutants (`mutate.mutate_input`), drawn
   with a `random.Random` seeded from (seed, problem id), deduplicated by their source text,
   `candidates_per_input` times as many as wanted.
3. Validation: one sandboxed program runs the reference on every candidate, twice, each call
   under a SIGALRM limit (`reference_timeout_s`). An input is kept only when the reference
   returns (no exception, no timeout) and both runs give equal results (so NaN, object
   identities and nondeterminism are left out). When the problem's metadata has an EvalPlus
   `contract` (input preconditions as asserts), the reference is checked with the contract
   inserted, so inputs outside the problem's domain raise and are dropped.
4. The first `num_inputs` valid candidates (fewer when the reference needs more than
   `test_budget_s` for them), after the valid seeds, become the strong test:
   `harness.reference_check` (expected outputs from the reference, per-input time limits).
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import math
import random
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from monkeys.execution.sandbox import Limits, run_programs
from monkeys.testgen.harness import reference_check
from monkeys.testgen.literals import LiteralError, literal_inputs, to_source
from monkeys.testgen.mutate import learn_domains, mutate_input
from monkeys.testgen.references import best_reference
from monkeys.testgen.signature import signature_inputs

log = logging.getLogger(__name__)

STRONG_TESTS_COLUMNS = [
    "problem_id",
    "plus_test",
    "num_inputs",
    "num_seed_inputs",
    "num_generated",
    "num_discarded",
]
MAX_BITS = 1500  # inputs validated by one program: its verdict line must fit the sandbox detail

VALIDATOR = """
def __monkeys_validate(reference, entry_point, inputs, num_seeds, need, timeout_s, budget_s,
                       oracle, atol, test_budget_s):
    import copy
    import io
    import math
    import signal
    import sys
    import time

    class Slow(BaseException):
        pass

    def on_alarm(signum, frame):
        raise Slow()

    namespace = {"__name__": "__monkeys_reference__"}
    exec(compile(reference, "<reference>", "exec"), namespace)
    solution = namespace[entry_point]
    signal.signal(signal.SIGALRM, on_alarm)
    real_stdout = sys.stdout
    bits = []
    slowest_seed = 0.0
    started_all = time.perf_counter()
    found = 0
    kept_s = 0.0  # reference time of the mutants kept (one run each)
    for index, args in enumerate(inputs):
        seed = index < num_seeds
        spent = time.perf_counter() - started_all
        if not seed and (found >= need or spent > budget_s or kept_s > test_budget_s):
            bits.append("-")
            continue
        limit = timeout_s if seed else min(timeout_s, max(0.05, 100 * slowest_seed))
        ok = False
        started = time.perf_counter()
        try:
            sys.stdout = io.StringIO()
            signal.setitimer(signal.ITIMER_REAL, limit)
            try:
                first = solution(*copy.deepcopy(args))
                second = solution(*copy.deepcopy(args))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                sys.stdout = real_stdout
            ok = bool(first == second) and type(first) is type(second)
            if ok and oracle == "poly_root":  # the reference's root must pass the oracle itself
                value = sum(c * math.pow(first, i) for i, c in enumerate(args[0]))
                ok = abs(value) <= (atol or 1e-6)
        except BaseException:
            ok = False
        if seed and ok:
            slowest_seed = max(slowest_seed, time.perf_counter() - started)
        if ok and not seed:
            found += 1
            kept_s += (time.perf_counter() - started) / 2
        bits.append("1" if ok else "0")
    real_stdout.write("\\nMONKEYS-VALID:" + "".join(bits) + ":END\\n")
    real_stdout.flush()
"""


@dataclass(frozen=True)
class TestgenSettings:
    """Knobs of `generate_strong_tests` (the defaults are what the workflow uses)."""

    __test__ = False  # not a pytest test class, despite its name

    num_inputs: int = 100  # generated inputs per problem, beyond the seeds
    candidates_per_input: int = 4  # mutants drawn per wanted input (many are invalid)
    reference_timeout_s: float = 0.5  # per seed input, for both reference runs together
    budget_s: float = 20.0  # per problem, for checking mutants
    test_budget_s: float = 1.0  # reference time of the kept mutants, per problem: keeps a
    # strong test (reference + candidate) within a few seconds
    min_time_s: float = 1.0  # per-input candidate limit in the test: max(min, factor * ref)
    time_factor: float = 4.0
    memory_mb: int = 1024


def problem_seed(seed: int, problem_id: str) -> int:
    """The random seed of one problem's mutations, stable across machines and versions."""
    digest = hashlib.sha256(f"testgen\x1f{seed}\x1f{problem_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def doctest_source(prompt: str) -> str:
    """The statements of a prompt's doctest examples (``>>> f(1)`` lines), as source."""
    return "\n".join(line.strip()[4:] for line in prompt.splitlines() if line.strip().startswith(">>> "))


def seed_inputs(
    test: str, entry_point: str, metadata: dict[str, Any] | None = None, prompt: str = ""
) -> list[tuple]:
    """Literal inputs of the base tests, the prompt's doctest examples and EvalPlus
    base_input, deduplicated, in that order."""
    found = [
        *literal_inputs(test, {"candidate", entry_point}),
        *literal_inputs(doctest_source(prompt), {entry_point}),
    ]
    extra = (metadata or {}).get("base_input") or []
    seen, out = set(), []
    for args in [*found, *(tuple(a) for a in extra if isinstance(a, list))]:
        try:
            key = to_source(tuple(args))
        except LiteralError:
            continue
        if key not in seen:
            seen.add(key)
            out.append(tuple(args))
    return out


def candidate_inputs(
    seeds: Sequence[tuple], count: int, rng: random.Random, statement: str = ""
) -> list[tuple]:
    """Up to `count` new inputs by mutating seeds and earlier mutants (no duplicates);
    `statement` (the prompt) tells whether negative numbers are in the domain."""
    if not seeds or count <= 0:
        return []
    domains = learn_domains(seeds, statement)
    seen = set()
    for args in seeds:
        seen.add(to_source(tuple(args)))
    pool: list[Any] = list(seeds)
    out: list[Any] = []
    attempts = 0
    while len(out) < count and attempts < count * 20:
        attempts += 1
        child = mutate_input(rng.choice(pool), rng, domains)
        try:
            key = to_source(child)
        except LiteralError:
            continue
        if key in seen or len(key) > 4000:
            continue
        seen.add(key)
        out.append(child)
        pool.append(child)
    return out


def with_contract(prompt: str, canonical_solution: str, contract: str | None, entry_point: str = "") -> str:
    """The reference with its EvalPlus input contract (asserts) at the top of the entry
    point's body, after its docstring, indented like the body: HumanEval+ prompts end inside
    the function, MBPP+ solutions hold the whole function (its prompt is a docstring)."""
    source = prompt + canonical_solution
    if not contract:
        return source
    fallback = prompt + contract + canonical_solution
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return fallback
    function = next(
        (node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == entry_point),
        None,
    )
    if function is None:
        return fallback
    body = function.body
    first = body[1] if len(body) > 1 and _is_docstring(body[0]) else body[0]
    lines = source.splitlines(keepends=True)
    if first.lineno == function.lineno or lines[first.lineno - 1][: first.col_offset].strip():
        return fallback  # a body on the def line or after a `;`: leave it
    asserts = textwrap.indent(textwrap.dedent(contract.strip("\n")), " " * first.col_offset)
    return "".join(lines[: first.lineno - 1]) + asserts + "\n" + "".join(lines[first.lineno - 1 :])


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def validator_program(
    reference: str,
    entry_point: str,
    inputs: Sequence[tuple],
    *,
    num_seeds: int,
    need: int,
    timeout_s: float,
    budget_s: float,
    oracle: str = "exact",
    atol: float = 0.0,
    test_budget_s: float = 1.0,
) -> str:
    """The sandboxed program that reports which inputs the reference handles (a bit each).

    The first `num_seeds` inputs are always checked, with `timeout_s` each; the others with
    ``min(timeout_s, max(0.05 s, 100 x the slowest seed))``, until `need` of them passed,
    `budget_s` is spent, or the kept ones take the reference `test_budget_s` in all (the rest
    report "-": not checked). With the "poly_root" oracle the
    reference's own output must also pass it (|poly(xs, root)| <= atol).
    """
    return (
        f"{VALIDATOR}\n__monkeys_validate({reference!r}, {entry_point!r}, "
        f"{to_source([tuple(i) for i in inputs])}, {int(num_seeds)}, {int(need)}, "
        f"{float(timeout_s)!r}, {float(budget_s)!r}, {oracle!r}, {float(atol)!r}, "
        f"{float(test_budget_s)!r})\n"
    )


_BITS = re.compile(r"MONKEYS-VALID:([-01]*):END")


def validate_inputs(
    jobs: Sequence[tuple[str, str, Sequence[tuple], int, str, float]],
    settings: TestgenSettings,
    workers: int,
) -> list[list[bool | None]]:
    """For each (reference, entry point, inputs, number of seeds among them, first): which
    inputs the reference handles: True, False, or None for mutants left unchecked (enough
    passed already, or the time budget was spent).

    Programs that do not report (crash, timeout, a reference that prints too much) are split
    in halves and rerun; a single input whose program does not report is invalid.
    """
    results: list[list[bool | None]] = [[False] * len(job[2]) for job in jobs]
    pending: list[tuple[int, int, int]] = []  # (job, start, stop)
    for j, job in enumerate(jobs):
        inputs = job[2]
        for start in range(0, len(inputs), MAX_BITS):
            pending.append((j, start, min(start + MAX_BITS, len(inputs))))
    while pending:
        programs, timeouts = [], []
        for j, start, stop in pending:
            reference, entry, inputs, num_seeds, oracle, atol = jobs[j]
            seeds_here = max(0, min(num_seeds, stop) - start)
            programs.append(
                validator_program(
                    reference,
                    entry,
                    inputs[start:stop],
                    num_seeds=seeds_here,
                    need=settings.num_inputs,
                    timeout_s=settings.reference_timeout_s,
                    budget_s=settings.budget_s,
                    oracle=oracle,
                    atol=atol,
                    test_budget_s=settings.test_budget_s,
                )
            )
            timeouts.append(settings.reference_timeout_s * seeds_here + settings.budget_s + 10.0)
        limits = Limits(timeout_s=min(600.0, max(timeouts)), memory_mb=settings.memory_mb)
        outcomes = run_programs(programs, limits, workers=workers)
        retry = []
        for (j, start, stop), outcome in zip(pending, outcomes, strict=True):
            found = _BITS.findall(outcome.detail) if outcome.status == "passed" else []
            bits = found[-1] if found else ""
            if len(bits) == stop - start:
                results[j][start:stop] = [{"1": True, "0": False}.get(b) for b in bits]
            elif stop - start > 1:
                middle = (start + stop) // 2
                retry += [(j, start, middle), (j, middle, stop)]
        pending = retry
    return results


def _atol(meta: dict[str, Any]) -> float:
    try:
        atol = float(meta.get("atol") or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return atol if math.isfinite(atol) and atol >= 0 else 0.0


def _metadata(value: Any) -> dict[str, Any]:
    try:
        out = json.loads(value) if isinstance(value, str) and value else {}
    except json.JSONDecodeError:
        return {}
    return out if isinstance(out, dict) else {}


def generate_strong_tests(
    problems: pd.DataFrame,
    seed: int,
    *,
    settings: TestgenSettings | None = None,
    workers: int = 2,
) -> pd.DataFrame:
    """Generated strong tests for each problem with a reference solution and base tests.

    `problems` has the PROBLEMS columns (at least problem_id, prompt, entry_point, test,
    canonical_solution; metadata optional). Returns one row per problem with
    `problem_id`, `plus_test` (a HumanEval-style check() body; "" when no seed input could
    be read or the problem is not a unit-test problem with a reference), `num_inputs` (inputs
    in the test: valid seeds + generated), `num_seed_inputs`, `num_generated` and
    `num_discarded` (mutants the reference rejected). Deterministic for a given seed (up to
    reference solutions that run close to `reference_timeout_s`).

    The result can replace or complement the `plus_test` column of the problems table:
    ``problems.merge(tests[["problem_id", "plus_test"]], on="problem_id")``.
    """
    settings = settings or TestgenSettings()
    plans = []
    origins: dict[str, int] = {}
    from_signature = 0
    for row in problems.itertuples(index=False):
        meta = _metadata(getattr(row, "metadata", "{}"))
        grader = getattr(row, "grader", "unit_tests") or "unit_tests"
        usable = grader == "unit_tests" and bool(row.canonical_solution) and bool(row.entry_point)
        ref = best_reference(row.problem_id, row.entry_point, row.prompt, row.canonical_solution, meta)
        origins[ref.origin] = origins.get(ref.origin, 0) + usable
        if ref.atol is not None:
            meta = {**meta, "atol": max(ref.atol, _atol(meta))}
        seeds = (
            seed_inputs(
                row.test,
                row.entry_point,
                {**meta, "base_input": [*(meta.get("base_input") or []), *ref.base_inputs]},
                row.prompt,
            )
            if usable
            else []
        )
        if usable and not seeds:  # no literal input anywhere: inputs from the signature
            seeds = signature_inputs(ref.prompt + ref.solution, row.entry_point)
            from_signature += bool(seeds)
        rng = random.Random(problem_seed(seed, row.problem_id))
        wanted = settings.num_inputs * settings.candidates_per_input
        mutants = candidate_inputs(seeds, wanted, rng, row.prompt)
        reference = ref.prompt + ref.solution
        checked = with_contract(ref.prompt, ref.solution, ref.contract, row.entry_point)
        plans.append((row, meta, seeds, mutants, reference, checked))
    log.info(
        "strong-test references: %s; %d problems seeded from their signature only",
        ", ".join(f"{n} {origin}" for origin, n in sorted(origins.items())) or "none",
        from_signature,
    )
    jobs = [
        (checked, row.entry_point, [*seeds, *mutants], len(seeds), meta.get("oracle", "exact"), _atol(meta))
        for row, meta, seeds, mutants, _, checked in plans
        if seeds
    ]
    verdicts = iter(validate_inputs(jobs, settings, workers) if jobs else [])
    out = []
    for row, meta, seeds, mutants, reference, _ in plans:
        if not seeds:
            out.append((row.problem_id, "", 0, 0, 0, 0))
            continue
        valid = next(verdicts)
        good_seeds = [s for s, ok in zip(seeds, valid[: len(seeds)], strict=True) if ok]
        good_mutants = [m for m, ok in zip(mutants, valid[len(seeds) :], strict=True) if ok]
        rejected = sum(ok is False for ok in valid[len(seeds) :])
        chosen = good_mutants[: settings.num_inputs]
        inputs = [*good_seeds, *chosen]
        atol = _atol(meta)
        body = (
            reference_check(
                reference,
                row.entry_point,
                inputs,
                atol=atol,
                min_time_s=settings.min_time_s,
                time_factor=settings.time_factor,
                oracle=meta.get("oracle", "exact"),
                note=(
                    f"generated strong tests for {row.problem_id} (seed {seed}): "
                    f"{len(good_seeds)} seed + {len(chosen)} mutated inputs"
                ),
            )
            if inputs
            else ""
        )
        out.append((row.problem_id, body, len(inputs), len(good_seeds), len(chosen), rejected))
    frame = pd.DataFrame(out, columns=STRONG_TESTS_COLUMNS)
    for column in STRONG_TESTS_COLUMNS[2:]:
        frame[column] = frame[column].astype("int32")
    return frame
