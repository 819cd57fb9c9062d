r"""The Large Language Monkeys authors' math grading rule, reproduced exactly (`grading: paper`).

Source: ScalingIntelligence/large_language_monkeys, ``llmonk/evaluate/math_datasets.py`` at
commit a72c9d2 (2024-09-04, unchanged at ed2bdb0, the repository's last commit); its test
``llmonk/tests/math_datasets.py`` checks it against the `is_corrects` of the released samples
(ScalingIntelligence/monkey_business). It takes Minerva's answer extraction, normalisation
and equivalence from lm-evaluation-harness's ``minerva_math`` task
(``lm_eval/tasks/minerva_math/utils.py`` at commit 8b41f92, pinned in its requirements with
``antlr4-python3-runtime==4.11``), which implement appendix D and section D.1 of Lewkowycz
et al. 2022 (Minerva). This module is our own code with the same behaviour.

GSM8K (`judge_gsm8k`):

- the answer is the FIRST match of ``#### (-?[$0-9.,]+)`` (one space after ``####``); a
  completion without one has no answer (the authors' ``[invalid]``);
- every ``,`` and ``$`` is removed, then one trailing ``.``: ``$1,000.`` is ``1000``;
- the reference is read the same way from the dataset's solution (``... #### 72``), or from
  a bare final answer;
- correct when the two strings are equal or Minerva-equivalent (below): since a72c9d2,
  ``18.00`` equals ``18``; ``018`` does not (SymPy cannot parse it); ``18.5`` is not ``18``.

MATH (`judge_math`):

- the answer is what follows "Final Answer: The final answer is" up to ". I hope it is
  correct." on the same line (the end may be cut off); a ``\boxed{}`` alone is not read;
- it is normalised by Minerva's `minerva_normalise` (e.g. ``x = \frac12`` becomes
  ``\frac{1}{2}``, ``\text{Evelyn}`` becomes ``Evelyn``, ``1,000`` becomes ``1000``);
- the reference is the last ``\boxed{}`` of the dataset's solution, normalised the same way;
- correct when the normalised strings are equal or Minerva-equivalent.

Minerva equivalence (`minerva_equivalent`): both strings parsed by SymPy's LaTeX parser
(``sympy.parsing.latex.parse_latex``, its ANTLR backend: antlr4-python3-runtime 4.11), and
``sympy.simplify`` of their difference is 0, within 5 s; a parse failure, any error or the
timeout means "not equivalent". So ``0.5`` equals ``\frac{1}{2}`` and ``\frac{\sqrt2}{2}``
equals ``\frac{1}{\sqrt2}``, while tuples, intervals and words are equal only as strings.
Where ours differs from the authors' code: the 5 s timeout applies only in the main thread
(SIGALRM), answers that would make SymPy build astronomically large numbers
(``10^{10^{10}}``) are not compared (the authors' run would hang on them), and a reference
in ``\fbox{}`` is read (theirs stops on an assertion).
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from monkeys.errors import MonkeysError

EQUIVALENCE_TIMEOUT_S = 5  # Minerva's timeout for sympy.simplify


class PaperGradingError(MonkeysError, ValueError):
    """The paper's grading rule cannot run (missing parser, unreadable reference)."""


@dataclass(frozen=True)
class Judgement:
    """One completion judged by the authors' rule."""

    extracted: str | None  # the answer as written; None when the completion states none
    normalised: str  # after the authors' normalisation ("" when there is no answer)
    reference: str  # the reference after the same normalisation
    correct: bool
    how: str  # "text" (equal strings), "sympy" (Minerva-equivalent) or "" (not correct)


# --- GSM8K ---------------------------------------------------------------------------------------

_GSM8K_ANSWER = re.compile(r"#### (-?[$0-9.,]+)")


def gsm8k_extract(text: str) -> str | None:
    """The text of the first ``#### N`` (N as the authors' pattern reads it), or None."""
    match = _GSM8K_ANSWER.search(text) if isinstance(text, str) else None
    return match.group(1).strip() if match else None


