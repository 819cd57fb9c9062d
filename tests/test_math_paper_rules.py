r"""`grading: paper`: the Large Language Monkeys authors' GSM8K and MATH rules, exactly.

The release-format fixtures (tests/fixtures/release_grading/) carry `is_corrects` computed by
the authors' own `is_correct` (llmonk/evaluate/math_datasets.py at ed2bdb0 with
lm-evaluation-harness 8b41f92's minerva_math utils and antlr4 4.11), so agreeing with them is
agreeing with the paper; the `lenient` rule's known disagreements are listed sample by sample.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest
import sympy
from conftest import job_counts, snakemake

from monkeys.config import ConfigError, validate_config
from monkeys.grading import math_paper
from monkeys.grading.math import grade_answer, grade_math
from monkeys.grading.math_paper import (
    PaperGradingError,
    gsm8k_extract,
    gsm8k_normalise,
    minerva_equivalent,
    minerva_normalise,
    sympy_equivalent,
)

FIXTURES = Path(__file__).parent / "fixtures"
RELEASE = FIXTURES / "release_grading"


def _verdict(completion, reference, style, rule="paper"):
    verdict = grade_answer(completion, reference, style, rule)
    return verdict.status, verdict.error_type, verdict.normalised


# --- GSM8K ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("completion", "paper", "lenient"),
    [
        ("9 * 2 = 18\n#### 18", ("passed", "", "18"), ("passed", "", "18")),
        # the first #### counts (a model that goes on with a new question)
        (
            "#### 18\n\nQuestion: What is 2 + 3?\nAnswer: 5\n#### 5",
            ("passed", "", "18"),
            ("failed", "wrong_answer", "5"),
        ),
        (
            "#### 5\n\nQuestion: Janet has 9 eggs at $2.\nAnswer: 9 * 2 = 18\n#### 18",
            ("failed", "wrong_answer", "5"),
            ("passed", "", "18"),
        ),
        # no `#### N`: no answer (lenient falls back to the last number)
        ("She packs 7 boxes and 42 apples in all, so 18.", ("failed", "no_answer", ""), ("passed", "", "18")),
        ("9 * 2 = 18\n####18", ("failed", "no_answer", ""), ("passed", "", "18")),
        ("#### $", ("failed", "no_answer", ""), ("failed", "unparseable", "")),
        # numbers SymPy finds equal are correct (since the authors' commit a72c9d2); they vote apart
        ("#### 18.00", ("passed", "", "18.00"), ("passed", "", "18")),
        ("#### $18.", ("passed", "", "18"), ("passed", "", "18")),
        ("#### 18 dollars", ("passed", "", "18"), ("passed", "", "18")),
        ("#### 018", ("failed", "wrong_answer", "018"), ("passed", "", "18")),  # SymPy cannot parse 018
        ("#### 18.5", ("failed", "wrong_answer", "18.5"), ("failed", "wrong_answer", "37/2")),
        ("#### -18", ("failed", "wrong_answer", "-18"), ("failed", "wrong_answer", "-18")),
    ],
)
def test_gsm8k_rules(completion, paper, lenient):
    assert _verdict(completion, "18", "gsm8k") == paper
    assert _verdict(completion, "18", "gsm8k", "lenient") == lenient


def test_gsm8k_normalisation_and_references():
    assert gsm8k_extract("a #### $1,000. b #### 7") == "$1,000."
    assert gsm8k_normalise("$1,000.") == "1000" and gsm8k_normalise("18..") == "18."
    assert _verdict("#### $1,000.", "1000", "gsm8k")[:2] == ("passed", "")
    assert _verdict("#### $1,000.", "1000", "gsm8k", "lenient")[:2] == ("passed", "")
    solution = "He makes 2,000 - 875 = 1,125 blocks.\n#### 1,125"  # a full solution as reference
    assert _verdict("#### 1125", solution, "gsm8k")[:2] == ("passed", "")
    assert _verdict("#### 2000", solution, "gsm8k")[:2] == ("failed", "wrong_answer")
    with pytest.raises(PaperGradingError, match="no '#### <number>'"):
        grade_answer("#### 5", "five", "gsm8k")


# --- MATH ----------------------------------------------------------------------------------------

FINAL = "Final Answer: The final answer is {}. I hope it is correct."


@pytest.mark.parametrize(
    ("completion", "reference", "paper", "lenient"),
    [
        # a \boxed{} alone is not the Minerva format the authors read
        ("so $\\boxed{\\frac12}$.", "\\frac{1}{2}", ("failed", "no_answer", ""), ("passed", "", "1/2")),
        (FINAL.format("$\\frac12$"), "\\frac{1}{2}", ("passed", "", "\\frac{1}{2}"), ("passed", "", "1/2")),
        # 0.5 and \frac12: SymPy-equal under the paper, equal numbers under lenient
        (FINAL.format("$0.5$"), "\\frac12", ("passed", "", "0.5"), ("passed", "", "1/2")),
        (
            FINAL.format("$0.33$"),
            "\\frac13",
            ("failed", "wrong_answer", "0.33"),
            ("failed", "wrong_answer", "33/100"),
        ),
        (
            FINAL.format("$\\frac{\\sqrt{2}}{2}$"),
            "\\frac{1}{\\sqrt2}",
            ("passed", "", "\\frac{\\sqrt{2}}{2}"),
            ("passed", "", "\\frac{\\sqrt{2}}{2}"),
        ),
        # text answers: compared as normalised strings
        (
            FINAL.format("$\\text{Evelyn}$"),
            "\\text{Evelyn}",
            ("passed", "", "Evelyn"),
            ("passed", "", "Evelyn"),
        ),
        (FINAL.format("Evelyn"), "\\text{Evelyn}", ("passed", "", "Evelyn"), ("passed", "", "Evelyn")),
        (
            FINAL.format("$\\text{Bob}$"),
            "\\text{Evelyn}",
            ("failed", "wrong_answer", "Bob"),
            ("failed", "wrong_answer", "Bob"),
        ),
        # tuples SymPy cannot parse must match as strings (\left( is not dropped)
        (
            FINAL.format("$(3,\\frac{\\pi}{2})$"),
            "\\left( 3, \\frac{\\pi}{2} \\right)",
            ("failed", "wrong_answer", "(3,\\frac{\\pi}{2})"),
            ("passed", "", "(3,\\frac{\\pi}{2})"),
        ),
        (FINAL.format("$x = 9$"), "9", ("passed", "", "9"), ("passed", "", "9")),
        ("I think it is 9.", "9", ("failed", "no_answer", ""), ("passed", "", "9")),
    ],
)
def test_math_rules(completion, reference, paper, lenient):
    assert _verdict(completion, reference, "math") == paper
    assert _verdict(completion, reference, "math", "lenient") == lenient


def test_minerva_normalisation():
    assert minerva_normalise(" $x = \\frac12$") == "\\frac{1}{2}"
    assert minerva_normalise("\\text{(C)}") == "(C)"
    assert minerva_normalise("1,000,000") == "1000000"
    assert minerva_normalise("10 \\text{ inches}") == "10"
    assert minerva_normalise("30^\\circ") == "30"
    assert minerva_normalise("\\sqrt3") == "\\sqrt{3}"
    # the reference is the solution's last \boxed{}, read as the authors read it
    assert math_paper.minerva_reference("so $\\boxed{2}$ then $\\boxed{\\frac{14}{3}}$") == "\\frac{14}{3}"
    assert math_paper.minerva_reference("hence \\boxed 5$ apples") == "5"
    assert math_paper.minerva_reference("\\dfrac{3}{4}") == "\\dfrac{3}{4}"  # a bare answer


def test_minerva_extraction_needs_one_line():
    assert math_paper.minerva_extract(FINAL.format("$5$")) == "$5$"
    # cut off before "I hope it is correct.": read only after ". "
    assert math_paper.minerva_extract("Final Answer: The final answer is $5$. ") == "$5$"
    assert math_paper.minerva_extract("Final Answer: The final answer is $5$") is None
    assert math_paper.minerva_extract("Final Answer: The final answer is\n$5$. I hope it is correct.") is None


# --- Minerva equivalence --------------------------------------------------------------------------

INTEGERS = ["0", "-0", "18", "-18", "7", "100000000000000000000001", "100000000000000000000000"]


def test_integer_shortcut_matches_sympy():
    """The integer fast path gives SymPy's own answer on every pair (brute force)."""
    pairs = [(a, b) for a in INTEGERS for b in INTEGERS]
    truth = {pair: sympy_equivalent(*pair) for pair in pairs}
    assert [pair for pair in pairs if minerva_equivalent(*pair) != truth[pair]] == []
    # negative control: plain string comparison would be wrong here, so the test can fail
    assert [pair for pair in pairs if (pair[0] == pair[1]) != truth[pair]] == [("0", "-0"), ("-0", "0")]


