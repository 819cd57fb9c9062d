"""The final answer a solution text states (GSM8K's ``#### N``, MATH's last ``\\boxed{}``,
Minerva's "The final answer is ..."), for reading datasets' references and grading samples.

Its own module so that the datasets that read their references with it (GSM8K, MATH) do
not depend on the rest of the math grader (monkeys.grading.math): editing how answers are
compared reruns no dataset fetch.
"""

from __future__ import annotations

import re

NUMBER = r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?(?:/\d+)?|-?\.\d+"
_LAST_NUMBER = re.compile(rf"({NUMBER})")  # NUMBER: a number as solutions write it
_FINAL_ANSWERS = [  # in order of preference; Minerva's format first
    re.compile(rf"{lead}\s*(.+?)(?:\.\s*I hope it is correct|\n|$)", re.IGNORECASE)
    for lead in (r"final answer is:?", r"the answer is:?", r"answer:")
]


def _braced(text: str, start: int) -> tuple[str, int] | None:
    """The content of the {...} group opening at text[start], and the index after it."""
    if start >= len(text) or text[start] != "{":
        return None
    depth = 0
    for index in range(start, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : index], index + 1
    return None


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}``/``\\fbox{...}`` (or ``\\boxed 5``) in text."""
    best = None
    for match in re.finditer(r"\\(?:boxed|fbox)\s*", text):
        after = match.end()
        group = _braced(text, after)
        if group is not None:
            best = group[0]
        elif match.group(0).endswith(" ") or text[match.end() - 1 : match.end()].isspace():
            word = re.match(r"[^\s$]+", text[after:])
            if word:
                best = word.group(0).rstrip(".,;:")
    return best.strip() if best is not None else None


def last_number(text: str) -> str | None:
    """The last number in text (sign, thousands separators, decimals and a/b kept)."""
    found = _LAST_NUMBER.findall(text.replace("−", "-"))
    return found[-1] if found else None


def extract_answer(text: str, style: str = "auto", fallback: bool = True) -> str | None:
    """The final answer stated in a solution text, or None.

    style "gsm8k": the text after the last ``####``; "math": the last ``\\boxed{}``, then
    "The final answer is ..."; "auto": all of these. Then, with `fallback`, the last number.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    if style in ("gsm8k", "auto") and "####" in text:
        tail = text.rsplit("####", 1)[1].strip()
        line = tail.splitlines()[0].strip() if tail else ""
        if line:
            return line
    if style in ("math", "auto"):
        boxed = last_boxed(text)
        if boxed:
            return boxed
        for pattern in _FINAL_ANSWERS:
            finals = pattern.findall(text)
            answer = finals[-1].strip().rstrip(".").strip() if finals else ""
            if answer:
                return answer
    if fallback:
        return last_number(text)
    return None
