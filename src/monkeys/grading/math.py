"""Final-answer grading for math datasets (GSM8K, MATH): extract, normalise, compare.

Two rules (a dataset's `grading` config key): ``paper`` (the default) is the Large Language
Monkeys authors' rule, reproduced exactly in `monkeys.grading.math_paper` (GSM8K: the first
``#### N``, ``,`` ``$`` and a trailing ``.`` dropped, equal strings or SymPy-equal numbers;
MATH: Minerva's "The final answer is" extraction, normalisation and SymPy equivalence).
``lenient`` is this module's own rule, described below, which accepts more.

Lenient:

- `extract_answer`: GSM8K's ``#### <answer>`` line, MATH's last ``\\boxed{...}`` (or
  ``\\fbox``), Minerva's "The final answer is X", then (unless disabled) the last number in
  the text.
- `normalise_answer`: a canonical text, used for string equality and majority vote:
  the MATH normaliser of Hendrycks et al. (strip ``$``, ``\\left``/``\\right``, ``\\text{units}``,
  ``^\\circ``, ``\\%``, spaces; ``\\dfrac``/``\\tfrac`` -> ``\\frac``; ``\\frac12`` ->
  ``\\frac{1}{2}``; ``x = 5`` -> ``5``), plus thousands separators, unicode minus, trailing
  periods and unit words after a number. A plain number (integer, decimal, fraction
  ``a/b`` or ``\\frac{a}{b}``, with sign) becomes its exact reduced value (``0.5`` and
  ``\\frac{1}{2}`` are both ``1/2``), so equal numbers vote together.
- `is_equivalent`: equal normalised texts, or equal exact numbers, or equivalence by
  `math-verify` (Hugging Face; LaTeX and expressions parsed to SymPy, sets, intervals,
  tuples, equations), with a timeout; any failure of the symbolic check counts as "not shown
  equivalent", never as an exception.

Conventions (those of the MATH benchmark): a percent sign is dropped (``50\\%`` equals
``50``, not ``0.5``); units are dropped; decimals and fractions are equal only when exactly
equal (``0.33`` is not ``1/3``).

`grade_answer` and `grade_math` turn samples into verdicts under either rule: `passed`, or
`failed` with error_type `wrong_answer`, `no_answer` (nothing could be extracted: under
``paper`` a GSM8K completion without ``#### N`` or a MATH one without "The final answer is")
or `unparseable` (lenient only: something was extracted, but neither it nor the reference
could be read as math, and the texts differ). The verdict's normalised answer, which majority
vote counts, is the rule's own: under ``paper`` the authors' normalised string (so ``18.00``
and ``18`` vote apart although both are correct).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd

from monkeys.grading import math_paper
from monkeys.grading.math_answers import (  # noqa: F401 - part of this module's API
    NUMBER,
    extract_answer,
    last_boxed,
    last_number,
)
from monkeys.grading.math_paper import PaperGradingError

GRADING_RULES = ("paper", "lenient")  # a dataset's `grading`; "paper" is the default
MAX_ANSWER_CHARS = 500  # longer extracted answers are compared as text only
SYMBOLIC_TIMEOUT_S = 3

# --- normalisation -----------------------------------------------------------------------------


def _fix_fracs(text: str) -> str:
    r"""\frac12 -> \frac{1}{2}, \frac1{2} -> \frac{1}{2} (Hendrycks's _fix_fracs)."""
    parts = text.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if part.startswith("{") or len(part) < 2:
            out += part
            continue
        a, b, rest = part[0], part[1], part[2:]
        if b == "{":
            out += "{" + a + "}" + b + rest
        else:
            out += "{" + a + "}{" + b + "}" + rest
    return out


def _strip_units(text: str) -> str:
    r"""Remove \text{...}/\mbox{...} units after something else, and unit words after a number."""
    stripped = re.sub(r"\\(?:text|mbox|textbf|mathrm)\s*\{\s*[^{}]*\}\s*$", "", text).strip()
    if stripped and stripped != text:
        text = stripped
    match = re.match(rf"^({NUMBER})\s*([A-Za-z][A-Za-z .]*)$", text)
    if match and len(match.group(2).strip(". ")) >= 2:
        return match.group(1)
    return text


def _unwrap_text(text: str) -> str:
    r"""\text{Tuesday} -> Tuesday (when the whole answer is text)."""
    match = re.fullmatch(r"\\(?:text|mbox|textbf|mathrm)\s*\{([^{}]*)\}", text)
    return match.group(1).strip() if match else text


def _basic(text: str) -> str:
    text = text.strip().replace("−", "-").replace("\n", " ")
    for _ in range(2):
        text = text.strip()
        if text.startswith("$") and text.endswith("$"):
            text = text.strip("$")
        for left, right in (("\\(", "\\)"), ("\\[", "\\]")):
            if text.startswith(left) and text.endswith(right):
                text = text[len(left) : -len(right)]
        if text.startswith("\\boxed"):
            inner = last_boxed(text)
            if inner is not None:
                text = inner
    text = text.rstrip(".").strip()
    text = re.sub(r"\\[!,;:]|\\quad|\\qquad", " ", text)
    text = text.replace("\\\\", "\\")
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    text = text.replace("\\left", "").replace("\\right", "")
    text = re.sub(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°", "", text)
    text = text.replace("\\$", "").replace("$", "")
    text = text.replace("\\%", "").replace("%", "")
    text = _strip_units(text.strip())
    text = _unwrap_text(text)
    return text.strip()


def _drop_lhs(text: str) -> str:
    """'x = 5' -> '5' (a short variable on the left, as the MATH normaliser does)."""
    parts = text.split("=")
    if len(parts) == 2 and len(parts[0].strip()) <= 2 and parts[1].strip():
        return parts[1].strip()
    return text


def _to_fraction(text: str) -> Fraction | None:
    """An exact value for a plain number: int, decimal, a/b, \\frac{a}{b}, with sign."""
    text = text.replace(" ", "")
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", text):
        text = text.replace(",", "")
    match = re.fullmatch(r"(-?)\\frac\{(-?\d+(?:\.\d+)?)\}\{(-?\d+(?:\.\d+)?)\}", text)
    if match:
        sign, num, den = match.groups()
        text = f"{sign}{num}/{den}"
    match = re.fullmatch(r"(-?\d+(?:\.\d+)?)/(-?\d+(?:\.\d+)?)", text)
    try:
        if match:
            den = Fraction(match.group(2))
            return None if den == 0 else Fraction(match.group(1)) / den
        if re.fullmatch(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,3})?", text):
            return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return None


def _fraction_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def normalise_answer(text: str | None) -> str:
    """The canonical text of an answer (see the module docstring); "" for no answer."""
    if text is None:
        return ""
    text = _basic(str(text))
    text = _drop_lhs(text)
    text = _fix_fracs(text.replace(" ", ""))
    value = _to_fraction(text)
    if value is not None:
        return _fraction_text(value)
    return text


# --- equivalence -------------------------------------------------------------------------------


def _symbolic_safe(text: str) -> bool:
    """Refuse inputs that could make SymPy compute huge numbers (10^{10^{10}}, 99999!)."""
    if len(text) > MAX_ANSWER_CHARS:
        return False
    if re.search(r"\^\s*\{?\s*\(?\s*-?\d{4,}", text) or re.search(r"\^\s*\{[^{}]*\^", text):
        return False
    if re.search(r"\d{4,}\s*!", text) or text.count("^") > 8:
        return False
    return True


def _mv_parse(text: str) -> list:
    from math_verify import parse

    timeout = SYMBOLIC_TIMEOUT_S if threading.current_thread() is threading.main_thread() else None
    wrapped = text if "$" in text or "\\boxed" in text else f"${text}$"
    try:
        return parse(wrapped, parsing_timeout=timeout)
    except Exception:  # noqa: BLE001 - unparseable is an outcome, not an error
        return []


def _mv_verify(gold: list, pred: list) -> bool:
    from math_verify import verify

    timeout = SYMBOLIC_TIMEOUT_S if threading.current_thread() is threading.main_thread() else None
    try:
        return bool(verify(gold, pred, timeout_seconds=timeout))
    except Exception:  # noqa: BLE001
        return False


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing one answer with a reference."""

    equivalent: bool
    parsed: bool  # whether both sides could be read as math (numbers or SymPy)
    how: str  # "text", "number", "symbolic" or "" when not equivalent


def compare_answers(answer: str, reference: str) -> Comparison:
    """Compare an extracted answer with the reference answer (see the module docstring)."""
    norm_a, norm_r = normalise_answer(answer), normalise_answer(reference)
    if not norm_a:
        return Comparison(False, False, "")
    if norm_a == norm_r:
        return Comparison(True, True, "text")
    value_a, value_r = _to_fraction(norm_a), _to_fraction(norm_r)
    if value_a is not None and value_r is not None:
        return Comparison(value_a == value_r, True, "number" if value_a == value_r else "")
    if not (_symbolic_safe(answer) and _symbolic_safe(reference)):
        return Comparison(False, False, "")
    gold = _mv_parse(_basic(reference)) or _mv_parse(reference)
    pred = _mv_parse(_basic(answer)) or _mv_parse(answer)
    if not gold or not pred:
        return Comparison(False, False, "")
    ok = _mv_verify(gold, pred)
    return Comparison(ok, True, "symbolic" if ok else "")


def is_equivalent(answer: str | None, reference: str) -> bool:
    """Whether an answer equals the reference answer (never raises)."""
    if answer is None:
        return False
    try:
        return compare_answers(answer, reference).equivalent
    except Exception:  # noqa: BLE001 - a grader must not crash on odd text
        return False


def majority_vote(answers: Iterable[str | None]) -> tuple[str, int]:
    """The most common normalised answer and its count ("" and 0 when there is none).

    Ties go to the answer seen first.
    """
    keys = [normalise_answer(a) for a in answers if a is not None]
    counts = Counter(k for k in keys if k)
    if not counts:
        return "", 0
    best = max(counts.values())
    for key in keys:
        if counts.get(key) == best:
            return key, best
    raise AssertionError("unreachable")  # pragma: no cover


# --- grading samples -------------------------------------------------------------------------


@dataclass(frozen=True)
class MathVerdict:
    """One sample's verdict, in the terms of monkeys.tables.verdicts.VERDICTS."""

    status: str  # "passed" or "failed"
    error_type: str  # "", "wrong_answer", "no_answer" or "unparseable"
    detail: str
    extracted: str
    normalised: str


def lenient_reference(reference: str, style: str = "auto") -> str:
    """The final answer of a reference that is a full solution (GSM8K ``... #### 72``, MATH
    ``... \\boxed{..}``, as in the release's `gt_answer`); a bare answer is returned as is."""
    if not isinstance(reference, str):
        return reference
    marker = "####" in reference and style in ("gsm8k", "auto")
    boxed = ("\\boxed" in reference or "\\fbox" in reference) and style in ("math", "auto")
    if marker or boxed:
        found = extract_answer(reference, "gsm8k" if marker else "math", fallback=False)
        if found:
            return found
    return reference


def _lenient_verdict(completion: str, reference: str, style: str) -> MathVerdict:
    reference = lenient_reference(reference, style)
    extracted = extract_answer(completion, style)
    if extracted is None:
        return MathVerdict("failed", "no_answer", "no final answer found", "", "")
    normalised = normalise_answer(extracted)
    try:
        result = compare_answers(extracted, reference)
    except Exception as exc:  # noqa: BLE001 - unparseable is a verdict, not an exception
        result = Comparison(False, False, f"comparison failed: {type(exc).__name__}")
    detail = json.dumps(
        {
            "extracted": extracted[:200],
            "normalised": normalised[:200],
            "reference": reference[:200],
            "how": result.how,
        }
    )
    if result.equivalent:
        return MathVerdict("passed", "", detail, extracted, normalised)
    readable = result.parsed or _to_fraction(normalised) is not None
    kind = "wrong_answer" if readable else "unparseable"
    return MathVerdict("failed", kind, detail, extracted, normalised)


def _paper_verdict(completion: str, reference: str, style: str) -> MathVerdict:
    judge = {"gsm8k": math_paper.judge_gsm8k, "math": math_paper.judge_math}.get(style)
    if judge is None:
        raise PaperGradingError(
            f"grading 'paper' follows one dataset's rule: style must be 'gsm8k' or 'math', not "
            f"{style!r} (set the dataset's `grading: lenient` to grade without one)"
        )
    judged = judge(completion if isinstance(completion, str) else "", reference)
    if judged.extracted is None or not judged.normalised:
        found = "no '#### <number>'" if style == "gsm8k" else "no 'The final answer is ...'"
        detail = json.dumps(
            {
                "rule": "paper",
                "extracted": (judged.extracted or "")[:200],
                "reference": judged.reference[:200],
                "why": found,
            }
        )
        return MathVerdict("failed", "no_answer", detail, judged.extracted or "", "")
    detail = json.dumps(
        {
            "rule": "paper",
            "extracted": judged.extracted[:200],
            "normalised": judged.normalised[:200],
            "reference": judged.reference[:200],
            "how": judged.how,
        }
    )
    status, kind = ("passed", "") if judged.correct else ("failed", "wrong_answer")
    return MathVerdict(status, kind, detail, judged.extracted, judged.normalised)


def grade_answer(completion: str, reference: str, style: str = "auto", rule: str = "paper") -> MathVerdict:
    """Extract the answer from a completion and judge it against the reference answer.

    `rule` "paper": the Large Language Monkeys authors' rule for `style` "gsm8k" or "math"
    (`monkeys.grading.math_paper`); the reference may be the dataset's full solution (as the
    release's `gt_answer`) or the bare final answer. "lenient": this module's rule, for any
    style.
    """
    if rule == "lenient":
        return _lenient_verdict(completion, reference, style)
    if rule == "paper":
        return _paper_verdict(completion, reference, style)
    raise PaperGradingError(f"unknown grading rule {rule!r}; use one of {GRADING_RULES}")


def paper_reference(problem: Mapping[str, object], style: str) -> str:
    """What the paper's rule grades against: the dataset's solution where it states the final
    answer as the authors read it (GSM8K ``#### N``, MATH ``\\boxed{}``), else `answer`."""
    solution = problem.get("canonical_solution")
    marker = {"gsm8k": "####", "math": "\\boxed"}.get(style)
    if isinstance(solution, str) and marker and marker in solution:
        return solution
    return str(problem.get("answer") or "")


def grade_math(problems: pd.DataFrame, samples: pd.DataFrame, rule: str = "paper") -> pd.DataFrame:
    """Verdicts (monkeys.tables.verdicts.VERDICTS columns, plus `extracted_answer` and
    `normalised_answer` for majority vote) for every sample, in sample order, by `rule`."""
    if rule not in GRADING_RULES:
        raise PaperGradingError(f"unknown grading rule {rule!r}; use one of {GRADING_RULES}")
    by_id = problems.set_index("problem_id")
    missing = sorted(set(samples["problem_id"]) - set(by_id.index))
    if missing:
        raise ValueError(f"samples refer to problems not in the dataset: {missing[:5]}")
    styles = {
        pid: json.loads(meta or "{}").get("style", "auto")
        for pid, meta in zip(by_id.index, by_id["metadata"], strict=True)
    }
    references = {pid: by_id.at[pid, "answer"] for pid in by_id.index}
    if rule == "paper":
        references = {pid: paper_reference(by_id.loc[pid], styles[pid]) for pid in by_id.index}
        if len(samples):
            math_paper.latex_parser()  # fail now, with how to fix it, if it cannot run
    rows = []
    for pid, completion in zip(samples["problem_id"], samples["completion"], strict=True):
        started = time.perf_counter()
        verdict = grade_answer(completion, references[pid], styles[pid], rule)
        rows.append((verdict, time.perf_counter() - started))
    verdicts = samples[["model", "dataset", "problem_id", "sample_index"]].reset_index(drop=True)
    verdicts["status"] = [v.status for v, _ in rows]
    verdicts["error_type"] = [v.error_type for v, _ in rows]
    verdicts["detail"] = [v.detail for v, _ in rows]
    verdicts["runtime_s"] = [t for _, t in rows]
    verdicts["passed"] = verdicts["status"] == "passed"
    verdicts["extracted_answer"] = [v.extracted for v, _ in rows]
    verdicts["normalised_answer"] = [v.normalised for v, _ in rows]
    return verdicts


def grade_shard(
    problems: pd.DataFrame,
    samples: pd.DataFrame,
    *,
    execution: Mapping[str, Any],
    grading: str = "paper",
    time_limits_path: str | Path | None = None,
) -> pd.DataFrame:
    """The math grader (monkeys.grading.graders): answers compared by the dataset's `grading`
    rule; nothing is executed."""
    return grade_math(problems, samples, rule=grading)