def test_equivalence_failures_are_false():
    assert sympy_equivalent("18.00", "18") and sympy_equivalent("0.5", "\\frac{1}{2}")
    assert not sympy_equivalent("018", "18")  # unparseable: not equivalent
    assert not sympy_equivalent("(2,4)", "(2,4)")  # tuples never parse (only strings match)
    assert not minerva_equivalent("10^{10^{10}}", "5")  # never built


def test_missing_parser_says_how_to_fix(monkeypatch):
    import sympy.parsing.latex as latex

    def broken(text, *args, **kwargs):
        raise ImportError("LaTeX parsing requires the antlr4 Python package ... version 4.11")

    monkeypatch.setattr(latex, "parse_latex", broken)
    with pytest.raises(PaperGradingError, match="grading: lenient"):
        math_paper.latex_parser()


# --- release-format files, graded both ways -------------------------------------------------------

# (problem index, sample index) where `lenient` disagrees with the release's is_corrects
LENIENT_DISAGREES = {
    # first vs last ####, no #### (last number), ####18, 018
    "GSM8K": {(0, 1), (0, 2), (0, 3), (0, 5), (0, 8), (1, 1), (1, 3), (2, 3)},
    # (3,\frac{\pi}{2}) vs \left(...\right), \boxed{} alone (x4), 4\frac{2}{3} (a mixed
    # number to math-verify, 4 * 2/3 to SymPy), "9 divisors", the last number
    "MATH": {(0, 1), (0, 2), (1, 3), (2, 2), (2, 3), (3, 1), (3, 4), (4, 3)},
}


