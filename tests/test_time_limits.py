"""Time limits calibrated on the reference (monkeys.execution.time_limits): the limit formula,
honest programs that must not flip (HumanEval's canonical solutions, a slow-but-correct
control), an infinite loop stopped at the calibrated limit, near-limit reruns, and the planted
bug "limit ignores the reference"."""

from __future__ import annotations

import math
import os

import pandas as pd
import pytest

from monkeys.datasets.registry import DATASETS, normalise
from monkeys.datasets.sources import read_source
from monkeys.execution import time_limits as tl
from monkeys.execution.sandbox import Limits, Outcome
from monkeys.execution.time_limits import (
    TimeLimitError,
    TimeLimitSettings,
    calibrate,
    near_limit,
    program_limit,
)
from monkeys.grading.unit_tests import grade_unit_tests

SETTINGS = TimeLimitSettings(floor_s=0.2, factor=4.0, near_limit=0.2, repeats=2)
CEILING = 20.0

# A problem whose reference is slow: it spins 5M loop turns per call (~0.06 s of CPU here),
# two calls. Its calibrated limit is far above the floor, so a candidate three times slower
# still passes. The work is counted in loop turns, not wall time, because a calibrated limit
# is enforced on the candidate's CPU time (a loaded machine must not time out an honest
# program), so a sleeping "slow" program would never be timed out at all.
SLOW = pd.DataFrame(
    [
        {
            "dataset": "toy",
            "problem_id": "toy/slow",
            "prompt": "def inc(x):\n",
            "entry_point": "inc",
            "canonical_solution": "    for _ in range(5_000_000):\n        pass\n    return x + 1\n",
            "test": "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 3\n",
            "plus_test": "",
            "grader": "unit_tests",
        }
    ]
)
COMPLETIONS = {
    "reference": "    for _ in range(5_000_000):\n        pass\n    return x + 1\n",
    "slow_but_correct": "    for _ in range(15_000_000):\n        pass\n    return x + 1\n",  # 3x < factor
    "infinite_loop": "    while True:\n        pass\n",
    "wrong": "    return x\n",
}
# A program that sleeps past its calibrated limit uses no CPU: only the wall ceiling stops it.
SLEEPER = "    import time\n    time.sleep(60)\n    return x + 1\n"


def _samples(problem_id: str, completions: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": "m",
            "dataset": "toy",
            "problem_id": problem_id,
            "sample_index": range(len(completions)),
            "completion": list(completions.values()),
        }
    )


def test_limit_formula_by_enumeration():
    for ref in (0.0, 0.01, 0.05, 0.3, 1.0, 7.0):
        for passes in (1, 2):
            expected = min(CEILING, max(0.2, math.ceil(4.0 * passes * ref * 100) / 100))
            assert program_limit(ref, passes, SETTINGS, CEILING) == pytest.approx(expected)
            assert tl.case_limit(ref, SETTINGS) <= max(program_limit(ref, passes, SETTINGS, math.inf), 0.2)
    # no reference, or flat mode: the ceiling
    assert program_limit(float("nan"), 1, SETTINGS, CEILING) == CEILING
    flat = TimeLimitSettings(mode="flat")
    assert program_limit(0.01, 1, flat, CEILING) == CEILING


def test_bad_settings_are_named():
    with pytest.raises(TimeLimitError, match="mode"):
        TimeLimitSettings(mode="fast")
    with pytest.raises(TimeLimitError, match="unknown"):
        TimeLimitSettings.from_config({"time_limit": {"flor_s": 1}})


@pytest.fixture(scope="module")
def slow_table() -> pd.DataFrame:
    return calibrate(SLOW, Limits(), workers=2, repeats=SETTINGS.repeats)


def test_calibration_times_the_reference_and_its_cases(slow_table):
    row = slow_table.iloc[0]
    assert row["status"] == "passed" and row["suite"] == "test" and row["runs"] == 2
    assert row["num_cases"] == 2
    assert row["reference_s"] >= 0.03 and row["max_case_s"] >= 0.015  # the spinning is real
    assert row["max_case_s"] <= row["reference_s"]


def _grade(table: pd.DataFrame, settings: TimeLimitSettings = SETTINGS) -> pd.DataFrame:
    return grade_unit_tests(
        SLOW,
        _samples("toy/slow", COMPLETIONS),
        Limits(timeout_s=CEILING),
        workers=2,
        time_limits=table,
        time_limit=settings,
    )


def test_slow_but_correct_passes_and_infinite_loop_stops_at_the_calibrated_limit(slow_table):
    verdicts = _grade(slow_table).set_index(pd.Index(list(COMPLETIONS)))
    assert verdicts.loc["reference", "status"] == "passed"
    assert verdicts.loc["slow_but_correct", "status"] == "passed"
    assert verdicts.loc["wrong", "status"] == "failed"
    assert verdicts.loc["infinite_loop", "status"] == "timeout"
    limit = program_limit(slow_table["reference_s"].iat[0], 2, SETTINGS, CEILING)
    assert set(verdicts["time_limit_s"]) == {limit}  # the limit that judged each sample
    assert SETTINGS.floor_s < limit < CEILING
    assert verdicts["plus_time_limit_s"].isna().all()


