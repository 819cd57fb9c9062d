"""Paper-scale analysis benchmark: aggregate 10 M verdict rows and compute every coverage curve.

Synthesises 6 models x 5 datasets x 330 problems x 1,000 samples (9.9 M rows) as
sample and verdict shards in the pipeline's Parquet schemas, then runs the real
`aggregate` and `coverage` stages (1,000 bootstrap resamples each) over all 30
(model, dataset) pairs in a child process, and prints wall time and that
process's peak memory. Generation is not timed.

    python benchmarks/bench_analysis.py                 # paper scale (goal: < 60 s, < 4 GiB)
    python benchmarks/bench_analysis.py --samples 100   # a quick look
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from monkeys.tables.io import write_table
from monkeys.tables.samples import SAMPLES
from monkeys.tables.verdicts import VERDICTS


def _column(field: pa.Field, rows: int) -> object:
    if pa.types.is_string(field.type):
        return np.full(rows, "", dtype=object)
    if pa.types.is_boolean(field.type):
        return np.zeros(rows, dtype=bool)
    if pa.types.is_floating(field.type):
        return np.zeros(rows)
    if pa.types.is_integer(field.type):
        return np.zeros(rows, dtype=np.int64)
    return [None] * rows


def synthesise(
    root: Path, models: int, datasets: int, problems: int, samples: int, shard: int, seed: int
) -> list[tuple[str, str]]:
    """Write sample and verdict shards; per-problem success rates follow a Beta(0.3, 2)."""
    rng = np.random.default_rng(seed)
    pairs = []
    statuses = np.array(["failed", "error", "timeout", "crashed"])
    for m in range(models):
        for d in range(datasets):
            model, dataset = f"model{m}", f"dataset{d}"
            pairs.append((model, dataset))
            rates = rng.beta(0.3, 2.0, size=problems)
            for start in range(0, samples, shard):
                stop = min(start + shard, samples)
                rows = problems * (stop - start)
                pid = np.repeat([f"P/{i}" for i in range(problems)], stop - start)
                index = np.tile(np.arange(start, stop), problems)
                passed = rng.random(rows) < np.repeat(rates, stop - start)
                key = {"model": model, "dataset": dataset, "problem_id": pid, "sample_index": index}
                sample = {f.name: _column(f, rows) for f in SAMPLES}
                sample.update(
                    key,
                    prompt_tokens=np.full(rows, 150),
                    completion_tokens=rng.integers(20, 300, rows),
                    wall_s=np.full(rows, 0.1),
                )
                verdict = {f.name: _column(f, rows) for f in VERDICTS}
                failures = statuses[rng.integers(0, 4, rows)]
                verdict.update(
                    key,
                    passed=passed,
                    status=np.where(passed, "passed", failures),
                    runtime_s=np.full(rows, 0.005),
                )
                name = f"{start}-{stop}.parquet"
                write_table(pd.DataFrame(sample), root / "samples" / model / dataset / name, SAMPLES)
                write_table(pd.DataFrame(verdict), root / "verdicts" / model / dataset / name, VERDICTS)
    return pairs


def analyse(root: Path) -> None:
    """What the pipeline runs per (model, dataset): aggregate, then coverage with bands."""
    from monkeys.stages.aggregate import aggregate
    from monkeys.stages.coverage import coverage

    analysis = {"bootstrap_resamples": 1000, "confidence": 0.95}
    for model_dir in sorted((root / "samples").iterdir()):
        for dataset_dir in sorted(model_dir.iterdir()):
            model, dataset = model_dir.name, dataset_dir.name
            shards = sorted(p.name for p in dataset_dir.glob("*.parquet"))
            counts = root / "counts" / model / f"{dataset}.parquet"
            aggregate(
                [str(dataset_dir / s) for s in shards],
                [str(root / "verdicts" / model / dataset / s) for s in shards],
                counts,
            )
            coverage(counts, root / "coverage" / model / f"{dataset}.parquet", analysis=analysis, seed=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=6)
    parser.add_argument("--datasets", type=int, default=5)
    parser.add_argument("--problems", type=int, default=330)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--shard", type=int, default=250, help="samples per shard file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        analyse(Path(args.child))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        pairs = synthesise(root, args.models, args.datasets, args.problems, args.samples, args.shard, seed=0)
        generated = time.perf_counter() - started
        rows = args.models * args.datasets * args.problems * args.samples
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--child", str(root)], check=True)
        elapsed = time.perf_counter() - started
        peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
        curves = len(list((root / "coverage").rglob("*.parquet")))
    print(
        "| rows | (model, dataset) pairs | coverage curves | generate s | aggregate + coverage s "
        "| peak memory GiB |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {rows:,} | {len(pairs)} | {curves} | {generated:.1f} | {elapsed:.1f} | {peak_gib:.2f} |")


if __name__ == "__main__":
    main()