def _release(name: str) -> list[dict]:
    return json.loads((RELEASE / f"{name}_grading.json").read_text())


@pytest.mark.parametrize(("name", "style", "samples"), [("GSM8K", "gsm8k", 23), ("MATH", "math", 23)])
def test_release_is_corrects_reproduced(name, style, samples):
    records = _release(name)
    assert sum(len(r["samples"]) for r in records) == samples
    paper, lenient = set(), set()
    for p, record in enumerate(records):
        for s, (completion, label) in enumerate(zip(record["samples"], record["is_corrects"], strict=True)):
            if (grade_answer(completion, record["gt_answer"], style).status == "passed") != label:
                paper.add((p, s))
            if (grade_answer(completion, record["gt_answer"], style, "lenient").status == "passed") != label:
                lenient.add((p, s))
    assert paper == set()
    assert lenient == LENIENT_DISAGREES[name]


def test_grade_math_frame_paper_uses_the_solution():
    problems = pd.DataFrame(
        {
            "problem_id": ["GSM8K/0", "test/algebra/1.json"],
            "answer": ["18", "\\frac{14}{3}"],
            "canonical_solution": ["9 * 2 = 18\n#### 18", "so $\\boxed{\\dfrac{14}{3}}$"],
            "metadata": [json.dumps({"style": "gsm8k"}), json.dumps({"style": "math"})],
        }
    )
    samples = pd.DataFrame(
        {
            "model": "m",
            "dataset": "d",
            "problem_id": ["GSM8K/0"] * 3 + ["test/algebra/1.json"] * 2,
            "sample_index": [0, 1, 2, 0, 1],
            "completion": [
                "#### 18",
                "#### 18.00",
                "so 18",
                FINAL.format("$\\frac{14}{3}$"),
                "so $\\boxed{\\frac{14}{3}}$",
            ],
        }
    )
    verdicts = grade_math(problems, samples)  # paper is the default
    assert list(verdicts["passed"]) == [True, True, False, True, False]
    assert list(verdicts["error_type"]) == ["", "", "no_answer", "", "no_answer"]
    assert list(verdicts["normalised_answer"]) == ["18", "18.00", "", "\\frac{14}{3}", ""]
    # the reference is the solution's \dfrac, which Minerva's normalisation keeps: SymPy-equal
    detail = json.loads(verdicts["detail"][3])
    assert (detail["reference"], detail["how"]) == ("\\dfrac{14}{3}", "sympy")
    lenient = grade_math(problems, samples, rule="lenient")
    assert list(lenient["passed"]) == [True, True, True, True, True]
    with pytest.raises(PaperGradingError, match="unknown grading rule"):
        grade_math(problems, samples, rule="strict")
    problems["metadata"] = json.dumps({})
    with pytest.raises(PaperGradingError, match="style must be 'gsm8k' or 'math'"):
        grade_math(problems, samples)