def test_planted_bug_limit_ignores_the_reference(slow_table, monkeypatch):
    """Negative control: a limit that ignores the reference (the floor for every problem)
    times the slow-but-correct control out, which the test above would catch."""
    monkeypatch.setattr(
        tl, "program_limit", lambda ref, passes, settings, ceiling: min(ceiling, settings.floor_s)
    )
    verdicts = _grade(slow_table).set_index(pd.Index(list(COMPLETIONS)))
    assert verdicts.loc["slow_but_correct", "status"] == "timeout"
    assert set(verdicts["time_limit_s"]) == {SETTINGS.floor_s}


def test_sleeping_candidate_stops_at_the_wall_ceiling_not_the_cpu_limit(slow_table):
    """A calibrated limit counts CPU seconds; the wall clock is bounded by the ceiling."""
    ceiling = 2.0
    samples = _samples("toy/slow", {"sleeper": SLEEPER, "loop": COMPLETIONS["infinite_loop"]})
    verdicts = grade_unit_tests(
        SLOW, samples, Limits(timeout_s=ceiling), workers=2, time_limits=slow_table, time_limit=SETTINGS
    )
    assert list(verdicts["status"]) == ["timeout", "timeout"]
    sleeper, loop = verdicts["runtime_s"]
    assert sleeper >= ceiling  # waited for the ceiling: it used no CPU
    assert verdicts["time_limit_s"].iat[1] < ceiling


def test_no_reference_or_flat_mode_keeps_the_flat_limit(slow_table):
    missing = slow_table.assign(reference_s=float("nan"), status="no reference")
    assert set(_grade(missing)["time_limit_s"]) == {CEILING}
    assert set(_grade(slow_table.iloc[:0])["time_limit_s"]) == {CEILING}
    flat = TimeLimitSettings(mode="flat", near_limit=0.0)
    samples = _samples("toy/slow", {"wrong": COMPLETIONS["wrong"]})
    verdicts = grade_unit_tests(
        SLOW, samples, Limits(timeout_s=CEILING), workers=1, time_limits=slow_table, time_limit=flat
    )
    assert list(verdicts["time_limit_s"]) == [CEILING]


def test_near_limit_selection():
    limits = [Limits(timeout_s=1.0)] * 4
    outcomes = [
        Outcome("passed", "", "", 0.85),
        Outcome("passed", "", "", 0.5),
        Outcome("timeout", "", "", 1.0),
        Outcome("failed", "", "", 0.95),
    ]
    assert near_limit(outcomes, limits, SETTINGS) == [0, 3]
    with_timeouts = TimeLimitSettings(rerun_timeouts=True)
    assert near_limit(outcomes, limits, with_timeouts) == [0, 2, 3]
    assert near_limit(outcomes, limits, TimeLimitSettings(near_limit=0.0)) == []


def test_near_limit_samples_are_rerun_once(slow_table):
    """With limit = 1.5 x the reference's time, the reference lands within 50% of it: rerun."""
    tight = TimeLimitSettings(floor_s=0.01, factor=0.75, near_limit=0.5, repeats=1)
    samples = _samples("toy/slow", {"reference": COMPLETIONS["reference"], "wrong": COMPLETIONS["wrong"]})
    verdicts = grade_unit_tests(
        SLOW, samples, Limits(timeout_s=CEILING), workers=1, time_limits=slow_table, time_limit=tight
    )
    ref = slow_table["reference_s"].iat[0]
    assert verdicts["time_limit_s"].iat[0] == pytest.approx(program_limit(ref, 2, tight, CEILING))
    assert list(verdicts["status"]) == ["passed", "failed"]
    assert list(verdicts["runs"]) == [2, 1]  # only the one near its limit ran again


@pytest.fixture(scope="module")
def humaneval() -> pd.DataFrame:
    return normalise("humaneval", read_source(DATASETS["humaneval"].default_source))


def test_all_humaneval_canonical_solutions_pass_under_calibrated_limits(humaneval):
    table = calibrate(humaneval, Limits(), workers=2, repeats=2)
    assert (table["status"] == "passed").all()
    samples = pd.DataFrame(
        {
            "model": "canonical",
            "dataset": "humaneval",
            "problem_id": humaneval["problem_id"],
            "sample_index": range(len(humaneval)),
            "completion": list(humaneval["canonical_solution"]),
        }
    )
    settings = TimeLimitSettings()  # the defaults
    verdicts = grade_unit_tests(
        humaneval, samples, Limits(timeout_s=10), workers=2, time_limits=table, time_limit=settings
    )
    assert verdicts["passed"].all(), verdicts.loc[~verdicts["passed"], ["problem_id", "status"]]
    assert (verdicts["time_limit_s"] < 10).all()  # every problem got a calibrated limit


def test_cpu_limit_does_not_time_out_an_honest_program_on_a_loaded_machine():
    """The point of counting CPU seconds: an honest program that needs ~0.25 s of CPU, slowed
    by CPU hogs to a wall time above its 0.6 s CPU limit, still passes; an infinite loop
    under the same load still times out."""
    import subprocess
    import sys

    from monkeys.execution.sandbox import run_programs

    honest = "def work():\n    for _ in range(20_000_000):\n        pass\n    return 1\nassert work() == 1\n"
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
        for _ in range(3 * (os.cpu_count() or 1))
    ]
    try:
        honest_out, loop_out = run_programs(
            [honest, "while True:\n    pass\n"], Limits(timeout_s=30, cpu_s=0.6), workers=2
        )
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert loop_out.status == "timeout" and loop_out.runtime_s < 30
    if honest_out.runtime_s <= 0.6:
        pytest.skip("the hogs did not slow the honest program past its CPU limit")
    assert honest_out.status == "passed", honest_out