def gsm8k_normalise(answer: str) -> str:
    """The authors' clean-up: drop every ``,`` and ``$``, then one trailing ``.``."""
    answer = answer.replace(",", "").replace("$", "")
    return answer[:-1] if answer.endswith(".") else answer


def gsm8k_reference(solution: str) -> str:
    """The normalised reference: from the first ``#### N`` of a solution, or a bare answer."""
    found = gsm8k_extract(solution)
    if found is None:
        found = gsm8k_extract("#### " + str(solution).strip())
    if found is None:
        raise PaperGradingError(
            f"GSM8K reference {str(solution)[-80:]!r} has no '#### <number>' "
            "and is not a number; the paper's rule cannot grade against it"
        )
    return gsm8k_normalise(found)


def judge_gsm8k(completion: str, reference: str) -> Judgement:
    """A GSM8K completion judged by the authors' rule (see the module docstring)."""
    return _judge(gsm8k_extract(completion), gsm8k_normalise, gsm8k_reference(reference))


# --- MATH ----------------------------------------------------------------------------------------

_FINAL_ANSWER = re.compile(r"Final Answer: The final answer is(.*?). I hope it is correct.")
_END = "I hope it is correct."


def minerva_extract(text: str) -> str | None:
    """The text after "Final Answer: The final answer is" (Minerva's format), or None."""
    if not isinstance(text, str):
        return None
    match = _FINAL_ANSWER.search(text + _END)
    return match.group(1).strip() if match else None


# Minerva's normalisation, Lewkowycz et al. 2022, appendix D: literal replacements, then
# literal removals, in this order.
_REPLACEMENTS = (
    ("an ", ""),
    ("a ", ""),
    (".$", "$"),
    ("\\$", ""),
    ("\\ ", ""),
    (" ", ""),
    ("mbox", "text"),
    (",\\text{and}", ","),
    ("\\text{and}", ","),
    ("\\text{m}", "\\text{}"),
)
_REMOVALS = (
    "square",
    "ways",
    "integers",
    "dollars",
    "mph",
    "inches",
    "ft",
    "hours",
    "km",
    "units",
    "\\ldots",
    "sue",
    "points",
    "feet",
    "minutes",
    "digits",
    "cents",
    "degrees",
    "cm",
    "gm",
    "pounds",
    "meters",
    "meals",
    "edges",
    "students",
    "childrentickets",
    "multiples",
    "\\text{s}",
    "\\text{.}",
    "\\text{\ns}",
    "\\text{}^2",
    "\\text{}^3",
    "\\text{\n}",
    "\\text{}",
    "\\mathrm{th}",
    "^\\circ",
    "^{\\circ}",
    "\\;",
    ",\\!",
    "{,}",
    '"',
    "\\dots",
)
_REWRITES = (  # (pattern, replacement), applied with re.sub in this order
    (r"(.*?)(\$)(.*?)(\$)(.*)", r"$\3$"),  # keep the first $...$ math
    (r"(\\text\{)(.*?)(\})", r"\2"),
    (r"(\\textbf\{)(.*?)(\})", r"\2"),
    (r"(\\overline\{)(.*?)(\})", r"\2"),
    (r"(\\boxed\{)(.*)(\})", r"\2"),
    (r"(frac)([^{])(.)", r"frac{\2}{\3}"),  # \frac12 -> \frac{1}{2}
    (r"(sqrt)([^{])", r"sqrt{\2}"),  # \sqrt2 -> \sqrt{2}
)


def minerva_normalise(answer: str) -> str:
    """Minerva's `normalize_final_answer` (Lewkowycz et al. 2022, appendix D)."""
    answer = answer.split("=")[-1]
    for old, new in _REPLACEMENTS:
        answer = answer.replace(old, new)
    for old in _REMOVALS:
        answer = answer.replace(old, "")
    for pattern, replacement in _REWRITES:
        answer = re.sub(pattern, replacement, answer)
    answer = answer.replace("$", "")
    if answer.replace(",", "").isdigit():
        answer = answer.replace(",", "")
    return answer