# --- configuration and workflow -----------------------------------------------------------------


def test_config_grading_key(default_config):
    config = copy.deepcopy(default_config)
    config["datasets"]["gsm8k"] = {"grading": "lenient"}
    filled = validate_config(config)
    assert filled["datasets"]["gsm8k"]["grading"] == "lenient"
    assert filled["datasets"]["humaneval"]["grading"] == "paper"  # the default
    config["datasets"]["gsm8k"] = {"grading": "strict"}
    with pytest.raises(ConfigError, match="grading"):
        validate_config(config)


@pytest.mark.e2e
def test_grading_change_reruns_only_math_execution(tmp_path, default_config):
    """Samples of a math and a code dataset; a new `grading` re-grades only the math ones."""
    rows = [
        {"problem_id": pid, "completion": text}
        for pid in ("HumanEval/53", "GSM8K/0")
        for text in (
            ["    return x + y\n", "    return x - y\n"]
            if pid.startswith("Human")
            else ["She makes 18 dollars.", "#### 18"]
        )
    ]
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = copy.deepcopy(default_config)
    config["models"] = {"mixed": {"backend": "import", "import": {"path": str(samples)}}}
    config["datasets"] = {
        "humaneval": {"problems": ["HumanEval/53"]},
        "gsm8k": {"source": {"path": str(FIXTURES / "datasets" / "gsm8k.jsonl")}, "problems": ["GSM8K/0"]},
    }
    config["sampling"].update(num_samples=2, samples_per_shard=2)
    targets = ["results/verdicts/mixed/humaneval/0-2.parquet", "results/verdicts/mixed/gsm8k/0-2.parquet"]
    result = snakemake(tmp_path, config, "--cores", "1", *targets)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    paper = pd.read_parquet(tmp_path / targets[1])
    assert list(paper["passed"]) == [False, True]

    def plan(changed):
        dry = snakemake(tmp_path, changed, "--cores", "1", "--dry-run", *targets)
        assert dry.returncode == 0, dry.stderr[-3000:]
        return {} if "Nothing to be done" in dry.stdout + dry.stderr else job_counts(dry.stdout)

    code = copy.deepcopy(config)
    code["datasets"]["humaneval"]["grading"] = "lenient"
    assert plan(code) == {}
    lenient = copy.deepcopy(config)
    lenient["datasets"]["gsm8k"]["grading"] = "lenient"
    assert plan(lenient) == {"execute_shard": 1}
    result = snakemake(tmp_path, lenient, "--cores", "1", *targets)
    assert result.returncode == 0, result.stderr[-3000:]
    assert list(pd.read_parquet(tmp_path / targets[1])["passed"]) == [True, True]


def test_sympy_is_the_parser_the_authors_used():
    """SymPy's ANTLR LaTeX parser is importable here (antlr4-python3-runtime 4.11)."""
    assert sympy.simplify(math_paper.latex_parser()("\\frac{1}{2}") - sympy.Rational(1, 2)) == 0
