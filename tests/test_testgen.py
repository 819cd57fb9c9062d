"""Strong-test generation: literals, seed inputs, type-aware mutation, the plus-test harness,
and generated tests catching wrong HumanEval solutions that the base tests pass."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from monkeys.datasets.registry import DATASETS, normalise
from monkeys.datasets.sources import read_source
from monkeys.execution.programs import humaneval_program
from monkeys.execution.sandbox import Limits, run_programs
from monkeys.testgen import STRONG_TESTS_COLUMNS, TestgenSettings, generate_strong_tests
from monkeys.testgen.generate import candidate_inputs, seed_inputs
from monkeys.testgen.harness import reference_check
from monkeys.testgen.literals import LiteralError, literal_inputs, to_source
from monkeys.testgen.mutate import Domain, learn_domains, mutate_value, restricts_sign


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -7,
        10**5000,
        -(10**5000),
        1.5,
        -0.0,
        float("inf"),
        float("-inf"),
        1e-300,
        complex(1, -2),
        "",
        "a'b\"c\n",
        b"\x00x",
        [],
        [1, [2, (3,)]],
        (),
        (1,),
        {"a": [1, 2], 3: None},
        set(),
        {3, 1, 2},
        frozenset({"x"}),
        {(1, 2): frozenset()},
    ],
    ids=lambda value: type(value).__name__,
)
def test_literals_round_trip(value):
    source = to_source(value)
    (args,) = literal_inputs(f"f({source})", {"f"})
    assert args == (value,) and type(args[0]) is type(value)


def test_literal_nan_and_errors():
    (args,) = literal_inputs(f"f({to_source(float('nan'))})", {"f"})
    assert args[0] != args[0]
    assert to_source({3, 1, 2}) == "{1, 2, 3}"  # a stable text for equal sets
    with pytest.raises(LiteralError):
        to_source(object())


def test_literal_inputs_from_tests():
    test = (
        "def check(candidate):\n"
        "    assert candidate([1, 2], 3) == 3\n"
        "    assert abs(candidate([1.5], -2) - 1) < 1e-6\n"
        "    assert candidate(x, 1) == 2\n"  # a variable: not a literal, left out
        "    assert candidate([1, 2], 3) == 3\n"  # a duplicate
        "    assert candidate(*[1]) == 1\n"  # starred: left out
        "    assert helper((1,), {'k': {2}}) is None\n"
    )
    assert literal_inputs(test, {"candidate"}) == [([1, 2], 3), ([1.5], -2)]
    assert literal_inputs(test, {"helper"}) == [((1,), {"k": {2}})]
    assert literal_inputs("def broken(:", {"f"}) == []


def test_seed_inputs_use_doctests_and_base_input():
    prompt = 'def f(x):\n    """\n    >>> f(3)\n    9\n    >>> round(f(1.5), 2)\n    2.25\n    """\n'
    seeds = seed_inputs(
        "def check(candidate):\n    assert candidate(2) == 4\n", "f", {"base_input": [[2], [7]]}, prompt
    )
    assert seeds == [(2,), (3,), (1.5,), (7,)]


def test_mutation_keeps_types_and_domains():
    rng = random.Random(0)
    domain = learn_domains([([1, 2, 3], "0123", (1.5, 2.5))], "all numbers are positive")[0]
    assert not domain.allow_negatives and restricts_sign("n is a non-negative integer")
    assert not restricts_sign("Return the sum of x and y")
    for _ in range(300):
        value = mutate_value([1, 2, 3], rng, domain)
        assert isinstance(value, list) and all(type(v) is int and v >= 0 for v in value)
    digits = Domain(alphabet="0123456789")
    for _ in range(300):
        value = mutate_value("0123", rng, digits)
        assert isinstance(value, str) and set(value) <= set("0123456789")
    for original in [(1.5, 2.5), {"a": 1}, {1, 2}, True, None]:
        assert type(mutate_value(original, rng, Domain())) is type(original)


def test_mutants_are_seeded_and_distinct():
    seeds = [([1, 2, 3], 2), ([5], 0)]
    first = candidate_inputs(seeds, 50, random.Random(7), "")
    assert first == candidate_inputs(seeds, 50, random.Random(7), "")
    assert first != candidate_inputs(seeds, 50, random.Random(8), "")
    texts = [to_source(m) for m in first]
    assert len(set(texts)) == len(texts) and not set(texts) & {to_source(s) for s in seeds}
    assert any(any(v < 0 for v in m[0]) or m[1] < 0 for m in first)  # negatives allowed here


def _run(prompt: str, completion: str, test: str, entry: str, timeout_s: float = 10.0):
    return run_programs(
        [humaneval_program(prompt, completion, test, entry)], Limits(timeout_s=timeout_s), workers=1
    )[0]


def test_harness_compares_like_evalplus():
    reference = "def f(x):\n    return x / 3\n"
    test = reference_check(reference, "f", [(1,), (2.0,), (float("nan"),)], atol=1e-3)
    assert _run("", "def f(x):\n    return round(x / 3, 4)\n", test, "f").status == "passed"
    wrong = _run("", "def f(x):\n    return round(x / 3, 1)\n", test, "f")
    assert wrong.status == "failed" and "plus input 0 (1,): got 0.3, expected 0.333" in wrong.detail
    # the candidate mutating its input does not change what the reference sees
    ref = "def g(xs):\n    return sorted(xs)\n"
    mutating = "def g(xs):\n    xs.sort()\n    return list(xs)\n"
    assert _run("", mutating, reference_check(ref, "g", [([3, 1, 2],)]), "g").status == "passed"
    slow = "import time\ndef g(xs):\n    time.sleep(0.6)\n    return sorted(xs)\n"
    check = reference_check(ref, "g", [([3, 1, 2],)], min_time_s=0.2, time_factor=4.0)
    outcome = _run("", slow, check, "g")
    assert outcome.status == "failed" and "no answer within 0.2s" in outcome.detail


@pytest.fixture(scope="module")
def humaneval() -> pd.DataFrame:
    return normalise("humaneval", read_source(DATASETS["humaneval"].default_source))


# Completions of the embedded Gemma 3 270M (the default run, seed 1234) that pass HumanEval's
# own tests but are wrong: found by the generated strong tests.
KNOWN_WRONG = {
    "HumanEval/23": (  # strlen: counts letters only
        "    length = 0\n    for c in string:\n        if c.isalpha():\n            length += 1\n"
        "    return length\n"
    ),
    "HumanEval/35": (  # max_element: drops the first element
        "    l.remove(l[0])\n    r = l.pop(0)\n    if len(l) > 0:\n        return max(l)\n"
        "    else:\n        print(l)\n    return r\n"
    ),
    "HumanEval/53": "    assert x >= 0 and y >= 0\n    return x + y\n",  # add: rejects negatives
}


def test_generated_tests_catch_wrong_solutions_the_base_tests_pass(humaneval):
    problems = humaneval[humaneval["problem_id"].isin(KNOWN_WRONG)].reset_index(drop=True)
    tests = generate_strong_tests(problems, seed=1234, settings=TestgenSettings(num_inputs=30))
    assert list(tests.columns) == STRONG_TESTS_COLUMNS
    assert (tests["num_inputs"] > tests["num_seed_inputs"]).all()
    by_id = problems.set_index("problem_id")
    plus = tests.set_index("problem_id")["plus_test"]
    for pid, completion in KNOWN_WRONG.items():
        prompt, test, entry = by_id.at[pid, "prompt"], by_id.at[pid, "test"], by_id.at[pid, "entry_point"]
        assert _run(prompt, completion, test, entry).status == "passed", pid
        strong = _run(prompt, completion, plus[pid], entry)
        assert strong.status in ("failed", "error"), (pid, strong)
        assert _run(prompt, by_id.at[pid, "canonical_solution"], plus[pid], entry).status == "passed"
    again = generate_strong_tests(problems, seed=1234, settings=TestgenSettings(num_inputs=30))
    pd.testing.assert_frame_equal(tests, again)  # seeded: the same tests every time
    other = generate_strong_tests(problems, seed=99, settings=TestgenSettings(num_inputs=30))
    assert list(other["plus_test"]) != list(tests["plus_test"])


def test_problems_without_seeds_or_references():
    problems = pd.DataFrame(
        {
            "problem_id": ["a", "b"],
            "prompt": ["def f(x):\n", "def g(x):\n"],
            "entry_point": ["f", "g"],
            "canonical_solution": ["    return x\n", ""],
            "test": [
                "def check(candidate):\n    assert candidate(random()) is not None\n",
                "def check(candidate):\n    assert candidate(1) == 1\n",
            ],
        }
    )
    tests = generate_strong_tests(problems, seed=0)
    assert list(tests["plus_test"]) == ["", ""] and list(tests["num_inputs"]) == [0, 0]


def test_references_that_reject_inputs_shrink_the_test():
    problems = pd.DataFrame(
        {
            "problem_id": ["p"],
            "prompt": ["def f(n):\n"],
            "entry_point": ["f"],
            "canonical_solution": ["    if n > 12:\n        raise ValueError(n)\n    return n * 2\n"],
            "test": ["def check(candidate):\n    assert candidate(3) == 6\n    assert candidate(10) == 20\n"],
            "metadata": ["{}"],
        }
    )
    tests = generate_strong_tests(problems, seed=3, settings=TestgenSettings(num_inputs=20))
    row = tests.iloc[0]
    assert row["num_discarded"] > 0 and row["num_seed_inputs"] == 2
    assert _run("def f(n):\n", "    return n + n\n", row["plus_test"], "f").status == "passed"


def test_special_oracles():
    """EvalPlus's special cases: any root of find_zero passes; "not_none" compares only None-ness."""
    reference = "import math\ndef find_zero(xs):\n    return 1.0\n"  # a root of (x-1)(x-2)
    check = reference_check(reference, "find_zero", [([2, -3, 1],)], atol=1e-6, oracle="poly_root")
    other_root = "def find_zero(xs):\n    return 2.0\n"
    assert _run("import math\n", other_root, check, "find_zero").status == "passed"
    wrong = "def find_zero(xs):\n    return 3.0\n"
    assert _run("import math\n", wrong, check, "find_zero").status == "failed"
    ref = "import re\ndef m(s):\n    return re.search('a', s)\n"
    check = reference_check(ref, "m", [("cat",), ("dog",)], oracle="not_none")
    assert _run("", "def m(s):\n    return 'a' in s or None\n", check, "m").status == "passed"
    assert _run("", "def m(s):\n    return True\n", check, "m").status == "failed"
    with pytest.raises(ValueError, match="unknown oracle"):
        reference_check(ref, "m", [], oracle="fuzzy")


