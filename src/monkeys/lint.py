"""Lint Python sources with ruff: one run over a temporary directory, JSON findings back.

Ruff parses the files and never imports or runs them, so linting untrusted completions is
safe. It runs with `--isolated` (no user or project config), an explicit rule selection,
`--no-cache`, without `.gitignore` filtering and without `--fix`, under a timeout.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sysconfig
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monkeys.errors import MonkeysError

# Python version the sources are parsed as: the oldest this project runs candidates on.
TARGET_VERSION = "py311"
# Ruff's code for a file it cannot parse (older versions report no code).
SYNTAX_ERROR = "invalid-syntax"


@dataclass(frozen=True)
class Finding:
    """One lint finding: the 1-based line it is on, its rule code and the rule's name."""

    row: int
    rule: str
    name: str


def ruff_binary() -> str:
    """The ruff executable: this Python's scripts directory (a venv's bin), else PATH."""
    beside = Path(sysconfig.get_path("scripts")) / "ruff"
    if beside.is_file():
        return str(beside)
    found = shutil.which("ruff")
    if found is None:
        raise MonkeysError(
            "ruff is not installed (it is a dependency of monkeys): pip install -e . (or pip install ruff)"
        )
    return found


def _run(command: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise MonkeysError(
            f"ruff did not finish within {timeout_s:.0f} s: {' '.join(command[:3])} ..."
        ) from None
    except OSError as exc:
        raise MonkeysError(f"cannot run ruff ({command[0]}): {exc}") from None
    if result.returncode != 0:
        raise MonkeysError(f"ruff failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}")
    return result


def ruff_version() -> str:
    """The linter and its version as ruff prints it, e.g. "ruff 0.8.4"."""
    return _run([ruff_binary(), "--version"], 60).stdout.strip()


def lint_sources(
    sources: Sequence[str], select: Sequence[str], *, timeout_s: float | None = None
) -> list[list[Finding]]:
    """Ruff's findings in each source (sorted by line), linted in one run with rules `select`.

    `timeout_s` defaults to 120 s plus 50 ms per source.
    """
    if not select:
        raise MonkeysError("no lint rules selected (analysis.lint_select is empty)")
    findings: list[list[Finding]] = [[] for _ in sources]
    if not sources:
        return findings
    timeout = 120 + 0.05 * len(sources) if timeout_s is None else timeout_s
    with tempfile.TemporaryDirectory(prefix="monkeys-lint-") as tmp:
        for i, source in enumerate(sources):
            (Path(tmp) / f"{i:08d}.py").write_text(source, encoding="utf-8")
        result = _run(
            [
                ruff_binary(),
                "check",
                "--isolated",
                "--no-cache",
                "--exit-zero",
                "--no-respect-gitignore",
                "--output-format",
                "json",
                "--target-version",
                TARGET_VERSION,
                "--select",
                ",".join(select),
                tmp,
            ],
            timeout,
        )
    try:
        items = json.loads(result.stdout)
        for item in items:
            rule = item.get("code") or SYNTAX_ERROR
            name = item.get("name") or (item.get("url") or "").rsplit("/", 1)[-1] or rule
            findings[int(Path(item["filename"]).stem)].append(
                Finding(int(item["location"]["row"]), rule, name)
            )
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise MonkeysError(f"unexpected output from ruff ({exc!r}): {result.stdout[:500]}") from None
    return [sorted(found, key=lambda f: (f.row, f.rule)) for found in findings]
