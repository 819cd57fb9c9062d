"""Which path decides the verdicts of each dataset: the judge, or the in-process harness.

    .venv/bin/python benchmarks/judge_coverage.py                       # HumanEval (packaged)
    .venv/bin/python benchmarks/judge_coverage.py \\
        --humanevalplus ../shared/data/humanevalplus-v0.1.10.jsonl.gz \\
        --mbppplus ../shared/data/mbppplus-767efcc.jsonl.gz

Every problem's reference solution (prompt + canonical solution) runs against its `test`
suite and, where it has one, its `plus_test` suite, through `run_programs` as the execute stage
runs them. The table gives, per dataset and suite, how many problems the judge decided
(`monkeys.execution.judge`), how many fell back to the in-process harness, how many got no
verdict, and how many references passed; then the problems the harness decided, by name.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from monkeys.datasets.registry import DATASETS, normalise
from monkeys.datasets.sources import read_source
from monkeys.execution.programs import humaneval_program
from monkeys.execution.sandbox import Limits, run_programs


def load(registry: str, path: str | None) -> pd.DataFrame:
    """The problems table of a registry dataset, from `path` or its packaged default."""
    spec = {"path": path} if path else DATASETS[registry].default_source
    if spec is None:
        raise SystemExit(f"{registry}: give its file (no packaged default)")
    return normalise(registry, read_source(spec))


def coverage(
    name: str, problems: pd.DataFrame, suite: str, workers: int, limits: Limits
) -> tuple[dict[str, object], list[str]]:
    """One table row for `suite` of `problems`, and the problems the harness decided."""
    rows = problems[problems[suite].fillna("").astype(bool)] if suite in problems else problems[:0]
    programs = [
        humaneval_program(r.prompt, r.canonical_solution, getattr(r, suite), r.entry_point, per_test=False)
        for r in rows.itertuples(index=False)
    ]
    started = time.monotonic()
    outcomes = run_programs(programs, limits, workers)
    wall = time.monotonic() - started
    by = pd.Series([o.decided_by or "none" for o in outcomes], dtype=object)
    harness = [pid for pid, o in zip(rows["problem_id"], outcomes, strict=True) if o.decided_by == "harness"]
    return {
        "dataset": name,
        "suite": suite,
        "problems": len(rows),
        "judge": int((by == "judge").sum()),
        "harness": int((by == "harness").sum()),
        "no verdict": int((by == "none").sum()),
        "references passed": sum(o.status == "passed" for o in outcomes),
        "judge share": round(float((by == "judge").mean()) if len(by) else float("nan"), 4),
        "wall s": round(wall, 1),
    }, harness


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--humanevalplus", help="HumanEval+ jsonl(.gz)")
    parser.add_argument("--mbppplus", help="MBPP+ jsonl(.gz)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    datasets = [("humaneval", None)]
    datasets += [(n, p) for n, p in (("humanevalplus", args.humanevalplus), ("mbppplus", args.mbppplus)) if p]
    limits = Limits(timeout_s=args.timeout)
    table, fallbacks = [], []
    for name, path in datasets:
        problems = load(name, path)
        for suite in ("test", "plus_test"):
            if suite in problems and problems[suite].fillna("").astype(bool).any():
                row, harness = coverage(name, problems, suite, args.workers, limits)
                table.append(row)
                fallbacks += [f"{name} {suite}: {pid}" for pid in harness]
    print(pd.DataFrame(table).to_string(index=False))
    print("\ndecided by the in-process harness:" if fallbacks else "\nevery verdict by the judge")
    for line in fallbacks:
        print("  " + line)


if __name__ == "__main__":
    main()