def test_signature_inputs_seed_problems_without_literal_inputs():
    from monkeys.testgen.signature import signature_inputs

    source = "from typing import List\n\ndef f(xs: List[int], s: str, t: float) -> int:\n    pass\n"
    inputs = signature_inputs(source, "f")
    assert inputs and all(
        isinstance(a, list) and isinstance(b, str) and isinstance(c, float) for a, b, c in inputs
    )
    assert signature_inputs("def f(x):\n    pass\n", "f") == []  # unannotated: nothing
    problems = pd.DataFrame(
        {  # its test calls it on computed strings only
            "problem_id": ["p"],
            "prompt": ["def rev(s: str) -> str:\n"],
            "entry_point": ["rev"],
            "canonical_solution": ["    return s[::-1]\n"],
            "test": ["def check(candidate):\n    assert candidate(candidate('ab' * 2)) == 'abab'\n"],
        }
    )
    tests = generate_strong_tests(problems, seed=0, settings=TestgenSettings(num_inputs=10))
    assert tests["num_seed_inputs"].iat[0] > 0 and tests["num_generated"].iat[0] > 0
    good = _run(
        "def rev(s: str) -> str:\n", "    return ''.join(reversed(s))\n", tests["plus_test"].iat[0], "rev"
    )
    bad = _run("def rev(s: str) -> str:\n", "    return s[::-1].strip()\n", tests["plus_test"].iat[0], "rev")
    assert good.status == "passed" and bad.status == "failed"


