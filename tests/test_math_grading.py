"""Math answer grading: extraction, normalisation, equivalence, verdicts and majority vote.

These are the `lenient` rule's cases (the `paper` rule's are in test_math_paper_rules.py).

The (answer, reference, expected) pairs follow the MATH benchmark's conventions: units,
degree signs, dollar signs and percent signs are dropped (50\\% equals 50, not 0.5);
decimals equal fractions only when exactly equal; order matters in tuples and intervals
but not in sets.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from monkeys.grading.math import (
    extract_answer,
    grade_answer,
    grade_math,
    is_equivalent,
    majority_vote,
    normalise_answer,
)

PAIRS = [
    # fractions
    ("\\frac{1}{2}", "0.5", True),
    ("1/2", "\\frac{1}{2}", True),
    ("\\dfrac{3}{4}", "0.75", True),
    ("\\frac34", "\\frac{3}{4}", True),
    ("0.33", "\\frac{1}{3}", False),
    ("2/4", "\\frac{1}{2}", True),
    ("\\frac{6}{8}", "\\frac{3}{4}", True),
    ("-\\frac{2}{3}", "\\frac{-2}{3}", True),
    ("\\frac{2}{3}", "-\\frac{2}{3}", False),
    ("\\tfrac{5}{2}", "2.5", True),
    ("\\frac{14}{3}", "4.67", False),
    # LaTeX and expressions
    ("\\sqrt{12}", "2\\sqrt{3}", True),
    ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", True),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})", True),
    ("(3, \\pi)", "\\left( 3, \\frac{\\pi}{2} \\right)", False),
    ("(\\frac{\\pi}{2}, 3)", "\\left( 3, \\frac{\\pi}{2} \\right)", False),
    ("x^2+2x+1", "(x+1)^2", True),
    ("x^2+1", "(x+1)^2", False),
    ("\\text{Evelyn}", "\\text{Evelyn}", True),
    ("Evelyn", "\\text{Evelyn}", True),
    ("\\text{Bob}", "\\text{Evelyn}", False),
    ("p - q", "p-q", True),
    ("q - p", "p - q", False),
    ("\\boxed{5}", "5", True),
    ("$5$", "5", True),
    ("x = 5", "5", True),
    ("\\{1,2,3\\}", "\\{3,2,1\\}", True),
    ("3\\sqrt{2}", "\\sqrt{18}", True),
    ("2^{10}", "1024", True),
    ("\\pi", "3.14", False),
    # units and symbols
    ("5 \\text{ cm}", "5", True),
    ("12\\text{ inches}", "12", True),
    ("18 dollars", "18", True),
    ("\\$18", "18", True),
    ("\\$18.00", "18", True),
    ("30^\\circ", "30", True),
    ("30^{\\circ}", "30", True),
    ("90°", "90", True),
    ("7 meters", "8", False),
    # percentages
    ("50\\%", "50", True),
    ("50%", "50\\%", True),
    ("25\\%", "50\\%", False),
    ("12.5%", "12.5", True),
    # negative numbers
    ("-3", "-3", True),
    ("−3", "-3", True),
    ("3", "-3", False),
    ("-0.5", "-\\frac{1}{2}", True),
    ("- 7", "-7", True),
    ("-\\sqrt{2}", "\\sqrt{2}", False),
    # thousands separators
    ("1,000", "1000", True),
    ("2,125", "2125", True),
    ("1,234,567", "1234567", True),
    ("1,000.5", "1000.5", True),
    ("1,000", "100", False),
    # intervals
    ("[2,5)", "[2,5)", True),
    ("[2, 5)", "[2,5)", True),
    ("(2,5]", "[2,5)", False),
    ("(-\\infty, 3]", "(-\\infty,3]", True),
    ("(-\\infty, 3)", "(-\\infty,3]", False),
    ("[0, \\infty)", "[0,\\infty)", True),
    ("(-\\infty,-2)\\cup(2,\\infty)", "(-\\infty, -2) \\cup (2, \\infty)", True),
    ("(-\\infty,-2)\\cup(3,\\infty)", "(-\\infty, -2) \\cup (2, \\infty)", False),
    # decimals and plain numbers
    ("5.0", "5", True),
    ("5.00", "5", True),
    ("0.1", "\\frac{1}{10}", True),
    (".5", "0.5", True),
    ("5", "5.0001", False),
    ("1e3", "1000", True),
    ("18.", "18", True),
    # nothing usable
    ("", "5", False),
    ("I don't know", "5", False),
    ("10^{10^{10}}", "5", False),
]


def test_enough_pairs():
    assert len(PAIRS) >= 60


@pytest.mark.parametrize(("answer", "reference", "expected"), PAIRS)
def test_pairs(answer, reference, expected):
    assert is_equivalent(answer, reference) is expected


@pytest.mark.parametrize(
    ("text", "style", "expected"),
    [
        ("Natalia sold 48/2 = 24 clips.\n#### 72", "gsm8k", "72"),
        ("The total is 2,125 dollars.\n#### 2,125", "gsm8k", "2,125"),
        ("She has 5 apples and eats 2, so 3 remain.", "gsm8k", "3"),  # last-number fallback
        ("so \\boxed{\\frac{1}{2}} first, then \\boxed{3}", "math", "3"),
        ("the set is $\\boxed{\\{1, \\{2\\}\\}}$.", "math", "\\{1, \\{2\\}\\}"),
        ("Final Answer: The final answer is $[2,5)$. I hope it is correct.", "math", "$[2,5)$"),
        ("the answer is \\boxed 7.", "math", "7"),
        ("I think it is -4.5 or so", "math", "-4.5"),
        ("no numbers here", "auto", None),
        ("", "auto", None),
    ],
)
def test_extract_answer(text, style, expected):
    assert extract_answer(text, style) == expected


def test_extract_without_fallback():
    assert extract_answer("it is 5", "math", fallback=False) is None


def test_normalised_answers_vote_together():
    assert normalise_answer("\\frac{1}{2}") == normalise_answer("0.5") == normalise_answer("1/2")
    assert normalise_answer("1,000") == normalise_answer("1000.0") == "1000"
    assert normalise_answer(None) == ""
    answer, count = majority_vote(["0.5", "\\frac12", "3", "$\\frac{1}{2}$", "3", None, "7"])
    assert (answer, count) == ("1/2", 3)
    assert majority_vote([None, ""]) == ("", 0)
    assert majority_vote(["4", "5"]) == ("4", 1)  # a tie goes to the answer seen first


def test_verdicts_unparseable_is_a_verdict():
    passed = grade_answer("... so the answer is \\boxed{\\dfrac{1}{2}}.", "0.5", "math", "lenient")
    assert passed.status == "passed" and passed.normalised == "1/2"
    wrong = grade_answer("#### 17", "18", "gsm8k", "lenient")
    assert (wrong.status, wrong.error_type) == ("failed", "wrong_answer")
    none = grade_answer("I cannot solve this.", "18", "gsm8k", "lenient")
    assert (none.status, none.error_type) == ("failed", "no_answer")
    odd = grade_answer("\\boxed{\\frac{\\frac{}{}}{}}}}", "\\frac{1}{2}", "math", "lenient")
    assert odd.status == "failed" and odd.error_type in ("unparseable", "wrong_answer")
    huge = grade_answer("\\boxed{10^{10^{10^{10}}}}", "5", "math", "lenient")
    assert (huge.status, huge.error_type) == ("failed", "unparseable")


def test_grade_math_frame():
    problems = pd.DataFrame(
        {
            "problem_id": ["GSM8K/0", "test/algebra/1.json"],
            "answer": ["18", "\\frac{14}{3}"],
            "metadata": [json.dumps({"style": "gsm8k"}), json.dumps({"style": "math"})],
        }
    )
    samples = pd.DataFrame(
        {
            "model": "m",
            "dataset": "d",
            "problem_id": ["GSM8K/0", "GSM8K/0", "test/algebra/1.json", "test/algebra/1.json"],
            "sample_index": [0, 1, 0, 1],
            "completion": ["9 * 2 = 18\n#### 18", "#### 16", "so $\\boxed{\\dfrac{14}{3}}$", "hmm"],
        }
    )
    verdicts = grade_math(problems, samples, rule="lenient")
    assert list(verdicts["passed"]) == [True, False, True, False]
    assert list(verdicts["error_type"]) == ["", "wrong_answer", "", "no_answer"]
    assert list(verdicts["normalised_answer"]) == ["18", "16", "14/3", ""]
    with pytest.raises(ValueError, match="not in the dataset"):
        grade_math(problems.head(1), samples, rule="lenient")


def test_lenient_is_more_lenient_than_the_paper():
    """Today's GSM8K leniencies, kept under `lenient` and refused under `paper`."""
    apples = "She packs 7 boxes and 42 apples in all."
    assert grade_answer(apples, "42", "gsm8k", "lenient").status == "passed"  # last number
    paper = grade_answer(apples, "42", "gsm8k", "paper")
    assert (paper.status, paper.error_type) == ("failed", "no_answer")
    last = "#### 17\nQuestion: next one\n#### 42"  # the model goes on with a new question
    assert grade_answer(last, "42", "gsm8k", "lenient").status == "passed"  # last ####
    assert grade_answer(last, "42", "gsm8k", "paper").status == "failed"  # first ####
    assert grade_answer(last, "42", "gsm8k").status == "failed"  # paper is the default
