"""Planning cost of a paper-scale experiment: `snakemake -n` job count and wall time.

The paper-scale config: 6 models x 5 datasets x 10,000 samples per problem (the
datasets are registry aliases of HumanEval: planning does not read problems), each
model asking for one GPU per sampling job. For each shard size it plans the
workflow in an empty directory, the way `snakemake -n` (or `--profile slurm -n`)
does before a first run, and prints the jobs per rule and the wall time:

    python benchmarks/bench_planning.py                       # shard sizes 250 500 1000 2000
    python benchmarks/bench_planning.py --samples-per-shard 500 --profile --repeat 3

Target: under 30 s on 2 cores and a DAG in the low thousands of jobs.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
MODELS = 6
DATASETS = 5
NUM_SAMPLES = 10_000


def local_rules() -> set[str]:
    """Rules that never become SLURM jobs: the `localrules:` of rules/*.smk, and `all`."""
    names = {"all"}
    for smk in (REPO / "rules").glob("*.smk"):
        for block in re.findall(r"^localrules:\s*\n((?:[ \t]+\w+,?[ \t]*\n)+)", smk.read_text(), re.M):
            names.update(re.findall(r"\w+", block))
    return names


def paper_config(samples_per_shard: int, num_samples: int = NUM_SAMPLES) -> dict:
    models = {
        f"model-{i}": {
            "backend": "embedded",
            "threads": 8,
            "resources": {"gpu": 1, "gpu_model": "a100", "cpus_per_gpu": 8, "mem_mb": 64_000, "runtime": 240},
        }
        for i in range(MODELS)
    }
    datasets = {f"humaneval-{j}": {"registry": "humaneval"} for j in range(DATASETS)}
    return {
        "models": models,
        "datasets": datasets,
        "sampling": {"num_samples": num_samples, "samples_per_shard": samples_per_shard},
        "execution": {"workers": 16},
    }


def plan(samples_per_shard: int, profile: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="monkeys-plan-") as tmp:
        workdir = Path(tmp)
        config = workdir / "config.yaml"
        config.write_text(yaml.safe_dump(paper_config(samples_per_shard), sort_keys=False))
        command = [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            "--configfile",
            str(config),
            "--dry-run",
        ]
        command += ["--profile", str(REPO / "slurm")] if profile else ["--cores", "2"]
        t0 = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, cwd=workdir)
        seconds = time.perf_counter() - t0
    if result.returncode != 0:
        raise SystemExit(f"planning failed:\n{result.stderr[-3000:]}")
    table = result.stdout.split("Job stats:", 1)[1]
    counts = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}
    return {
        "samples_per_shard": samples_per_shard,
        "shards": math.ceil(NUM_SAMPLES / samples_per_shard),
        "jobs": counts["total"],
        "slurm_jobs": sum(n for rule, n in counts.items() if rule != "total" and rule not in local_rules()),
        "profile": profile,
        "seconds": round(seconds, 2),
        "per_rule": {k: v for k, v in counts.items() if k != "total"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples-per-shard", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument(
        "--profile",
        action="store_true",
        help="plan with --profile slurm (as a cluster run does) instead of --cores 2",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the best time is kept")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)

    print(
        f"{MODELS} models x {DATASETS} datasets x {NUM_SAMPLES:,} samples per problem; "
        f"planning with {'--profile slurm' if args.profile else '--cores 2'} -n"
    )
    print("| samples_per_shard | shards per (model, dataset) | jobs | SLURM jobs | plan time (s) |")
    print("|---:|---:|---:|---:|---:|", flush=True)
    rows = []
    for size in args.samples_per_shard:
        runs = [plan(size, args.profile) for _ in range(args.repeat)]
        row = min(runs, key=lambda r: r["seconds"])
        shard_jobs = MODELS * DATASETS * row["shards"]
        if not row["per_rule"]["sample_shard"] == row["per_rule"]["execute_shard"] == shard_jobs:
            raise SystemExit(f"expected {shard_jobs} sampling and execution jobs: {row['per_rule']}")
        rows.append(row)
        print(
            f"| {size} | {row['shards']} | {row['jobs']:,} | {row['slurm_jobs']:,} | {row['seconds']:.1f} |",
            flush=True,
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