def test_contracts_go_in_the_function_body():
    from monkeys.testgen.generate import with_contract

    mbpp = with_contract('"""doc"""\n', "\ndef f(a):\n  return a\n", "\n  assert a > 0 # $_CONTRACT_$\n", "f")
    assert mbpp == '"""doc"""\n\ndef f(a):\n  assert a > 0 # $_CONTRACT_$\n  return a\n'
    humaneval = with_contract('def f(a):\n    """d"""\n', "    return a\n", "\n    assert a > 0\n", "f")
    assert humaneval == 'def f(a):\n    """d"""\n    assert a > 0\n    return a\n'
    problems = pd.DataFrame(
        {  # the contract keeps out-of-domain mutants (negatives) away
            "problem_id": ["q"],
            "prompt": ['"""Square of a positive number."""\n'],
            "entry_point": ["sq"],
            "canonical_solution": ["\ndef sq(n):\n  return n * n\n"],
            "test": ["def check(candidate):\n    assert sq(3) == 9\n    assert sq(-2) == 4\n"],
            "metadata": ['{"contract": "\\n  assert n > 0 # $_CONTRACT_$\\n"}'],
        }
    )
    tests = generate_strong_tests(problems, seed=0, settings=TestgenSettings(num_inputs=10))
    assert tests["num_seed_inputs"].iat[0] == 1  # sq(-2) breaks the contract
    only_positive = "\ndef sq(n):\n  assert n > 0\n  return n * n\n"
    assert _run('"""x"""\n', only_positive, tests["plus_test"].iat[0], "sq").status == "passed"


def test_verifiers_drop_problems_without_a_strong_test(caplog):
    from monkeys.errors import MonkeysError
    from monkeys.stages.verifiers import with_strong_verifier

    counts = pd.DataFrame(
        {
            "model": "m",
            "dataset": "d",
            "problem_id": ["a", "b", "c"],
            "n": 4,
            "num_correct": [2, 3, 1],
            "num_plus_correct": [1.0, None, 1.0],
        }
    )
    kept = with_strong_verifier(counts)
    assert list(kept["problem_id"]) == ["a", "c"] and "1 of 3 problems" in caplog.text
    with pytest.raises(MonkeysError, match="no strong verifier"):
        with_strong_verifier(counts.assign(num_plus_correct=None))