def _last_boxed(text: str) -> str | None:
    r"""The content of the reference's last ``\boxed{}`` as the authors read it, or None."""
    if "\\boxed " in text:
        return text.split("\\boxed ")[-1].split("$")[0]
    start = text.rfind("\\boxed")
    if start < 0:
        start = text.rfind("\\fbox")
        if start < 0:
            return None
    depth = 0
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if text[index] == "}" and depth == 0:
            box = text[start : index + 1]
            return box[box.index("{") + 1 : -1] if "{" in box else None
    return None


def minerva_reference(solution: str) -> str:
    """The normalised reference: a solution's last ``\\boxed{}``, or a bare final answer."""
    text = str(solution)
    boxed = _last_boxed(text) if ("\\boxed" in text or "\\fbox" in text) else None
    return minerva_normalise(boxed if boxed is not None else text.strip())


def judge_math(completion: str, reference: str) -> Judgement:
    """A MATH completion judged by the authors' rule (see the module docstring)."""
    return _judge(minerva_extract(completion), minerva_normalise, minerva_reference(reference))


# --- Minerva equivalence ------------------------------------------------------------------------

_PLAIN_INTEGER = re.compile(r"-?(?:0|[1-9]\d*)")


class _Timeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise _Timeout after `seconds` (main thread only, as SIGALRM allows; else no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(_signum, _frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _explosive(text: str) -> bool:
    """Inputs on which SymPy would build astronomically large numbers (and never return)."""
    return bool(
        re.search(r"\^\s*\{[^{}]*\^", text)  # a power tower
        or re.search(r"\^\s*\{?\s*\(?\s*-?\d{6,}", text)  # an exponent >= 100000
        or re.search(r"\d{5,}\s*!", text)
        or text.count("^") > 8
    )


def latex_parser():
    """SymPy's ANTLR LaTeX parser (the one Minerva used), or a PaperGradingError saying how."""
    from sympy.parsing.latex import parse_latex

    try:
        parse_latex("1")
    except ImportError as exc:
        raise PaperGradingError(
            "`grading: paper` compares math answers as the paper did, with SymPy's LaTeX parser, "
            f"which needs antlr4-python3-runtime 4.11 ({exc}); install it with "
            "pip install 'antlr4-python3-runtime==4.11.0' (monkeys pins it), or set the "
            "dataset's `grading: lenient`"
        ) from None
    return parse_latex


def sympy_equivalent(first: str, second: str) -> bool:
    """Minerva's test itself: SymPy simplifies the difference of the parsed strings to 0
    within 5 s; any failure is False (answers that would never finish are not tried)."""
    if _explosive(first) or _explosive(second):
        return False
    parse_latex = latex_parser()
    import sympy

    try:
        with _time_limit(EQUIVALENCE_TIMEOUT_S):
            return bool(sympy.simplify(parse_latex(first) - parse_latex(second)) == 0)
    except Exception:  # noqa: BLE001 - any failure (or the timeout) is "not equivalent"
        return False


@lru_cache(maxsize=65536)
def minerva_equivalent(first: str, second: str) -> bool:
    """Minerva's equivalence of two normalised answers (see the module docstring)."""
    if _PLAIN_INTEGER.fullmatch(first) and _PLAIN_INTEGER.fullmatch(second):
        return int(first) == int(second)  # what SymPy finds for two integers, without it
    return sympy_equivalent(first, second)


def _judge(extracted: str | None, normalise, reference: str) -> Judgement:
    if extracted is None:
        return Judgement(None, "", reference, False, "")
    normalised = normalise(extracted)
    if normalised == reference:
        return Judgement(extracted, normalised, reference, True, "text")
    if minerva_equivalent(normalised, reference):
        return Judgement(extracted, normalised, reference, True, "sympy")
    return Judgement(extracted, normalised, reference, False, "")
