"""The best reference solution of a problem, for the expected outputs of its strong tests.

The original HumanEval canonical solutions are wrong or under-specified on inputs that
HumanEval+ (EvalPlus v0.1.10) corrected, and HumanEval has no input contracts: tests whose
expected outputs come from the original solution on mutated inputs reject correct programs.
The package ships HumanEval+'s corrected reference of every HumanEval task (its prompt and
canonical solution, its `contract` asserts, `atol` and `base_input`) in
`humanevalplus_references.json` (Apache-2.0, from EvalPlus; remake it with
``python -m monkeys.testgen.references HumanEvalPlus.jsonl.gz``).

`best_reference` picks, per problem: the row's own solution when the row is from a plus
dataset (HumanEval+/MBPP+: already corrected, with its contract), else the shipped HumanEval+
reference when one exists for the problem id and entry point, else the row's own solution.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

REFERENCES_FILE = Path(__file__).with_name("humanevalplus_references.json")
UPSTREAM = "evalplus/humanevalplus_release v0.1.10, HumanEvalPlus.jsonl.gz (Apache-2.0)"


@dataclass(frozen=True)
class Reference:
    """The source that defines the entry point (prompt + solution), its input contract (asserts
    that go between them), and where it comes from."""

    prompt: str  # source up to the entry point's body (the contract goes after it)
    solution: str  # the rest of the body
    contract: str = ""
    atol: float | None = None  # None: the row's own atol
    base_inputs: list[list[Any]] = field(default_factory=list)
    origin: str = "dataset"  # "dataset", "plus dataset" or "humanevalplus"


@cache
def shipped_references() -> dict[str, dict[str, Any]]:
    """task id -> {entry_point, prompt, solution, contract, atol, base_input}; {} without the
    file."""
    if not REFERENCES_FILE.exists():
        return {}
    return dict(json.loads(REFERENCES_FILE.read_text())["tasks"])


def best_reference(
    problem_id: str, entry_point: str, prompt: str, canonical_solution: str, meta: dict[str, Any]
) -> Reference:
    """The reference to compute expected outputs with (see the module docstring)."""
    contract = meta.get("contract") if isinstance(meta.get("contract"), str) else ""
    if "num_plus_inputs" in meta:  # a HumanEval+/MBPP+ row: its solution is the corrected one
        return Reference(prompt, canonical_solution, contract or "", None, [], "plus dataset")
    shipped = shipped_references().get(problem_id)
    if shipped and shipped["entry_point"] == entry_point:
        return Reference(
            shipped["prompt"],
            shipped["solution"],
            shipped["contract"],
            shipped["atol"],
            shipped["base_input"],
            "humanevalplus",
        )
    return Reference(prompt, canonical_solution, contract or "", None, [], "dataset")


def _rows(path: str) -> list[dict[str, Any]]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def build_references(plus_path: str) -> dict[str, Any]:
    """The shipped file's content from a HumanEval+ JSONL(.gz) file."""
    raw = Path(plus_path).read_bytes()
    text = gzip.decompress(raw) if plus_path.endswith(".gz") else raw
    tasks = {}
    for row in _rows(plus_path):
        tasks[row["task_id"]] = {
            "entry_point": row["entry_point"],
            "prompt": row["prompt"],
            "solution": row["canonical_solution"],
            "contract": row.get("contract") or "",
            "atol": float(row.get("atol") or 0.0),
            "base_input": row.get("base_input") or [],
        }
    return {"upstream": UPSTREAM, "sha256": hashlib.sha256(text).hexdigest(), "tasks": tasks}


def _dump(content: dict[str, Any]) -> str:
    """JSON with one task per line (readable diffs when the file is remade)."""
    tasks = ",\n".join(
        f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in content["tasks"].items()
    )
    head = {k: v for k, v in content.items() if k != "tasks"}
    return json.dumps(head, sort_keys=True)[:-1] + ',\n "tasks": {\n' + tasks + "\n }\n}\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m monkeys.testgen.references", description="Remake humanevalplus_references.json."
    )
    parser.add_argument("humanevalplus", help="HumanEvalPlus.jsonl.gz (EvalPlus v0.1.10)")
    parser.add_argument("--out", default=str(REFERENCES_FILE))
    args = parser.parse_args(argv)
    content = build_references(args.humanevalplus)
    Path(args.out).write_text(_dump(content))
    print(f"{args.out}: {len(content['tasks'])} tasks (sha256 {content['sha256'][:12]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
