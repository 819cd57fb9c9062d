"""Import benchmark: a release-sized monkey_business file, converted once and read by shards.

Writes a synthetic release in the Large Language Monkeys format (a JSON array, one record per
problem: orig_dset_split, orig_dset_idx, question, prompt, samples, is_corrects, gt_answer),
127 GSM8K test problems x 10,000 samples of ~220 characters each by default (about 285 MB, the size
of the real GSM8K files), then, each in a fresh child process, measures wall time and peak
memory (ru_maxrss) of

- `load`: reading the whole file with json.load (what every shard job did before);
- `convert`: the streamed conversion to Parquet (rule import_release);
- `map`: resolving orig_dset_idx against the problems table and checking the questions;
- `shard N`: a real sampling shard (monkeys.stages.sample.sample_shard) of N sample indices
  for all 127 problems, reading the converted file by slice;
- `python`: a child that only imports the same modules (the floor under every number).

    python benchmarks/bench_import.py                       # release size
    python benchmarks/bench_import.py --samples 1000        # a quick look

Needs GSM8K's test split (default ../shared/data/gsm8k-test.jsonl.gz; --gsm8k FILE) for the
problems the release's questions must match.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GSM8K = ROOT.parent / "shared" / "data" / "gsm8k-test.jsonl.gz"


def write_release(
    path: Path, questions: list[tuple[int, str, str]], samples: int, sample_chars: int, seed: int
) -> None:
    """A monkey_business-format JSON array, written record by record."""
    rng = random.Random(seed)
    words = "the of and to in is was for on that with as it by at from this be are".split()
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("[")
        for n, (index, question, answer) in enumerate(questions):
            texts, labels = [], []
            for _ in range(samples):
                body = " ".join(rng.choice(words) for _ in range(sample_chars // 4))
                value = rng.randint(0, 99)
                texts.append(f"{body[: sample_chars - 12]}\n#### {value}")
                labels.append(str(value) == answer)
            record = {
                "orig_dset_split": "test",
                "orig_dset_idx": index,
                "question": question,
                "prompt": f"Question: {question}\nAnswer:",
                "samples": texts,
                "is_corrects": labels,
                "gt_answer": f"... #### {answer}",
            }
            fh.write(("," if n else "") + json.dumps(record))
        fh.write("]")


def child(phase: str, work: Path, arg: int) -> None:
    """One measured phase, in this (fresh) process; prints seconds."""
    import pandas as pd  # noqa: F401 - the floor includes what every phase imports

    from monkeys.sampling.importer import convert_release
    from monkeys.sampling.release_map import map_release
    from monkeys.stages.sample import sample_shard
    from monkeys.tables.datasets import PROBLEMS
    from monkeys.tables.imports import IMPORT_MAPPING, RELEASE_PROBLEMS
    from monkeys.tables.io import read_table, write_table
    from monkeys.tables.samples import SAMPLES

    spec = {"path": str(work / "release.json"), "preset": "monkey_business"}
    started = time.perf_counter()
    if phase == "load":
        with open(work / "release.json", encoding="utf-8") as fh:
            json.load(fh)
    elif phase == "convert":
        convert_release(spec, work / "samples.parquet", work / "index.parquet")
    elif phase == "map":
        mapping = map_release(
            read_table(work / "index.parquet", RELEASE_PROBLEMS),
            read_table(work / "problems.parquet", PROBLEMS),
            spec,
            model="bench",
            dataset="gsm8k",
        )
        assert (mapping["status"] == "matched").all(), mapping["status"].value_counts()
        write_table(mapping, work / "mapping.parquet", IMPORT_MAPPING)
    elif phase == "shard":
        out = work / f"shard-{arg}.parquet"
        sample_shard(
            work / "problems.parquet",
            work / "weights.json",
            out,
            model="bench",
            model_spec={"backend": "import", "weights": {}, "import": spec},
            selection={"problems": "from_import"},
            sampling={
                "temperature": 0.6,
                "top_p": 0.95,
                "top_k": 0,
                "min_p": 0.0,
                "max_tokens": 512,
                "stop": [],
            },
            seed=1,
            start=0,
            stop=arg,
            progress_interval_s=3600,
            imported={"samples": work / "samples.parquet", "mapping": work / "mapping.parquet"},
            import_mappings=[work / "mapping.parquet"],
        )
        assert (
            len(read_table(out, SAMPLES)) == len(read_table(work / "mapping.parquet", IMPORT_MAPPING)) * arg
        )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{time.perf_counter() - started:.2f} {peak_mib:.0f}")


def measure(phase: str, work: Path, arg: int = 0) -> tuple[float, float]:
    """(seconds, peak MiB) of one phase in a child process (its own ru_maxrss)."""
    result = subprocess.run(
        [sys.executable, __file__, "--child", phase, "--work", str(work), "--arg", str(arg)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"phase {phase} failed:\n{result.stdout}\n{result.stderr}")
    seconds, peak = result.stdout.strip().splitlines()[-1].split()
    return float(seconds), float(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=127)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--sample-chars", type=int, default=220)
    parser.add_argument("--shards", default="100,1000", help="shard sizes (sample indices)")
    parser.add_argument("--gsm8k", type=Path, default=DEFAULT_GSM8K)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--arg", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.work, args.arg)
        return
    import gzip

    from monkeys.datasets.registry import normalise
    from monkeys.datasets.sources import read_source
    from monkeys.sampling.weights import resolve_weights, write_manifest
    from monkeys.tables.datasets import PROBLEMS
    from monkeys.tables.io import write_table

    if not args.gsm8k.is_file():
        raise SystemExit(f"no GSM8K test split at {args.gsm8k}; pass --gsm8k FILE")
    with gzip.open(args.gsm8k, "rt") if args.gsm8k.suffix == ".gz" else open(args.gsm8k) as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    picked = sorted(random.Random(args.seed).sample(range(len(rows)), args.problems))
    questions = [(i, rows[i]["question"], rows[i]["answer"].split("####")[-1].strip()) for i in picked]
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        work = Path(tmp)
        write_table(
            normalise("gsm8k", read_source({"path": str(args.gsm8k)})), work / "problems.parquet", PROBLEMS
        )
        write_manifest(resolve_weights({}), work / "weights.json")
        started = time.perf_counter()
        write_release(work / "release.json", questions, args.samples, args.sample_chars, args.seed)
        size = (work / "release.json").stat().st_size / 1e6
        print(
            f"release: {args.problems} problems x {args.samples} samples, {size:.0f} MB "
            f"(written in {time.perf_counter() - started:.0f} s)"
        )
        phases = [("python", 0), ("load", 0), ("convert", 0), ("map", 0)]
        phases += [("shard", int(n)) for n in args.shards.split(",") if n]
        for phase, arg in phases:
            seconds, peak = measure(phase, work, arg)
            label = f"shard of {arg} samples/problem ({args.problems * arg:,} samples)" if arg else phase
            print(f"{label:48s} {seconds:7.2f} s   peak RSS {peak:7.0f} MiB")
        converted = (work / "samples.parquet").stat().st_size / 1e6
        print(f"converted Parquet: {converted:.0f} MB")


if __name__ == "__main__":
    main()
