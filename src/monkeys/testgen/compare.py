"""Weak vs strong verdicts for a set of samples: false positives of the base tests.

A false positive (Inference Scaling fLaws) is a sample that passes the base tests but fails
the strong ones. `strong_verdicts` runs both in the sandbox; the command line measures it
on a run's samples with the generated tests and, when given HumanEval+, the official ones:

    python -m monkeys.testgen.compare results/samples/gemma3-270m/humaneval/*.parquet \\
        [--official ../shared/data/humanevalplus-v0.1.10.jsonl.gz] [--seed 1234]

and, with `--canonical DATASET [--source FILE]`, the strong-test coverage of a whole dataset and
how many of its canonical (corrected) solutions its generated tests reject (must be none):

    python -m monkeys.testgen.compare --canonical humaneval
    python -m monkeys.testgen.compare --canonical mbppplus --source ../shared/data/mbppplus-767efcc.jsonl.gz
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import pandas as pd

from monkeys.datasets.registry import DATASETS, normalise
from monkeys.datasets.sources import read_source
from monkeys.execution.programs import humaneval_program
from monkeys.execution.sandbox import Limits, run_programs
from monkeys.tables.io import read_tables
from monkeys.tables.samples import SAMPLES
from monkeys.testgen.generate import TestgenSettings, _metadata, generate_strong_tests
from monkeys.testgen.references import best_reference


def strong_verdicts(
    problems: pd.DataFrame,
    samples: pd.DataFrame,
    tests: dict[str, pd.Series],
    limits: Limits,
    workers: int,
) -> pd.DataFrame:
    """Per sample: `base` status (the problem's `test`) and one status per named strong test
    column in `tests` (problem_id -> check() body; "" = no strong test: status "none")."""
    by_id = problems.set_index("problem_id")
    out = samples[["problem_id", "sample_index", "completion"]].reset_index(drop=True).copy()
    prompts, entries = by_id.loc[out["problem_id"], "prompt"], by_id.loc[out["problem_id"], "entry_point"]
    suites = {"base": by_id["test"], **tests}
    for name, suite in suites.items():
        bodies = [suite.get(pid, "") for pid in out["problem_id"]]
        index = [i for i, body in enumerate(bodies) if body]
        programs = [
            humaneval_program(prompts.iat[i], out["completion"].iat[i], bodies[i], entries.iat[i])
            for i in index
        ]
        outcomes = run_programs(programs, limits, workers=workers)
        status, detail = ["none"] * len(out), [""] * len(out)
        for i, outcome in zip(index, outcomes, strict=True):
            status[i], detail[i] = outcome.status, outcome.detail
        out[name] = status
        out[f"{name}_detail"] = detail
    return out


def canonical_verdicts(
    problems: pd.DataFrame, tests: pd.DataFrame, limits: Limits, workers: int
) -> pd.DataFrame:
    """Per problem: `status` of its best reference solution (`references.best_reference`, the
    one that computed the expected outputs: HumanEval+'s corrected solution on HumanEval) run
    as a candidate against its generated `plus_test` ("none": no strong test), and `detail`.
    A correct strong test passes every one of them."""
    plus = tests.set_index("problem_id")["plus_test"]
    rows, programs = [], []
    for row in problems.itertuples(index=False):
        ref = best_reference(
            row.problem_id,
            row.entry_point,
            row.prompt,
            row.canonical_solution,
            _metadata(getattr(row, "metadata", "{}")),
        )
        body = plus.get(row.problem_id, "")
        rows.append(row.problem_id)
        programs.append(humaneval_program(ref.prompt, ref.solution, body, row.entry_point) if body else None)
    index = [i for i, program in enumerate(programs) if program is not None]
    outcomes = run_programs([programs[i] for i in index], limits, workers=workers)  # type: ignore[misc]
    status, detail = ["none"] * len(rows), [""] * len(rows)
    for i, outcome in zip(index, outcomes, strict=True):
        status[i], detail[i] = outcome.status, outcome.detail
    return pd.DataFrame({"problem_id": rows, "status": status, "detail": detail})


def canonical_report(
    dataset: str, source: dict | None, seed: int, num_inputs: int, workers: int, timeout_s: float
) -> int:
    """Print the strong-test coverage of a dataset and the false-positive rate of its
    canonical solutions against the generated tests; 1 when some canonical solution fails."""
    problems = normalise(dataset, read_source(source or DATASETS[dataset].default_source))  # type: ignore[arg-type]
    problems = problems[problems["grader"] == "unit_tests"].reset_index(drop=True)
    started = time.perf_counter()
    tests = generate_strong_tests(
        problems, seed, workers=workers, settings=TestgenSettings(num_inputs=num_inputs)
    )
    made = time.perf_counter() - started
    verdicts = canonical_verdicts(problems, tests, Limits(timeout_s=timeout_s), workers)
    covered = int((tests["plus_test"] != "").sum())
    failed = verdicts[~verdicts["status"].isin(["passed", "none"])]
    print(
        f"{dataset}: strong-test coverage {covered}/{len(problems)}; generated in {made:.1f} s, "
        f"{int(tests['num_inputs'].sum())} inputs ({int(tests['num_generated'].sum())} mutated); "
        f"canonical solutions rejected by their generated tests: {len(failed)}/{covered} "
        f"(false-positive rate {len(failed) / max(covered, 1):.3f})"
    )
    for row in failed.itertuples():
        print(f"  {row.problem_id}: {row.status}: {(row.detail.strip().splitlines() or [''])[-1]}")
    return 1 if len(failed) else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m monkeys.testgen.compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("samples", nargs="*", help="sample shards (HumanEval)")
    parser.add_argument("--official", help="a HumanEval+ file, to compare with its plus tests")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--num-inputs", type=int, default=TestgenSettings.num_inputs)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=20.0, help="per program, seconds")
    parser.add_argument("--examples", type=int, default=3)
    parser.add_argument(
        "--canonical",
        metavar="DATASET",
        help="instead of samples: check a whole dataset's canonical solutions "
        "against its generated tests (coverage, false positives)",
    )
    parser.add_argument("--source", help="with --canonical: the dataset's file (else its default)")
    args = parser.parse_args(argv)
    if args.canonical:
        return canonical_report(
            args.canonical,
            {"path": args.source} if args.source else None,
            args.seed,
            args.num_inputs,
            args.workers,
            args.timeout,
        )

    samples = read_tables(args.samples, SAMPLES)
    problems = normalise("humaneval", read_source(DATASETS["humaneval"].default_source))  # type: ignore[arg-type]
    problems = problems[problems["problem_id"].isin(set(samples["problem_id"]))]
    started = time.perf_counter()
    generated = generate_strong_tests(
        problems, args.seed, workers=args.workers, settings=TestgenSettings(num_inputs=args.num_inputs)
    )
    print(
        f"generated strong tests for {len(problems)} problems in "
        f"{time.perf_counter() - started:.1f} s: {int(generated['num_inputs'].sum())} inputs "
        f"({int(generated['num_generated'].sum())} mutated)"
    )
    tests = {"generated": generated.set_index("problem_id")["plus_test"]}
    if args.official:
        plus = normalise("humanevalplus", read_source({"path": args.official}))
        tests["official"] = plus.set_index("problem_id")["plus_test"]
    started = time.perf_counter()
    verdicts = strong_verdicts(problems, samples, tests, Limits(timeout_s=args.timeout), args.workers)
    print(
        f"ran {len(samples)} samples x {1 + len(tests)} test suites in {time.perf_counter() - started:.1f} s"
    )
    base = verdicts["base"] == "passed"
    print(f"samples: {len(verdicts)}; pass the base tests: {int(base.sum())}")
    for name in tests:
        strong = verdicts[name] == "passed"
        fp = verdicts[base & ~strong]
        print(
            f"{name}: pass base and {name} tests: {int((base & strong).sum())}; false positives "
            f"(pass base, fail {name}): {len(fp)} in {fp['problem_id'].nunique()} problems "
            f"{sorted(fp['problem_id'].unique())}; fail base but pass {name}: "
            f"{int((~base & strong).sum())}"
        )
    if "official" in tests:
        both = pd.crosstab(
            verdicts.loc[base, "generated"] == "passed",
            verdicts.loc[base, "official"] == "passed",
            rownames=["generated passes"],
            colnames=["official passes"],
        )
        print("base-passing samples, generated vs official strong tests:")
        print(both.to_string())
    fp = verdicts[base & (verdicts["generated"] != "passed")].drop_duplicates("completion")
    for row in fp.head(args.examples).itertuples():
        print(f"\n--- {row.problem_id} sample {row.sample_index}: {row.generated}")
        print(row.completion.rstrip())
        print("  ->", row.generated_detail.strip().splitlines()[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
